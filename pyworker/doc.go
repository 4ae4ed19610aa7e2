// Package pyworker runs Python WSGI workers for the Go master: it spawns
// them, speaks the frame protocol with them over unix sockets, and
// supervises them (restarts, retirements, generations).
//
// # Model
//
// A Manager owns one app. Its supervisor goroutine owns every worker; the
// request path only takes a Slot (one Python thread's connection) from the
// current generation's idle channel with Acquire, runs the request with
// Slot.Do and gives it back with Release. Workers are forked by a Python
// zygote that has already imported the app (SpawnZygote, memory shared
// copy-on-write), or started as fresh interpreters (SpawnExec, uWSGI's
// lazy-apps). Every worker connects back to the master's unix socket in a
// private 0700 directory: one control connection and one connection per
// thread, each introduced by a Hello frame carrying the worker's token.
//
// The Python runtime lives in python/_gowsgi, is embedded in the binary,
// and is extracted to ~/.cache/gowsgi/runtime-<hash> (GOWSGI_CACHE_DIR
// overrides) where the user's interpreter runs it.
//
// # Exits
//
// A worker's end is classified (see Exit.Cause): could not start (exit 3:
// the runtime itself failed), app failed to import (exit 4, with a
// BootError frame carrying the traceback), crashed (another status), killed
// by a signal. A crash is restarted at once, then with a doubling delay up
// to 10s while it keeps dying within 10s of its start. An import failure
// during start-up fails Start with the *BootError; it is never retried in a
// loop.
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
// app). The log lines above say how each one ended.
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
