// Package pyworker runs Python WSGI workers for the Go master: it spawns
// them, speaks the frame protocol with them over unix sockets, and
// supervises them (restarts, retirements, generations).
//
// # Model
//
// A Manager runs one app: a single supervisor goroutine owns every worker,
// zygote and generation and changes them only in answer to events the other
// goroutines send it, while the request path only takes a Slot (one Python
// thread's connection) from the live generation with Acquire, runs the
// request with Slot.Do and gives it back with Release. Reload starts a new
// generation and makes it live only once all its workers are ready, so a
// generation that fails leaves the old one serving.
//
// Workers are forked by a Python zygote that has already imported the app
// (SpawnZygote, memory shared copy-on-write), or started as fresh
// interpreters (SpawnExec, uWSGI's lazy-apps). Every worker connects back
// to the master's unix socket in a private 0700 directory: one control
// connection and one connection per thread, each introduced by a Hello
// frame carrying the worker's token. The Python runtime lives in
// python/_gowsgi, is embedded in the binary, and is extracted to
// ~/.cache/gowsgi/runtime-<hash> (GOWSGI_CACHE_DIR overrides) where the
// user's interpreter runs it.
//
// # Layout
//
//	protocol.go    the wire format, declared once (golden bytes in testdata/frames)
//	slot.go        one request over a thread connection (Slot.Do)
//	pool.go        handing out slots (Acquire, Release), queue-gets
//	supervisor.go  the owner loop, its typed events, its clock (tick)
//	generation.go  Start, Reload: a generation goes live when all its workers are ready
//	spawn.go       procs, the seam through which processes start; exec'd workers
//	zygote.go      the zygote: Fork/Forked/Exited, its replacement, ResetZygote
//	control.go     the control connection: its reader, and its writer goroutine
//	respawn.go     an exit: classify, fail the generation or respawn with back-off
//	retire.go      retiring a worker, with a typed reason that decides what follows
//	stop.go        Stop, Kill, ErrStopping
//	status.go      snapshots for the status page
//	exit.go        exit codes and their causes; rss.go, metrics.go: counters
//	interpreter.go FindPython; runtime.go: the embedded runtime; procattr_*.go
//
// The supervisor never writes to a socket: frames for a control connection
// are queued to its writer goroutine, which gives up on a process that
// takes none for controlWriteTimeout (5s). Its tests (supervisor_test.go,
// bugs_test.go) drive it through procs with a fake Python (fake_test.go)
// that speaks the real protocol over the real socket.
//
// # Exits
//
// A worker's end is classified (see Exit.Cause): could not start (exit 3:
// the runtime itself failed), app failed to import (exit 4, with a
// BootError frame carrying the traceback), crashed (another status), killed
// by a signal. A crash is restarted at once, then with a doubling delay
// from 100ms up to 10s while it keeps dying within 10s of its start; the
// zygote is restarted the same way (respawn.go). An import failure during
// start-up fails Start or Reload with the *BootError; it is never retried in
// a loop. A zygote that cannot fork fails the starting generation at once
// with fork's error.
//
// # Troubleshooting
//
//	gowsgi: worker 3 (gen 1, pid 4121) killed by SIGKILL; out of memory (see dmesg), harakiri, or killed by hand?
//
// The process was killed from outside. dmesg shows the OOM killer's line if
// memory ran out. Its in-flight requests got 502; a new worker replaced it.
//
//	gowsgi: worker 3 (gen 1, pid 4121) died 4 times in a row; next start in 800ms
//
// The app crashes right after it starts (a C extension, os._exit in the
// app). The log lines above say how each one ended. A zygote that keeps
// dying says "zygote (pid 4120) died 4 times in a row".
//
//	zygote (pid 4120) could not fork worker 3: [Errno 11] Resource temporarily unavailable
//
// Start or Reload failed at once: fork(2) refused. EAGAIN is the process
// limit (ulimit -u, systemd's TasksMax); ENOMEM ("Cannot allocate memory")
// is memory or overcommit. Raise the limit or run fewer processes. A live
// generation keeps serving and retries the worker with the back-off.
//
//	workers not ready after 1m0s
//
// A worker connected but never sent Ready: the app's import hangs (waiting
// for a database or a lock at import time) or takes longer than the start
// timeout. Fork failures and import errors are reported at once, not with
// this message.
//
//	gowsgi: worker 3 (gen 1, pid 4121): /srv/venv/.../_gogo.so is built with Go and a process holds one Go runtime (golang/go#18976); it cannot serve through the engine: killing it (restart gowsgi, or set engine = off, to serve through the master)
//
// A worker that replaced one of a live engine generation imported a module
// built with Go that its predecessors did not (the code changed under a
// running master, with lazy-apps). It is retried with the back-off; a
// restart makes the new master serve through the proxy path
// (goruntime.go).
//
//	gowsgi: retiring worker 1 (gen 1, pid 4121): reload-on-rss: resident memory 530 MiB is over the limit of 512 MiB
//
// reload-on-rss at work (rss.go): the request that crossed the limit was
// answered; the worker finishes its other requests and a new one starts.
// Retired every few minutes? The app keeps memory per request (a cache
// without a bound, a list at module level); the stats page shows each
// worker's RSS.
//
//	gowsgi: evil-reload-on-rss: worker 1 (gen 1, pid 4121) uses 1100 MiB, over the limit of 1024 MiB; killing it
//
// The worker was killed at once; its in-flight requests got 502.
//
//	gowsgi: worker 1 (gen 1, pid 4121) is not reading its control connection; it was not told of the changed files
//	gowsgi: writing to the control connection of worker 1 (gen 1, pid 4121): write unix ...: i/o timeout; closing it
//
// The process does not read: stopped (kill -STOP, a debugger at a
// breakpoint) or stuck in C code holding the GIL. The supervisor does not
// wait for it; once its connection is closed the worker exits when it runs
// again and is replaced.
//
//	gowsgi: worker 1 (gen 1, pid 4121): decoding its Ready frame: ...; closing its control connection
//
// The master and the runtime disagree on the protocol: the runtime in
// ~/.cache/gowsgi is from another gowsgi version. Delete it; the process
// is replaced like one that crashed.
//
//	gowsgi: worker 2 (gen 3, pid 4122) did not stop in time and was killed
//
// A retired or stopping worker had not exited 10s after its Stop frame: a
// request that never ends, or an atexit handler that hangs.
//
//	gowsgi is stopping
//
// ErrStopping: Start or Reload was called after Stop or Kill (a reload
// signal during shutdown), or Acquire after the last generation retired.
// Nothing was started.
//
//	gowsgi: no python interpreter found: tried python3 (PATH)
//
// Install python3, activate the app's virtualenv ($VIRTUAL_ENV is used),
// run the gowsgi that pip installed into it (VENV/bin/gowsgi uses the python
// beside it), or pass --python. The order is in FindPython (interpreter.go).
//
//	gowsgi: worker connection refused: first frame is ..., want Hello
//
// Something other than a gowsgi worker connected to the master socket, or
// the runtime in ~/.cache/gowsgi is from another version: delete it.
package pyworker
