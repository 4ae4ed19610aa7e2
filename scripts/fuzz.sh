#!/usr/bin/env bash
# Runs every native Go fuzzer (func FuzzXxx) in the repository for a bounded
# time each (default 5s; `scripts/fuzz.sh 60s` for a longer hunt). New
# failing inputs are kept by `go test` under the package's testdata/fuzz/,
# where they become regression cases of the normal test run.
set -euo pipefail
cd "$(dirname "$0")/.."
budget="${1:-5s}"
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for name in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
		echo "fuzz: $pkg $name ($budget)"
		go test -run '^$' -fuzz "^${name}\$" -fuzztime "$budget" "$pkg" >/tmp/gowsgi-fuzz.$$ 2>&1 || {
			cat /tmp/gowsgi-fuzz.$$
			rm -f /tmp/gowsgi-fuzz.$$
			echo "fuzz: $name found a failing input (saved under $dir/testdata/fuzz/$name)" >&2
			exit 1
		}
	done
done
rm -f /tmp/gowsgi-fuzz.$$
echo "fuzz: every fuzzer ran $budget without a failure"
