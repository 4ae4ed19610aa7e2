#!/usr/bin/env bash
# Install the Debian packages gowsgi's tests need (`make test` runs this).
#
#   scripts/setup-system.sh
#
# Idempotent: a need already met installs nothing and touches no package
# list; `apt-get update` runs only when something must be installed. Works as
# root, through sudo when not root, and otherwise prints the apt-get command
# to run and exits 1.
#
# Services are not started or enabled: the tests run their own nginx in the
# foreground with a config in a temporary directory.
set -euo pipefail

# NEEDS: one line per thing the tests use, "CHECK PACKAGE[|PACKAGE...]".
# CHECK is a comma-separated list of files that exist once the need is met;
# when one is missing, the first PACKAGE apt knows is installed (Debian 12
# has nginx-light; Debian 13 folded it into nginx). To add a need, add a line.
NEEDS=(
	"/usr/sbin/nginx,/etc/nginx/uwsgi_params nginx-light|nginx" # cmd/gowsgi/uwsgi_nginx_test.go
	"/usr/bin/chromium chromium"                                # cmd/gowsgi/livereload_browser_test.go
	"/usr/bin/chromedriver chromium-driver"                     # cmd/gowsgi/livereload_browser_test.go
	"/usr/bin/wrk wrk"                                          # bench/run.py (make bench)
	"/usr/bin/gcc gcc"                                          # make engine (cgo), bench/setup.sh (pip builds uWSGI)
)

say() { echo "setup-system: $*"; }
die() { echo "setup-system: error: $*" >&2; exit 1; }

command -v apt-get >/dev/null 2>&1 ||
	die "no apt-get: this script knows Debian and Ubuntu only; install the equivalent of: $(printf '%s; ' "${NEEDS[@]}")"

# met CHECK: all of CHECK's files exist.
met() {
	local f
	IFS=, read -ra files <<<"$1"
	for f in "${files[@]}"; do
		[ -e "$f" ] || return 1
	done
}

missing=() # the alternatives ("a|b") of each unmet need
for need in "${NEEDS[@]}"; do
	check="${need%% *}"
	pkgs="${need#* }"
	if met "$check"; then
		say "ok: ${check//,/ and } present"
	else
		missing+=("$pkgs")
	fi
done
[ "${#missing[@]}" -eq 0 ] && exit 0

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=(sudo)
	else
		cmd="apt-get update && apt-get install -y --no-install-recommends"
		for alts in "${missing[@]}"; do cmd+=" ${alts%%|*}"; done
		echo "setup-system: missing packages and not root (no sudo either); as root, run:" >&2
		echo "    $cmd" >&2
		exit 1
	fi
fi

say "apt-get update"
"${SUDO[@]}" apt-get update -qq || die "apt-get update failed (see above)"

# known PKG: apt has a candidate version of PKG.
known() {
	local v
	v="$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}')"
	[ -n "$v" ] && [ "$v" != "(none)" ]
}

install=()
for alts in "${missing[@]}"; do
	chosen=""
	IFS='|' read -ra cands <<<"$alts"
	for p in "${cands[@]}"; do
		if known "$p"; then chosen="$p"; break; fi
	done
	[ -n "$chosen" ] || die "apt knows none of: ${alts//|/, } (check /etc/apt/sources.list)"
	install+=("$chosen")
done

# policy-rc.d exit 101 keeps the packages' postinst from starting their
# service (a Debian nginx would otherwise take port 80). An existing policy
# is left as it is.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\n# setup-system.sh: no service starts while it installs packages\nexit 101\n' |
		"${SUDO[@]}" tee "$policy" >/dev/null
	"${SUDO[@]}" chmod 755 "$policy"
	trap '"${SUDO[@]}" rm -f "$policy"' EXIT
fi

say "installing ${install[*]}"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${install[@]}" ||
	die "apt-get install ${install[*]} failed (see above)"

# The postinst enables the service for the next boot on systemd machines;
# the tests never want it, so undo that for the packages installed here.
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
	for p in "${install[@]}"; do
		case "$p" in nginx*) "${SUDO[@]}" systemctl disable --quiet nginx 2>/dev/null || true ;; esac
	done
fi

for need in "${NEEDS[@]}"; do
	check="${need%% *}"
	met "$check" || die "installed ${install[*]} but ${check//,/ or } is still missing"
done
say "installed ${install[*]}"
