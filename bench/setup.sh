#!/usr/bin/env bash
# Prepare everything bench/run.py uses (`make bench` runs this first).
#
#   bench/setup.sh
#   PYTHON=python3.12 bench/setup.sh
#
# - wrk and nginx, through scripts/setup-system.sh;
# - .bench-venv at the repository root with the pins of bench/requirements.txt
#   (gunicorn, uWSGI, granian, Django, matplotlib, py-spy). uWSGI has no wheel:
#   pip builds it, which needs gcc and the interpreter's C headers (a pyenv
#   CPython has them; a Debian python3 needs python3-dev);
# - testdata/mysite's sqlite database (manage.py migrate);
# - .bench-wagtail: a `wagtail start wagsite` site (git-ignored), migrated,
#   with a /version/ view like mysite's, for the reload phase (issue 15);
# - bin/gowsgi with the in-worker engine embedded (`make build`: the engine is
#   a cgo c-shared library, so it needs gcc too) and bin/bench-loadgen (the
#   paced client of the reload and HUP measures). A gowsgi built by a plain
#   `go build` has no engine library in it and serves through the proxy path;
#   the runner would then fail every gowsgi row that claims the engine.
#
# Idempotent like scripts/setup-venv.sh: the venv is reinstalled only when
# bench/requirements.txt or the interpreter changed. One line per step.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.bench-venv"
REQ="$ROOT/bench/requirements.txt"
PYTHON="${PYTHON:-python3}"
GO="${GO:-go}"

say() { echo "bench-setup: $*"; }
die() { echo "bench-setup: error: $*" >&2; exit 1; }

"$ROOT/scripts/setup-system.sh" || die "scripts/setup-system.sh failed: wrk and nginx are needed"

command -v "$PYTHON" >/dev/null 2>&1 || die "'$PYTHON' not found; set PYTHON=/path/to/python3 (3.10 or newer)"
command -v gcc >/dev/null 2>&1 ||
	die "gcc not found: pip builds uWSGI from source and make builds gowsgi's engine with cgo (Debian: apt-get install gcc)"
command -v make >/dev/null 2>&1 || die "make not found: bin/gowsgi is built by make build (Debian: apt-get install make)"
inc="$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
[ -f "$inc/Python.h" ] ||
	die "$inc/Python.h missing: uWSGI builds against the interpreter's headers (Debian: apt-get install python3-dev)"

venv_ok() { [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -m pip --version >/dev/null 2>&1; }
if venv_ok; then
	say "using existing $VENV ($("$VENV/bin/python" -V 2>&1))"
else
	rm -rf -- "$VENV"
	say "creating $VENV with $PYTHON ($("$PYTHON" -V 2>&1))"
	"$PYTHON" -m venv "$VENV" || die "'$PYTHON -m venv' failed (Debian: apt-get install python3-venv)"
fi

STAMP="$VENV/.requirements.sha256"
want="$( { cat "$REQ"; "$VENV/bin/python" -VV; } | sha256sum | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
	say "requirements up to date (stamp ${want:0:12})"
else
	say "installing bench/requirements.txt (uWSGI compiles: a minute or two)"
	PIP_NO_INPUT=1 "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ" ||
		die "pip install -r bench/requirements.txt failed (see above)"
	echo "$want" >"$STAMP"
fi
"$VENV/bin/uwsgi" --version >/dev/null || die "uwsgi was installed but does not run"

say "migrating testdata/mysite (sqlite: testdata/mysite/db.sqlite3)"
"$VENV/bin/python" "$ROOT/testdata/mysite/manage.py" migrate --noinput -v 0 || die "manage.py migrate failed"

WAGTAIL="$ROOT/.bench-wagtail"
WAGTAIL_STAMP="$WAGTAIL/.made-by-bench-setup"
wagtail_want="$("$VENV/bin/python" -c 'import wagtail; print(wagtail.__version__)') $(sha256sum "$ROOT/bench/setup.sh" | cut -c1-12)"
if [ -f "$WAGTAIL_STAMP" ] && [ "$(cat "$WAGTAIL_STAMP")" = "$wagtail_want" ]; then
	say "using existing $WAGTAIL (wagtail start site)"
else
	say "making $WAGTAIL: wagtail start wagsite, migrate, a /version/ view"
	rm -rf -- "$WAGTAIL"
	mkdir -p "$WAGTAIL"
	"$VENV/bin/wagtail" start wagsite "$WAGTAIL" >/dev/null || die "wagtail start failed"
	cat >"$WAGTAIL/wagsite/version.py" <<'PY'
VERSION = "1"
PY
	cat >"$WAGTAIL/wagsite/bench_views.py" <<'PY'
# The reload phase rewrites version.py and polls /version/ (bench/run.py).
from django.http import HttpResponse

from .version import VERSION


def version(request):
    return HttpResponse(VERSION, content_type="text/plain")
PY
	cat >>"$WAGTAIL/wagsite/urls.py" <<'PY'

# bench/setup.sh: /version/ for the reload phase, before Wagtail's catch-all.
from .bench_views import version as bench_version  # noqa: E402

urlpatterns.insert(0, path("version/", bench_version))
PY
	(cd "$WAGTAIL" && "$VENV/bin/python" manage.py migrate --noinput -v 0) || die "migrating the wagtail site failed"
	echo "$wagtail_want" >"$WAGTAIL_STAMP"
fi

say "building bin/gowsgi (make build: the engine library, then the binary that embeds it) and bin/bench-loadgen"
make -C "$ROOT" --no-print-directory build GO="$GO" >/dev/null || die "make build failed (see above)"
(cd "$ROOT" && "$GO" build -o bin/bench-loadgen ./bench/loadgen) || die "go build ./bench/loadgen failed"
say "done: run .bench-venv/bin/python bench/run.py [--quick]"
