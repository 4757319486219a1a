#!/usr/bin/env bash
# Runs every test of sspr. The tests use real components, installed here
# when missing (Debian/Ubuntu): the OpenSSH client inside tmux for the
# end-to-end path, redis-server for the shared store (the tests start their
# own on a loopback port) and ssh-audit against the SSH server.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v tmux >/dev/null || need+=(tmux)
command -v ssh >/dev/null || need+=(openssh-client)
command -v redis-server >/dev/null || need+=(redis-server)
command -v ssh-audit >/dev/null || need+=(ssh-audit)
if ((${#need[@]})); then
	echo "installing ${need[*]} for the end-to-end tests" >&2
	sudo=""
	[[ $(id -u) == 0 ]] || sudo=sudo
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

go test -race -count=1 "$@" ./...
