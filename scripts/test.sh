#!/usr/bin/env bash
# Runs every test of sspr. The tests use real components, installed here
# when missing (Debian/Ubuntu): the OpenSSH client inside tmux for the
# end-to-end path, redis-server for the shared store (the tests start their
# own on a loopback port), ssh-audit against the SSH server, and slapd with
# ldap-utils for the LDAP directory, and Samba for Active Directory (the
# tests start a private slapd and provision a private Samba domain), and
# mailpit as the SMTP relay, and HAProxy in front of two instances (the
# test starts its own on loopback ports).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v tmux >/dev/null || need+=(tmux)
command -v ssh >/dev/null || need+=(openssh-client)
command -v redis-server >/dev/null || need+=(redis-server)
command -v ssh-audit >/dev/null || need+=(ssh-audit)
[[ -x /usr/sbin/slapd ]] || command -v slapd >/dev/null || need+=(slapd)
command -v ldapmodify >/dev/null || need+=(ldap-utils)
[[ -x /usr/sbin/samba ]] || need+=(samba)
command -v samba-tool >/dev/null || need+=(samba-common-bin)
[[ -x /usr/sbin/haproxy ]] || command -v haproxy >/dev/null || need+=(haproxy)
if ((${#need[@]})); then
	echo "installing ${need[*]} for the end-to-end tests" >&2
	sudo=""
	[[ $(id -u) == 0 ]] || sudo=sudo
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

# mailpit, the SMTP relay of the email tests (they find it in $(go env GOPATH)/bin)
command -v mailpit >/dev/null || [[ -x "$(go env GOPATH)/bin/mailpit" ]] ||
	go install github.com/axllent/mailpit@v1.33.1

go test -race -count=1 "$@" ./...
