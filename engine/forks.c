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
// A fork on another thread between an engine thread's look at the flag
// and its close would leave that connection's FIN to the child, and, in a
// one-thread worker (the app's own background thread may fork), a closed
// descriptor in epoll that fires at every wait. So a close is a section:
// the engine counts itself in (closing), then reads the flag; the fork's
// prepare handler sets the flag, then waits for the count to fall to zero.
// Either the closer sees the flag, or its close is over before the fork
// (both sides' atomics are sequentially consistent). A section is a few
// syscalls that wait for nothing, so the wait is short. A close that began
// after the wait may still be counted when the process is copied: the
// child, whose only thread is the one that forked, starts from zero, or
// its own next fork would wait for ever.

#include <pthread.h>
#include <sched.h>

#include "forks.h"

static int forked;
static int closing;

static void note_fork(void) {
    __atomic_store_n(&forked, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&closing, __ATOMIC_SEQ_CST) != 0) {
        sched_yield();
    }
}

static void child_starts(void) { __atomic_store_n(&closing, 0, __ATOMIC_SEQ_CST); }

int gowsgi_watch_forks(void) { return pthread_atfork(note_fork, NULL, child_starts); }

int *gowsgi_fork_flag(void) { return &forked; }

int *gowsgi_fork_closing(void) { return &closing; }
