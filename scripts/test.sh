#!/usr/bin/env bash
# Runs every test of sspr. The end-to-end tests drive the real OpenSSH
# client inside tmux; both are installed here when missing (Debian/Ubuntu).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v tmux >/dev/null || need+=(tmux)
command -v ssh >/dev/null || need+=(openssh-client)
if ((${#need[@]})); then
	echo "installing ${need[*]} for the end-to-end tests" >&2
	sudo=""
	[[ $(id -u) == 0 ]] || sudo=sudo
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

go test -race -count=1 "$@" ./...
