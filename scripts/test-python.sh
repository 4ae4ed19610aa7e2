#!/usr/bin/env bash
# Runs the Python runtime's unit tests (pyworker/python/tests) with the
# project's virtualenv python, then with every other CPython 3.9-3.13 found
# (pyenv or PATH): the runtime runs on the user's own interpreter, so it must
# work on all of them. Standard library only, so no install is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
main="${1:-python3}"
run() {
	echo "test-python: $1 ($("$1" -V 2>&1))"
	"$1" -m unittest discover -s pyworker/python/tests -t pyworker/python
}
run "$main"
seen="$("$main" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
for v in 3.9 3.10 3.11 3.12 3.13; do
	[ "$v" = "$seen" ] && continue
	py=""
	for cand in "python$v" $(ls -d "$HOME"/.pyenv/versions/$v.*/bin/python 2>/dev/null | sort -V | tail -1); do
		# pyenv shims exist for versions that are not selected: try to run it.
		if "$cand" -V >/dev/null 2>&1; then py="$(command -v "$cand")"; break; fi
	done
	if [ -z "$py" ]; then
		echo "test-python: CPython $v not installed here; not tested on it"
		continue
	fi
	run "$py"
done
