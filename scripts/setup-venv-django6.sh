#!/usr/bin/env bash
# Create (or refresh) .venv-django6: Django 6.x on CPython 3.13 (else 3.12),
# the second interpreter `make test` runs the Django tests with (Django 6
# supports only Python 3.12-3.14; .venv has Django 5.2 on the default python3).
#
#   scripts/setup-venv-django6.sh          # finds python3.13/3.12 (pyenv or PATH)
#   PYTHON6=/usr/bin/python3.12 scripts/setup-venv-django6.sh
#
# Idempotent like setup-venv.sh: the venv is made only when missing or broken,
# the pins of testdata/requirements-django6.txt are installed only when they
# (or the interpreter) changed. Prints the venv's python on its last line.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-django6"
REQ="$ROOT/testdata/requirements-django6.txt"

say() { echo "setup-venv-django6: $*" >&2; }
die() { echo "setup-venv-django6: error: $*" >&2; exit 1; }

# find_python prints the first CPython 3.13 or 3.12 that runs: $PYTHON6,
# then pyenv's versions, then python3.13/python3.12 on PATH.
find_python() {
	if [ -n "${PYTHON6:-}" ]; then echo "$PYTHON6"; return; fi
	local root cand
	root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
	for v in 3.13 3.12; do
		for cand in $(ls -d "$root"/versions/$v.*/bin/python3 2>/dev/null | sort -V -r) "python$v"; do
			# pyenv's shims exist for versions that are not selected: try to run it.
			if "$cand" -c 'import venv' >/dev/null 2>&1; then command -v "$cand"; return; fi
		done
	done
}
PYTHON="$(find_python)"
[ -n "$PYTHON" ] ||
	die "no CPython 3.13 or 3.12 found (Django 6 needs 3.12+): install one (pyenv install 3.13, or apt-get install python3.13-venv) or set PYTHON6=/path/to/python3.12"
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' ||
	die "$("$PYTHON" -V 2>&1) is too old for Django 6 (3.12 or newer; set PYTHON6=...)"

venv_ok() { [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -m pip --version >/dev/null 2>&1; }
if ! venv_ok; then
	rm -rf -- "$VENV"
	say "creating $VENV with $PYTHON ($("$PYTHON" -V 2>&1))"
	"$PYTHON" -m venv "$VENV" >&2 || die "'$PYTHON -m venv $VENV' failed"
fi
STAMP="$VENV/.requirements.sha256"
want="$( { cat "$REQ"; "$VENV/bin/python" -VV; } | sha256sum | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
	say "requirements up to date ($("$VENV/bin/python" -V 2>&1), Django $("$VENV/bin/python" -c 'import django; print(django.__version__)'))"
else
	say "installing testdata/requirements-django6.txt"
	PIP_NO_INPUT=1 "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ" >&2 ||
		die "pip install -r testdata/requirements-django6.txt failed"
	echo "$want" >"$STAMP"
fi
echo "$VENV/bin/python"
