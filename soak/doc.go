// Command soak runs a real gowsgi under mixed traffic for a long time (10
// minutes by default) while it injects faults on a schedule, then says
// whether every failed request is explained by an injected fault and
// whether the master's memory grew. It is gowsgi's soak test: documented
// in README.md, run by `make soak`, and not part of `make test`.
//
//	go run ./soak [-duration 10m] [-gowsgi bin/gowsgi] [-python .venv/bin/python]
//	              [-concurrency 16] [-kill-every 20s] [-hup-every 45s] [-hostile-every 2s]
//
// Run it from the repository root: it serves testdata/apps/all.py with
// `gowsgi serve --processes 3 --threads 2 --harakiri 5` on a loopback port
// it picked, from a copy of the binary (so a rebuild of bin/gowsgi during
// the run does not change what a HUP starts).
//
// # What it does
//
// Traffic: -concurrency clients, half on keep-alive connections and half
// opening a connection per request, each looping over GET /hello/,
// POST /echo/ with a random body, GET /streaming/?n=5&delay=0.01 and
// GET /big/?mb=1. Every answer is checked byte for byte. The clients speak
// HTTP/1.1 themselves instead of using net/http's Transport, which silently
// retries a GET whose idle connection was closed: a soak must see that.
//
// Faults, each logged with its time: SIGKILL of one worker (a python
// process below the master without children; the zygote is the one with
// children), SIGHUP of the master (then the soak waits until the pidfile
// names a new master and the old one has exited), and hostile requests on
// raw TCP (malformed headers, request smuggling, an oversize header block,
// a slowloris, clients that leave mid-request or mid-response). Faults of
// the first two kinds are injected one at a time; hostile requests run
// beside them.
//
// Accounting: every request keeps its start, end and outcome. A failure is
// accounted for when it was in flight during a worker kill (between the
// signal and the moment /proc shows the worker dead) and failed the way a
// dead worker fails a request (502, or a cut connection); any other
// failure is unaccounted, including every failure during a HUP. A hostile
// request passes when it gets a 4xx or the server closes the connection,
// and fails when it is answered otherwise on a connection left open, or
// when a smuggled request is answered.
//
// Memory: the RSS and PSS of the master and of its whole tree (master,
// zygote, workers; from /proc/PID/smaps_rollup) every 10 s, of whichever
// master the pidfile names. A HUP makes a new master, so the figures are
// kept per master ("segments"). The rule is printed with the results:
// master RSS at the end minus master RSS after the warm-up must stay within
// max(5 MiB, 10%).
//
// Output: a summary table on stdout and soak/results/latest.json. Exit
// status 0 when every check passed, 1 when one failed, 2 when the soak
// could not run (flags, no binary, gowsgi did not start), 130 on ^C.
//
// # Troubleshooting
//
//	soak: no gowsgi binary at bin/gowsgi
//	hint: build it with `go build -o bin/gowsgi ./cmd/gowsgi`, or run `make soak`.
//
// The soak builds nothing itself; `make soak` builds the binary and the
// virtualenv first.
//
//	soak: testdata/apps/all.py not found: run the soak from the repository root
//
// The paths given to gowsgi are relative to the repository root.
//
//	soak: gowsgi did not become ready: ...
//
// Its log follows the message; the usual cause is a missing virtualenv
// (scripts/setup-venv.sh makes .venv).
//
// When the soak fails, the gowsgi log is kept in the temporary directory
// it names (gowsgi.log); each unaccounted failure in the summary carries
// its time, which is also the time in the soak's own event lines.
package main
