// Package master is a running gowsgi: it binds the listeners, starts the
// Python workers (package pyworker) behind the request pipeline (package
// gateway), and runs the one signal loop that serve, dev and check share.
// cmd/gowsgi only turns flags and ini files into a Config and errors into
// messages.
//
// # Model
//
// Start binds every listener (or inherits it from a HUP's previous master
// or from systemd), drops root, starts the first worker generation and
// begins serving. Run (or Serve, for production) is then a single loop:
// signal handlers only queue, and the loop decides what each event means
// in its Mode:
//
//	event                  ModeServe (serve)          ModeDev (dev)               ModeCheck (check)
//	SIGHUP                 new master (tableflip)     new generation, new zygote  stop at once
//	touch-reload, py-auto  new master, named so       -                           -
//	saved file             -                          new generation / templates  -
//	SIGINT, SIGTERM        graceful stop              graceful stop               stop at once
//	the same again         kill                       kill                        -
//	SIGUSR2                graceful stop, never escalated (what a master passes on to a restart's new master)
//	ctx done               graceful stop (ErrStopNow as the cause: kill)
//
// A graceful stop stops accepting, lets requests finish for Config.Grace
// (30s), then stops the workers; only a second SIGINT or SIGTERM cuts it
// short (a SIGHUP or a restart meanwhile is logged and ignored). Killing
// kills the workers first, so no server waits on a request in the app.
//
// Work that can block runs beside the loop and reports back to it: a
// HUP's new master (handoff.go), a dev reload (dev.go). So a signal is
// always answered, even while a new generation hangs in its import.
//
// # Zero-downtime restarts
//
// In production a SIGHUP starts a new gowsgi process through tableflip.
// Everything of the new master that can fail (configuration, listeners,
// workers, pidfile) happens before it tells tableflip it is ready; after
// that nothing ends it (a touch-reload watcher that cannot start is a
// warning). The old master then drains: it answers each keep-alive
// connection once more with "Connection: close" and finishes its requests.
// A stop that arrives during a restart stops the new master too: tableflip
// kills one that is not ready yet, and one that became ready meanwhile is
// sent SIGUSR2, a graceful stop that a second copy of the operator's stop
// (a terminal's CONTROL-C reaches the whole group) does not turn into a
// kill. Neither master unlinks unix sockets the other serves on: the old
// one after the handover, the new one before it is ready (if it fails,
// the old one serves on).
//
// # Troubleshooting
//
//	gowsgi: restart failed, this master keeps serving: child 4242 exited: exit status 4
//
// The new master could not start (its log, just above, says why: an app
// that no longer imports, a broken ini). The old master serves on and
// writes its pid back into the pidfile; fix the cause and send SIGHUP again.
//
//	gowsgi: warning: touch-reload /srv/x/trigger: watching /srv/x: no such file or directory; touching it will not restart gowsgi
//
// The directory of a touch-reload file is missing. gowsgi serves on, as
// uWSGI does; create the directory, then restart with kill -HUP so the new
// master watches it.
//
//	gowsgi: SIGHUP while stopping: ignored
//
// A restart was asked for while the master finished its requests after
// SIGTERM. Stopping wins; send SIGINT or SIGTERM again to stop at once.
//
//	gowsgi: the pidfile now names pid 4243 (a restart's new master); stopping it too
//
// `gowsgi --stop` found a new master in the pidfile after the one it
// stopped had gone: a restart took over meanwhile. --stop stops the
// server, so it stops that one too.
//
//	gowsgi: the master serves the connections (proxy path): /srv/venv/.../_gogo.so is built with Go and a process holds one Go runtime (golang/go#18976)
//
// The app imports a module built with Go (a Python extension, or a
// library it loads with ctypes), so the in-worker engine, another Go
// runtime, cannot load into its workers (engine.go). The workers started
// again on the proxy path; nothing to do unless that module should not be
// there. With engine = on this is the error "the in-worker engine cannot
// run here: ..."; set engine = off.
//
//	gowsgi: warning: the master could not take its listening sockets out of its poller (no epoll instance in /proc/self/fd): it wakes on every new connection
//
// With the in-worker engine the master removes its descriptors of the
// listening sockets from Go's epoll (unpoll_linux.go), through
// /proc/self/fd. Without /proc (a chroot or a sandbox that hides it) it
// cannot: the workers serve as before, and the master costs one wake-up
// per new connection. Mount /proc to get rid of it.
package master
