#!/usr/bin/env bash
# Quick A/B of two gowsgi builds (or one build under two environments),
# back to back on the same machine: keep-alive requests per second
# (wrk -t2 -c32, 5 s after a 2 s warm-up) and the total PSS of the process
# tree, idle and after the load. This is how BENCHMARKS.md's "what changed"
# figures were taken; the full side-by-side run is `make bench`.
#
#   bench/ab.sh [-a hello|mysite] [-f http|nginx] [-n REPS] BIN_A BIN_B
#   A_ENV="GOMAXPROCS=2" bench/ab.sh bin/gowsgi bin/gowsgi   # one build, two environments
#   B_ARGS="--queue-gets" bench/ab.sh bin/gowsgi bin/gowsgi  # one build, two flag sets
#   bench/ab.sh -f nginx -a mysite old/gowsgi bin/gowsgi      # behind nginx, uwsgi protocol
#
# With -f nginx, gowsgi listens with --socket behind an nginx (2 workers,
# one upstream connection per request, as make bench's nginx rows), and
# each line also gives the CPU time per request of gowsgi's process tree
# and of nginx's, and how idle the machine was during the run.
#
# Needs bench/setup.sh first (.bench-venv, wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
app=hello reps=2 front=http
while getopts "a:f:n:" o; do
	case $o in
	a) app=$OPTARG ;;
	f) front=$OPTARG ;;
	n) reps=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 2 ] || { echo "usage: bench/ab.sh [-a hello|mysite] [-f http|nginx] [-n REPS] BIN_A BIN_B" >&2; exit 2; }
case $front in http | nginx) ;; *) echo "bench/ab.sh: front is http or nginx" >&2; exit 2 ;; esac
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

freeport() { .bench-venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

tree_pids() { # $1 and its descendants
	local c
	echo "$1"
	for c in $(pgrep -P "$1"); do tree_pids "$c"; done
}

cpu_ticks() { # user + system clock ticks of $1's tree
	local t=0 p
	for p in $(tree_pids "$1"); do
		t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo "$t"
}

start_nginx() { # workdir front-port backend-port; prints nginx's pid
	mkdir -p "$1/body" "$1/proxy" "$1/fastcgi" "$1/uwsgi" "$1/scgi"
	cat >"$1/nginx.conf" <<CONF
daemon off; master_process on; worker_processes 2; pid $1/nginx.pid; error_log $1/error.log warn;
events { worker_connections 4096; }
http {
	access_log off; keepalive_requests 1000000;
	client_body_temp_path $1/body; proxy_temp_path $1/proxy; fastcgi_temp_path $1/fastcgi;
	uwsgi_temp_path $1/uwsgi; scgi_temp_path $1/scgi;
	upstream app { server 127.0.0.1:$3; }
	server { listen 127.0.0.1:$2; location / { include /etc/nginx/uwsgi_params; uwsgi_pass app; } }
}
CONF
	/usr/sbin/nginx -p "$1" -c "$1/nginx.conf" -e "$1/error.log" >/dev/null 2>&1 &
	echo $!
}

one() { # label bin env args
	local port pid rps idle loaded listen url npid="" work="" b0 b1 n0 n1 i0 i1 out reqs extra=""
	port=$(freeport)
	listen=(--http "127.0.0.1:$port")
	url="http://127.0.0.1:$port/"
	if [ "$front" = nginx ]; then
		listen=(--socket "127.0.0.1:$port")
		work=$(mktemp -d)
		local fport
		fport=$(freeport)
		npid=$(start_nginx "$work" "$fport" "$port")
		url="http://127.0.0.1:$fport/"
	fi
	env DJANGO_DEBUG=0 $3 "$2" serve "${listen[@]}" --chdir "$dir" --module "$module" \
		--processes 2 --threads 1 --python .bench-venv/bin/python --disable-logging $4 >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 200); do curl -sf -o /dev/null "$url" && break; sleep 0.05; done
	sleep 0.5
	idle=$(pss_tree "$pid")
	wrk -t2 -c32 -d2s "$url" >/dev/null
	b0=$(cpu_ticks "$pid") n0=$([ -n "$npid" ] && cpu_ticks "$npid" || echo 0) i0=$(awk '/^cpu /{print $5}' /proc/stat)
	out=$(wrk -t2 -c32 -d5s "$url")
	b1=$(cpu_ticks "$pid") n1=$([ -n "$npid" ] && cpu_ticks "$npid" || echo 0) i1=$(awk '/^cpu /{print $5}' /proc/stat)
	rps=$(echo "$out" | awk '/Requests\/sec/{print $2} /Non-2xx/{print "ERRORS:" $0}' | tr '\n' ' ')
	loaded=$(pss_tree "$pid")
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null || true
	if [ -n "$npid" ]; then
		kill -TERM "$npid"
		wait "$npid" 2>/dev/null || true
		rm -rf "$work"
		reqs=$(echo "$out" | awk '/requests in/{print $1}')
		local hz
		hz=$(getconf CLK_TCK)
		extra=$(printf '   CPU/request gowsgi %5.1f us, nginx %5.1f us, idle %4.1f%%' \
			"$(echo "($b1 - $b0) * 1000000 / $hz / $reqs" | bc -l)" "$(echo "($n1 - $n0) * 1000000 / $hz / $reqs" | bc -l)" \
			"$(echo "($i1 - $i0) * 100 / ($(nproc) * $hz * 5)" | bc -l)")
	fi
	printf '%-2s %-36s %10s rps   PSS idle %6.1f MiB, after load %6.1f MiB%s\n' "$1" "$2${3:+ ($3)}${4:+ $4}" "$rps" \
		"$(echo "$idle / 1024" | bc -l)" "$(echo "$loaded / 1024" | bc -l)" "$extra"
}

for r in $(seq "$reps"); do
	one A "$1" "${A_ENV:-}" "${A_ARGS:-}"
	one B "$2" "${B_ENV:-}" "${B_ARGS:-}"
done
