#!/usr/bin/env bash
# Quick A/B of two gowsgi builds (or one build under two environments),
# back to back on the same machine: keep-alive requests per second
# (wrk -t2 -c32, 5 s after a 2 s warm-up) and the total PSS of the process
# tree, idle and after the load. This is how BENCHMARKS.md's "what changed"
# figures were taken; the full side-by-side run is `make bench`.
#
#   bench/ab.sh [-a hello|mysite] [-n REPS] BIN_A BIN_B
#   A_ENV="GOMAXPROCS=2" bench/ab.sh bin/gowsgi bin/gowsgi   # one build, two environments
#   B_ARGS="--queue-gets" bench/ab.sh bin/gowsgi bin/gowsgi  # one build, two flag sets
#
# Needs bench/setup.sh first (.bench-venv, wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
app=hello reps=2
while getopts "a:n:" o; do
	case $o in
	a) app=$OPTARG ;;
	n) reps=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 2 ] || { echo "usage: bench/ab.sh [-a hello|mysite] [-n REPS] BIN_A BIN_B" >&2; exit 2; }
case $app in
hello) dir=testdata/apps module=hello:application ;;
mysite) dir=testdata/mysite module=mysite.wsgi:application ;;
*) echo "bench/ab.sh: app is hello or mysite" >&2; exit 2 ;;
esac
command -v wrk >/dev/null || { echo "bench/ab.sh: no wrk (run bench/setup.sh)" >&2; exit 1; }

pss_tree() { # total PSS in KiB of $1 and its descendants
	local total=0 p
	for p in $1 $(pgrep -P "$1") $(for c in $(pgrep -P "$1"); do pgrep -P "$c"; done); do
		total=$((total + $(awk '/^Pss:/{print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)))
	done
	echo "$total"
}

one() { # label bin env args
	local port pid rps idle loaded
	port=$(.bench-venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	env DJANGO_DEBUG=0 $3 "$2" serve --http "127.0.0.1:$port" --chdir "$dir" --module "$module" \
		--processes 2 --threads 1 --python .bench-venv/bin/python --disable-logging $4 >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 200); do curl -sf -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.05; done
	sleep 0.5
	idle=$(pss_tree "$pid")
	wrk -t2 -c32 -d2s "http://127.0.0.1:$port/" >/dev/null
	rps=$(wrk -t2 -c32 -d5s "http://127.0.0.1:$port/" | awk '/Requests\/sec/{print $2} /Non-2xx/{print "ERRORS:" $0}' | tr '\n' ' ')
	loaded=$(pss_tree "$pid")
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null || true
	printf '%-2s %-36s %10s rps   PSS idle %6.1f MiB, after load %6.1f MiB\n' "$1" "$2${3:+ ($3)}${4:+ $4}" "$rps" \
		"$(echo "$idle / 1024" | bc -l)" "$(echo "$loaded / 1024" | bc -l)"
}

for r in $(seq "$reps"); do
	one A "$1" "${A_ENV:-}" "${A_ARGS:-}"
	one B "$2" "${B_ENV:-}" "${B_ARGS:-}"
done
