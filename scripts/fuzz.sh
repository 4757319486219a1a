#!/usr/bin/env bash
# Runs every fuzz target of sspr for a bounded time each (FUZZTIME, 5s by
# default). The seed corpora already run with the ordinary tests.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-5s}
grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r file; do
	pkg=./$(dirname "${file#./}")
	for target in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | cut -d' ' -f2); do
		echo "fuzz $pkg $target ($fuzztime)"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" >/tmp/sspr-fuzz.log 2>&1 || {
			cat /tmp/sspr-fuzz.log
			exit 1
		}
	done
done
