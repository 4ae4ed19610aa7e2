#!/usr/bin/env bash
# The packaging test (`make test`): build the wheel, install it with Django
# into a fresh virtualenv, and use it from a `django-admin startproject`
# project the way a user would, with nothing activated and, first on PATH, a
# python3 that has no Django (so a gowsgi that falls back to PATH fails).
#
#   scripts/test-wheel.sh PYTHON...      # one fresh virtualenv per PYTHON
#
# Each PYTHON is an interpreter with Django (the test virtualenvs .venv and
# .venv-django6): the fresh virtualenv is made from it and gets the same
# Django version from the registry. Prints "ok NAME" / "FAIL NAME" per check
# and "N passed, N failed" last; exits 1 when a check failed.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ $# -ge 1 ] || { echo "usage: scripts/test-wheel.sh PYTHON..." >&2; exit 2; }

T="$(mktemp -d /tmp/gowsgi-wheel-XXXXXX)"
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	rm -rf -- "$T"
}
trap cleanup EXIT

passed=0 failed=0
ok() { echo "test-wheel: ok   $*"; passed=$((passed + 1)); }
fail() {
	echo "test-wheel: FAIL $1"
	shift
	[ $# -gt 0 ] && printf '%s\n' "$@" | sed 's/^/    /'
	failed=$((failed + 1))
}
die() { echo "test-wheel: error: $*" >&2; echo "$passed passed, $((failed + 1)) failed"; exit 1; }

VERSION="$(python3 "$ROOT/scripts/build-wheel.py" --print-version)" || die "reading the version"
WHEEL="$(python3 "$ROOT/scripts/build-wheel.py" --out "$T/dist")" || die "building the wheel"
echo "test-wheel: built $(basename "$WHEEL") ($(du -h "$WHEEL" | cut -f1))"

# The archive itself: every RECORD line matches its entry, the executable's
# zip mode is 0o100755 (pip keeps the exec bit only for that), the WHEEL tag
# is the file name's, the import package is at the top.
out="$(python3 - "$WHEEL" <<'PY' 2>&1
import base64, hashlib, os, sys, zipfile
path = sys.argv[1]
z = zipfile.ZipFile(path)
names = z.namelist()
dist, version, py, abi, plat = os.path.basename(path)[:-4].split("-")
info = "%s-%s.dist-info/" % (dist, version)
errors = []
for line in z.read(info + "RECORD").decode().splitlines():
    name, digest, size = line.rsplit(",", 2)
    if name == info + "RECORD":
        continue
    data = z.read(name)
    want = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    if digest != want or int(size) != len(data):
        errors.append("RECORD does not match " + name)
if len(z.read(info + "RECORD").decode().splitlines()) != len(names):
    errors.append("RECORD lists %d entries, the archive has %d" % (len(z.read(info + "RECORD").decode().splitlines()), len(names)))
exe = z.getinfo("%s-%s.data/scripts/gowsgi" % (dist, version))
if exe.external_attr >> 16 != 0o100755:
    errors.append("executable mode %o, want 100755" % (exe.external_attr >> 16))
if "Tag: %s-%s-%s" % (py, abi, plat) not in z.read(info + "WHEEL").decode().splitlines():
    errors.append("WHEEL has no Tag: %s-%s-%s" % (py, abi, plat))
for want in ("gowsgi/__main__.py", "gowsgi/management/commands/runserver.py"):
    if want not in names:
        errors.append("no " + want)
print("\n".join(errors))
sys.exit(1 if errors else 0)
PY
)" && ok "the archive: RECORD, modes, tag" || fail "the archive: RECORD, modes, tag" "$out"
again="$(python3 "$ROOT/scripts/build-wheel.py" --out "$T/dist-again" 2>/dev/null)"
if cmp -s "$WHEEL" "$again"; then ok "a second build is the same file"; else fail "a second build is the same file" "$WHEEL and $again differ"; fi

# The PATH of every run: a python3 (and python) without Django first, then the
# system's directories. The environment is otherwise empty: no VIRTUAL_ENV,
# no DJANGO_SETTINGS_MODULE, no GOWSGI_TEST_PYTHON.
python3 -m venv --without-pip "$T/bare" || die "making the Django-less python"
mkdir -p "$T/path"
ln -s "$T/bare/bin/python3" "$T/path/python3"
ln -s "$T/bare/bin/python3" "$T/path/python"
if "$T/path/python3" -c 'import django' 2>/dev/null; then die "$T/path/python3 has Django; the test needs one without"; fi
RUNPATH="$T/path:/usr/local/bin:/usr/bin:/bin"
run() { env -i HOME="$HOME" LANG=C.UTF-8 PATH="$RUNPATH" "$@"; }

# wait_log FILE REGEX PID: waits (60 s at most) until FILE matches REGEX
# and prints the first match's group 1; fails when PID exits first.
wait_log() {
	local i
	for i in $(seq 600); do
		if grep -qE "$2" "$1" 2>/dev/null; then
			grep -oE "$2" "$1" | head -1 | sed -E "s#$2#\\1#"
			return 0
		fi
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# fetch URL: prints the body, a newline and the status (urllib: no curl needed).
fetch() {
	"$T/bare/bin/python3" - "$1" <<'PY'
import sys, urllib.error, urllib.request
try:
    r = urllib.request.urlopen(sys.argv[1], timeout=20)
except urllib.error.HTTPError as e:
    r = e
sys.stdout.write(r.read().decode("utf-8", "replace") + "\n%d" % r.getcode())
PY
}

stop() { kill -TERM "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

# admin_login URL LOG NAME: GET URL/admin/login/ is Django's login page.
admin_login() {
	local body code
	body="$(fetch "$1/admin/login/" 2>&1)"
	code="${body##*$'\n'}"
	if [ "$code" = 200 ] && grep -q "Log in | Django site admin" <<<"$body"; then
		ok "$3"
	else
		fail "$3" "GET $1/admin/login/ -> $code" "--- log:" "$(cat "$2")"
	fi
}

test_python() {
	local base="$1" pyver django name V P out rc pid url
	pyver="$("$base" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" || die "$base does not run"
	django="$("$base" -c 'import django; print(django.__version__)')" || die "$base has no Django"
	name="python $pyver, Django $django"
	V="$T/venv-$pyver"
	P="$T/project-$pyver"
	echo "test-wheel: $name: installing the wheel and Django==$django into a fresh virtualenv"
	"$base" -m venv "$V" || die "$base -m venv failed"
	PIP_NO_INPUT=1 "$V/bin/python" -m pip install --quiet --disable-pip-version-check "$WHEEL" "Django==$django" ||
		die "pip install of the wheel failed"
	mkdir -p "$P"
	(cd "$P" && run "$V/bin/django-admin" startproject proj .) || die "django-admin startproject failed"
	# "gowsgi" first in INSTALLED_APPS, as the README says.
	sed -i 's/^INSTALLED_APPS = \[$/INSTALLED_APPS = [\n    "gowsgi",/' "$P/proj/settings.py"
	grep -q '^    "gowsgi",$' "$P/proj/settings.py" || die "could not add gowsgi to $P/proj/settings.py"
	(cd "$P" && run "$V/bin/python" manage.py migrate -v 0) || die "manage.py migrate failed"

	out="$(cd "$P" && run "$V/bin/gowsgi" --version 2>&1)"
	if [ "$out" = "gowsgi version $VERSION" ]; then ok "$name: VENV/bin/gowsgi --version"; else fail "$name: VENV/bin/gowsgi --version" "$out"; fi
	out="$(cd "$P" && run "$V/bin/python" -m gowsgi --version 2>&1)"
	if [ "$out" = "gowsgi version $VERSION" ]; then ok "$name: python -m gowsgi --version"; else fail "$name: python -m gowsgi --version" "$out"; fi
	out="$(cd "$P" && run "$V/bin/python" -c 'import importlib.metadata as m; print(m.version("gowsgi-server"))' 2>&1)"
	if [ "$out" = "$VERSION" ]; then ok "$name: the wheel's version is main.go's"; else fail "$name: the wheel's version is main.go's" "$out"; fi

	# python -m gowsgi check: the binary it runs must find the virtualenv's
	# python (with Django) by itself, not python3 on PATH.
	out="$(cd "$P" && run "$V/bin/python" -m gowsgi check --plain --get /admin/login/=200 --expect-body "/admin/login/=Log in" . 2>&1)"
	rc=$?
	if [ $rc = 0 ] && grep -q "passed, 0 failed" <<<"$out"; then ok "$name: python -m gowsgi check"; else fail "$name: python -m gowsgi check (exit $rc)" "$out"; fi

	# manage.py runserver with the app installed is gowsgi dev.
	(cd "$P" && exec env -i HOME="$HOME" LANG=C.UTF-8 PATH="$RUNPATH" "$V/bin/python" manage.py runserver 127.0.0.1:0 >"$T/runserver.log" 2>&1) &
	pid=$!
	PIDS+=("$pid")
	if url="$(wait_log "$T/runserver.log" 'listening on (http://[0-9.:]+)' "$pid")"; then
		if grep -q "Starting gowsgi $VERSION development server" "$T/runserver.log"; then
			admin_login "$url" "$T/runserver.log" "$name: manage.py runserver serves the admin login through gowsgi dev"
		else
			fail "$name: manage.py runserver is gowsgi dev" "$(cat "$T/runserver.log")"
		fi
	else
		fail "$name: manage.py runserver did not start gowsgi dev" "$(cat "$T/runserver.log")"
	fi
	stop "$pid"

	# VENV/bin/gowsgi serve by absolute path, nothing activated.
	(cd "$P" && exec env -i HOME="$HOME" LANG=C.UTF-8 PATH="$RUNPATH" "$V/bin/gowsgi" serve --http 127.0.0.1:0 --chdir . --module proj.wsgi:application >"$T/serve.log" 2>&1) &
	pid=$!
	PIDS+=("$pid")
	if url="$(wait_log "$T/serve.log" 'listening on (http://[0-9.:]+)' "$pid")"; then
		if grep -qF "with $V/bin/python" "$T/serve.log"; then
			admin_login "$url" "$T/serve.log" "$name: VENV/bin/gowsgi serve uses the virtualenv's python"
		else
			fail "$name: VENV/bin/gowsgi serve uses the virtualenv's python" "$(cat "$T/serve.log")"
		fi
	else
		fail "$name: VENV/bin/gowsgi serve did not start" "$(cat "$T/serve.log")"
	fi
	stop "$pid"

	# gowsgi after staticfiles: staticfiles' runserver would win; E001 says so.
	cp "$P/proj/settings.py" "$T/settings.py"
	sed -i '/^    "gowsgi",$/d; s/^\(    .django.contrib.staticfiles.,\)$/\1\n    "gowsgi",/' "$P/proj/settings.py"
	out="$(cd "$P" && run "$V/bin/python" manage.py check 2>&1)"
	rc=$?
	if [ $rc != 0 ] && grep -q "gowsgi.E001" <<<"$out"; then ok "$name: gowsgi after staticfiles is gowsgi.E001"; else fail "$name: gowsgi after staticfiles is gowsgi.E001 (exit $rc)" "$out"; fi
	cp "$T/settings.py" "$P/proj/settings.py"

	# The package's own unit tests, on this python and Django.
	out="$(cd "$ROOT" && run "$V/bin/python" -m unittest discover -s python/tests -t python 2>&1)"
	rc=$?
	if [ $rc = 0 ] && ! grep -q "skipped" <<<"$out"; then ok "$name: python/tests"; else fail "$name: python/tests (exit $rc)" "$out"; fi

	# A broken install (no executable): python -m gowsgi says what is missing
	# and how to reinstall, with gowsgi's "cannot start" exit code.
	mv "$V/bin/gowsgi" "$T/gowsgi.moved"
	out="$(cd "$P" && run "$V/bin/python" -m gowsgi --version 2>&1)"
	rc=$?
	if [ $rc = 3 ] && grep -q "executable is missing" <<<"$out" && grep -q "pip install --force-reinstall gowsgi-server" <<<"$out"; then
		ok "$name: a missing executable is reported with how to reinstall"
	else
		fail "$name: a missing executable is reported with how to reinstall (exit $rc)" "$out"
	fi
	mv "$T/gowsgi.moved" "$V/bin/gowsgi"
}

for py in "$@"; do test_python "$py"; done

# pip install --target DIR puts the executable in DIR/bin, away from any
# interpreter: python -m gowsgi finds it there too.
PIP_NO_INPUT=1 "$1" -m pip install --quiet --disable-pip-version-check --no-deps --target "$T/target" "$WHEEL" ||
	die "pip install --target failed"
out="$(cd "$T" && run env PYTHONPATH="$T/target" "$T/bare/bin/python3" -m gowsgi --version 2>&1)"
if [ "$out" = "gowsgi version $VERSION" ]; then ok "pip install --target: python -m gowsgi --version"; else fail "pip install --target: python -m gowsgi --version" "$out"; fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
