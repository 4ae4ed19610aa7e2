// Whether the worker has forked since the engine started: an app that
// forks (multiprocessing, os.fork, a C library) leaves its children a copy
// of every open connection, and a connection whose last copy is not the
// engine's sends no FIN when the engine closes it. Only then does the
// engine shut a connection's sending side before the close (the uwsgi
// protocol and HTTP/1.0 answers end with the connection) and take it out
// of epoll itself; a worker that never forked is spared both syscalls on
// every connection (a sixth of an nginx request's).
//
// pthread_atfork sees every fork(2) through libc: os.fork, multiprocessing,
// subprocess's fork before exec. A vfork or posix_spawn child shares or
// replaces the process at once and holds nothing once it runs.
//
// One window is left: with several threads, a fork on one thread between
// another thread's look at the flag and its close leaves that one
// connection's FIN to the child (it goes out when the child exits or
// closes it). A one-thread worker forks only from the app, on the thread
// that closes.

#include <pthread.h>

#include "forks.h"

static int forked;

static void note_fork(void) { __atomic_store_n(&forked, 1, __ATOMIC_RELAXED); }

int gowsgi_watch_forks(void) { return pthread_atfork(note_fork, NULL, NULL); }

int gowsgi_forked(void) { return __atomic_load_n(&forked, __ATOMIC_RELAXED); }
