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
"""

import gc
import os
import random
import selectors
import signal
import socket
import sys
import threading
import traceback

from . import boot, preload
from .protocol import (
    EXITED, FORK, FORKED, LOG, READY, STOP, ConnectionClosed, ProtocolError, decode_json,
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
        self.conn.sock.setblocking(True)
        try:
            while True:
                for key, _ in sel.select():
                    key.data()
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
                if t == FORK:
                    self.fork(decode_json(payload))
                elif t == STOP:
                    self.stopping = True
                frame = conn.poll_frame()
        except (ConnectionClosed, OSError):
            self.kill_children()
            boot.exit_process(boot.EXIT_MASTER_GONE)
        except ProtocolError as e:
            sys.stderr.write("gowsgi: zygote: protocol error: %s\n" % e)
            self.kill_children()
            boot.exit_process(boot.EXIT_MASTER_GONE)

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

    def become_worker(self, config, zygote_pid):
        """become_worker runs in the forked child: it drops the zygote's
        state and runs the worker. The child never returns to the zygote's
        loop, whatever happens.
        """
        code = boot.EXIT_MASTER_GONE
        try:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            self.selector.close()
            for s in (self.wake_r, self.wake_w, self.conn.sock):
                s.close()
            random.seed()
            from . import worker
            worker.run(config, app=self.app, parent_pid=zygote_pid)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else boot.EXIT_MASTER_GONE
        except BaseException:
            traceback.print_exc()
        finally:
            boot.exit_process(code)


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
    # Everything the preload created moves to the GC's permanent
    # generation: a collection in a forked worker then never writes to
    # these objects' GC headers, which would copy nearly every page of
    # the app into each worker (measured with Django: 21 MiB private per
    # worker without this).
    gc.collect()
    gc.freeze()
    conn.send_json(READY, {"pid": os.getpid(), "python": sys.version,
                           "preload": config.preload, "app": config.app_spec,
                           "modules": len(sys.modules)})
    z.run()
