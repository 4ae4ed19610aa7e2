"""The zygote: a process that preloads modules once and forks workers.

The zygote connects a control connection (Hello role "zygote"), preloads
(see preload.py: "none", "site" or "app"), sends Ready, then serves its
control connection in one single-threaded loop (it must not start threads
before forking):

    Fork {"worker", "generation", "token"}
           fork a worker; the child closes the zygote's sockets, reseeds
           random, sets PDEATHSIG and runs worker.run with those ids; the
           zygote answers Forked {"worker", "pid"} ("pid": null and "error"
           when fork failed).
    child exit
           reaped without blocking (SIGCHLD wakes the loop through
           signal.set_wakeup_fd) and reported as Exited {"pid", "worker",
           "code", "signal"}, code or signal null.
    Stop, SIGTERM
           fork no more; exit 0 once every child has exited (the children
           stop on their own Stop frames; they die with the zygote).
    EOF    the master is gone: SIGKILL the children and exit 1.

SIGINT is ignored: ^C is the master's to handle.

In dev mode for a Django project the zygote also forks a sub-zygote, the
Django stage (djangostage.py), after its preload, and the stage forks one of
its own, a standby. Once a sub-zygote says Ready (and, for a standby, its
parent finds it up to date), Fork frames go to it, Stop frames to every
one, and their Forked, Exited and Log frames come back through each parent
to the master, which sees no difference but the time a new generation
takes. A sub-zygote that refuses, is out of date or dies leaves the
forking to its parent again (the workers of one that died die with it and
are reported killed).
"""

import gc
import os
import random
import selectors
import signal
import socket
import sys
import threading
import time
import traceback

from . import boot, djangostage, goruntime, preload
from .protocol import (
    EXITED, FORK, FORKED, LOG, READY, STOP, Connection, ConnectionClosed, ProtocolError,
    decode_json,
)


class Zygote:
    """Zygote owns the control connection, the preloaded app and the children."""

    def __init__(self, config, conn):
        self.config = config
        self.conn = conn
        self.app = None
        self.children = {}  # pid -> worker number
        self.stopping = False
        self.selector = None
        self.wake_r = self.wake_w = None
        # Sub-zygotes (see the module doc): every one still running, and the
        # one new workers are forked by once it is ready and, when
        # check_sub is set, check_sub(its Ready payload) is true.
        self.subs = []
        self.sub = None
        self.check_sub = None
        self.make_sub = None   # starts a new current sub-zygote, if set
        self.sub_due = None    # time.monotonic() at which to call make_sub
        self.sub_failures = 0  # subs that died unasked since the last fork
        self.sub_pids = set()  # every sub-zygote started, until reaped

    def log(self, text):
        self.conn.send_frame(LOG, 0, 0, text.encode("utf-8", "replace"))

    def preload(self):
        c = self.config
        if c.preload == "app":
            try:
                boot.prepare(c)
                self.app = boot.load_app(c)
            except BaseException as exc:
                boot.fail_boot(self.conn, exc, c)
        else:
            boot.prepare(c)
            if c.preload == "site":
                preload.preload_site(c, self.log)
        if threading.active_count() > 1:
            names = ", ".join(t.name for t in threading.enumerate()
                              if t is not threading.current_thread())
            self.log("preload started threads (%s); forked workers will not have them. "
                     "Start them in the app on first use, or use preload none." % names)

    def on_sigterm(self, signum, frame):
        self.stopping = True  # the loop acts on it: the wakeup fd woke it

    def run(self):
        """run serves the control connection and reaps children; it never returns."""
        self.wake_r, self.wake_w = socket.socketpair()
        self.wake_r.setblocking(False)
        self.wake_w.setblocking(False)
        signal.signal(signal.SIGCHLD, _noop)  # a Python handler, so the wakeup fd is written
        signal.signal(signal.SIGTERM, self.on_sigterm)
        signal.set_wakeup_fd(self.wake_w.fileno(), warn_on_full_buffer=False)
        self.selector = sel = selectors.DefaultSelector()
        sel.register(self.conn.sock, selectors.EVENT_READ, self.read_control)
        sel.register(self.wake_r, selectors.EVENT_READ, self.reap)
        for sub in self.subs:
            sel.register(sub.conn.sock, selectors.EVENT_READ, sub)
        self.conn.sock.setblocking(True)
        try:
            while True:
                timeout = None
                if self.sub_due is not None:
                    timeout = max(0.0, self.sub_due - time.monotonic())
                for key, _ in sel.select(timeout):
                    if isinstance(key.data, Sub):
                        self.read_sub(key.data)
                    else:
                        key.data()
                if self.sub_due is not None and time.monotonic() >= self.sub_due and not self.stopping:
                    self.sub_due = None
                    self.make_sub()
                if self.stopping and not self.children:
                    boot.exit_process(boot.EXIT_OK)
        except OSError:  # a send failed: the master is gone
            self.kill_children()
            boot.exit_process(boot.EXIT_MASTER_GONE)

    def read_control(self):
        conn = self.conn
        try:
            frame = conn.poll_frame()
            while frame is not None:
                t, flags, rid, payload = frame
                if t == FORK and not self.stopping and self.sub_usable():
                    self.sub.conn.send_frame(t, flags, rid, payload)
                elif t == FORK:
                    self.fork(decode_json(payload))
                    self.sub_failures = 0
                    if self.make_sub is not None and self.sub is None:
                        # After the new worker's own import, not during it:
                        # on two cores they would slow each other down.
                        self.sub_due = time.monotonic() + SUB_DELAY
                elif t == STOP:
                    self.stopping = True
                    for sub in self.subs:
                        sub.conn.send_frame(t, flags, rid, payload)
                frame = conn.poll_frame()
        except (ConnectionClosed, OSError):
            self.kill_children()
            boot.exit_process(boot.EXIT_MASTER_GONE)
        except ProtocolError as e:
            boot.say("gowsgi: zygote: protocol error: %s" % e)
            self.kill_children()
            boot.exit_process(boot.EXIT_MASTER_GONE)

    def start_sub(self, target):
        """start_sub forks a sub-zygote that runs target(config, conn), conn
        its Connection to this zygote, and makes it the current one.
        """
        ours, theirs = socket.socketpair()
        for f in (sys.stdout, sys.stderr):
            f.flush()
        pid = os.fork()
        if pid == 0:
            code = boot.EXIT_MASTER_GONE
            try:
                ours.close()
                self.drop_state()  # the master's connection is the zygote's alone
                boot.set_pdeathsig()
                target(self.config, Connection(theirs))  # never returns
            except BaseException:  # noqa: BLE001
                traceback.print_exc()
            finally:
                boot.exit_process(code)
        theirs.close()
        sub = Sub(Connection(ours), pid)
        self.sub_pids.add(pid)
        self.subs.append(sub)
        self.sub = sub
        if self.selector is not None:
            self.selector.register(sub.conn.sock, selectors.EVENT_READ, sub)

    def sub_usable(self):
        """sub_usable says whether the current sub-zygote may fork the next
        worker; one that check_sub finds out of date is retired.
        """
        sub = self.sub
        if sub is None or not sub.ready:
            return False
        if self.check_sub is None or self.check_sub(sub.info):
            return True
        self.retire(sub)
        return False

    def retire(self, sub):
        """retire stops forking from sub; it exits once its workers have."""
        if self.sub is sub:
            self.sub = None
        sub.retired = True
        try:
            sub.conn.send_frame(STOP, 0, 0)
        except OSError:
            pass

    def read_sub(self, sub):
        """read_sub relays a sub-zygote's frames to the master."""
        try:
            frame = sub.conn.poll_frame()
            while frame is not None:
                t, flags, rid, payload = frame
                if t == READY:
                    sub.ready, sub.info = True, decode_json(payload)
                elif t == FORKED:
                    d = decode_json(payload)
                    if d.get("pid"):
                        self.children[d["pid"]] = d.get("worker", 0)
                        sub.children.add(d["pid"])
                    self.conn.send_frame(t, flags, rid, payload)
                elif t == EXITED:
                    d = decode_json(payload)
                    self.children.pop(d.get("pid"), None)
                    sub.children.discard(d.get("pid"))
                    self.conn.send_frame(t, flags, rid, payload)
                else:
                    self.conn.send_frame(t, flags, rid, payload)
                frame = sub.conn.poll_frame()
        except (ConnectionClosed, OSError, ProtocolError):
            self.sub_gone(sub)

    def sub_gone(self, sub):
        """sub_gone forgets a sub-zygote that exited: its workers die with
        it (PDEATHSIG), and are reported killed. One that died unasked is
        replaced after SUB_DELAY, a few times at most between two forks.
        """
        self.selector.unregister(sub.conn.sock)
        sub.conn.close()
        self.subs.remove(sub)
        if self.sub is sub:
            self.sub = None
            if self.make_sub is not None and not self.stopping and self.sub_failures < MAX_SUB_FAILURES:
                self.sub_failures += 1
                self.sub_due = time.monotonic() + SUB_DELAY
        for pid in list(sub.children):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
            worker = self.children.pop(pid, None)
            self.conn.send_json(EXITED, {"pid": pid, "worker": worker, "code": None,
                                         "signal": int(signal.SIGKILL)})

    def kill_children(self):
        for pid in list(self.children):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def reap(self):
        try:
            while self.wake_r.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if os.WIFSIGNALED(status):
                code, sig = None, os.WTERMSIG(status)
            elif os.WIFEXITED(status):
                code, sig = os.WEXITSTATUS(status), None
            else:
                continue  # stopped or continued, not gone
            if pid in self.sub_pids:
                # A sub-zygote, not a worker: its connection's EOF (before
                # or after this) says the rest.
                self.sub_pids.discard(pid)
                continue
            worker = self.children.pop(pid, None)
            self.conn.send_json(EXITED, {"pid": pid, "worker": worker, "code": code,
                                         "signal": sig})

    def fork(self, req):
        n = req.get("worker", 0)
        if self.stopping:
            self.conn.send_json(FORKED, {"worker": n, "pid": None,
                                         "error": "the zygote is stopping"})
            return
        config = self.config.replace(worker=n, generation=req.get("generation", 0),
                                     token=req.get("token", ""))
        if config.engine:
            # The worker's own row of the master's scoreboard.
            config = config.replace(engine=dict(config.engine, row=req.get("row", -1)))
        for f in (sys.stdout, sys.stderr):
            f.flush()  # or the child prints the zygote's buffered output again
        zygote_pid = os.getpid()
        try:
            pid = os.fork()
        except OSError as e:
            self.conn.send_json(FORKED, {"worker": n, "pid": None, "error": str(e)})
            return
        if pid == 0:
            self.become_worker(config, zygote_pid)  # never returns
        self.children[pid] = n
        self.conn.send_json(FORKED, {"worker": n, "pid": pid})

    def drop_state(self):
        """drop_state, in a forked child, closes what belongs to this zygote:
        its signal handlers, selector and sockets.
        """
        if self.selector is not None:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            self.selector.close()
            self.wake_r.close()
            self.wake_w.close()
        self.conn.sock.close()
        for sub in self.subs:
            sub.conn.sock.close()

    def become_worker(self, config, zygote_pid):
        """become_worker runs in the forked child: it drops the zygote's
        state and runs the worker. The child never returns to the zygote's
        loop, whatever happens.
        """
        code = boot.EXIT_MASTER_GONE
        try:
            self.drop_state()
            random.seed()
            from . import worker
            worker.run(config, app=self.app, parent_pid=zygote_pid)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else boot.EXIT_MASTER_GONE
        except BaseException:
            traceback.print_exc()
        finally:
            boot.exit_process(code)


class Sub:
    """Sub is a sub-zygote as its parent zygote sees it."""

    def __init__(self, conn, pid):
        self.conn = conn
        self.pid = pid
        self.ready = False
        self.info = {}
        self.retired = False
        self.children = set()  # the pids it forked, still running


# How long after forking a worker itself a zygote starts a sub-zygote
# (djangostage.py's standby), and how many in a row may die unasked.
SUB_DELAY = 1.0
MAX_SUB_FAILURES = 3


def _noop(signum, frame):
    pass


def run(config):
    """run is the zygote's main; it never returns."""
    conn = boot.connect(config, {"role": "zygote", "token": config.token,
                                 "pid": os.getpid()})
    boot.set_pdeathsig()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    z = Zygote(config, conn)
    z.preload()
    # The worker's own modules are imported here, once, not by each worker
    # after the fork: a module imported in a worker is private memory of
    # that worker (mysite, 2 engine workers: 0.4 MiB each,
    # TestWorkerImportsNothingAfterFork).
    from . import engine, worker  # noqa: F401
    # Everything the preload created moves to the GC's permanent
    # generation: a collection in a forked worker then never writes to
    # these objects' GC headers, which would copy nearly every page of
    # the app into each worker (measured with Django: 21 MiB private per
    # worker without this).
    gc.collect()
    gc.freeze()
    ready = {"pid": os.getpid(), "python": sys.version, "preload": config.preload,
             "app": config.app_spec, "modules": len(sys.modules)}
    if config.engine and config.preload == "app":
        # Its workers do not import the app: the look is taken here
        # (goruntime.py), and the master serves through the proxy path.
        ready["go_runtime"] = goruntime.foreign_go([config.engine.get("lib")])
    conn.send_json(READY, ready)
    if djangostage.wanted(config):
        z.start_sub(djangostage.run)
    z.run()
