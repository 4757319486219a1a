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
		for try in 1 2; do
			if go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" >/tmp/sspr-fuzz.log 2>&1; then
				break
			fi
			# Go 1.26's fuzz coordinator can end a run that reached
			# -fuzztime with a bare "context deadline exceeded" and no
			# failing input (golang/go#75804, fixed in Go 1.27); only that
			# is tried once more. A real failure writes its input.
			if ((try == 1)) && grep -q 'context deadline exceeded' /tmp/sspr-fuzz.log &&
				! grep -q 'Failing input written' /tmp/sspr-fuzz.log; then
				echo "fuzz $pkg $target: the run ended on its deadline without a failing input; once more"
				continue
			fi
			cat /tmp/sspr-fuzz.log
			exit 1
		done
	done
done
