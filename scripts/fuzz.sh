#!/usr/bin/env bash
# Runs every native Go fuzzer (func FuzzXxx) in the repository for a bounded
# time each (default 5s; `scripts/fuzz.sh 60s` for a longer hunt). New
# failing inputs are kept by `go test` under the package's testdata/fuzz/,
# where they become regression cases of the normal test run.
#
# Go's fuzzing engine sometimes ends a run that hit its time limit in the
# middle of a slow input with "context deadline exceeded" and no input
# saved (the coordinator, not the target, failed). That is retried once and
# then reported as a warning; a saved failing input always fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
budget="${1:-5s}"
# count prints how many saved inputs a fuzzer has (0 when none yet).
count() { if [ -d "$1" ]; then find "$1" -type f | wc -l; else echo 0; fi; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for name in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
		for try in 1 2; do
			echo "fuzz: $pkg $name ($budget)"
			before=$(count "$dir/testdata/fuzz/$name")
			if go test -run '^$' -fuzz "^${name}\$" -fuzztime "$budget" "$pkg" >"$log" 2>&1; then
				break
			fi
			after=$(count "$dir/testdata/fuzz/$name")
			if [ "$after" = "$before" ] && grep -q "context deadline exceeded" "$log"; then
				echo "fuzz: warning: $name: the fuzzing engine stopped with \"context deadline exceeded\" and saved no input (try $try)"
				continue
			fi
			cat "$log"
			echo "fuzz: $name found a failing input (saved under $dir/testdata/fuzz/$name)" >&2
			exit 1
		done
	done
done
echo "fuzz: every fuzzer ran $budget without a failing input"
