#!/usr/bin/env bash
# Create (or refresh) the Python virtualenv used by gowsgi's tests and benchmarks.
#
#   scripts/setup-venv.sh            # uses python3 from PATH
#   PYTHON=python3.12 scripts/setup-venv.sh
#
# Idempotent: it creates .venv at the repository root only when it is missing
# or broken, reinstalls testdata/requirements.txt only when that file (or the
# interpreter) changed since the last successful install, and always runs the
# Django test project's migrations (a no-op when the sqlite DB is current).
# One line of output per step; exits non-zero with a message on failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
REQ="$ROOT/testdata/requirements.txt"
MYSITE="$ROOT/testdata/mysite"
PYTHON="${PYTHON:-python3}"

say() { echo "setup-venv: $*"; }
die() { echo "setup-venv: error: $*" >&2; exit 1; }

command -v "$PYTHON" >/dev/null 2>&1 ||
	die "'$PYTHON' not found; install Python 3.10 or newer (Debian: apt-get install python3 python3-venv) or set PYTHON=/path/to/python3"
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' ||
	die "$("$PYTHON" -V 2>&1) is too old: Django 5.2 needs Python 3.10 or newer (set PYTHON=...)"
[ -f "$REQ" ] || die "missing $REQ"

# A usable venv has a working interpreter and pip.
venv_ok() { [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -m pip --version >/dev/null 2>&1; }

if venv_ok; then
	say "using existing $VENV ($("$VENV/bin/python" -V 2>&1))"
else
	if [ -e "$VENV" ]; then
		say "removing broken $VENV (no working python or pip)"
		rm -rf -- "$VENV"
	fi
	say "creating $VENV with $PYTHON ($("$PYTHON" -V 2>&1))"
	log="$(mktemp)"
	if ! "$PYTHON" -m venv "$VENV" >"$log" 2>&1 || ! venv_ok; then
		cat "$log" >&2 || true
		rm -f "$log"
		rm -rf -- "$VENV"
		pyver="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo 3)"
		die "'$PYTHON -m venv' failed; on Debian/Ubuntu install the venv module: apt-get install python3-venv (or python${pyver}-venv)"
	fi
	rm -f "$log"
fi

# The stamp is the hash of the requirements plus the interpreter version, so a
# changed pin or a recreated venv triggers a reinstall and nothing else does.
STAMP="$VENV/.requirements.sha256"
want="$( { cat "$REQ"; "$VENV/bin/python" -VV; } | sha256sum | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
	say "requirements up to date (stamp ${want:0:12})"
else
	say "installing $(grep -cE '^[A-Za-z0-9]' "$REQ") pinned packages from testdata/requirements.txt"
	PIP_NO_INPUT=1 "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ" ||
		die "pip install -r testdata/requirements.txt failed"
	echo "$want" >"$STAMP"
fi

say "migrating testdata/mysite (sqlite: testdata/mysite/db.sqlite3)"
"$VENV/bin/python" "$MYSITE/manage.py" migrate --noinput -v 0 ||
	die "manage.py migrate failed"

# mysite serves its static files itself in DEBUG (staticfiles_urlpatterns) and
# the tests read them from the app/STATICFILES_DIRS directories, so nothing
# needs collecting. Run collectstatic only when asked to.
if [ "${GOWSGI_COLLECTSTATIC:-0}" = "1" ]; then
	say "collecting static files into testdata/mysite/staticfiles"
	"$VENV/bin/python" "$MYSITE/manage.py" collectstatic --noinput -v 0 ||
		die "manage.py collectstatic failed"
else
	say "collectstatic not needed (set GOWSGI_COLLECTSTATIC=1 to run it)"
fi
say "done: $VENV/bin/python"
