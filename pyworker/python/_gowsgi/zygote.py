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

In dev mode for a Django project the zygote also forks a Django stage
(djangostage.py) after its preload. Once the stage says Ready, Fork and Stop
frames go to it, and its Forked, Exited and Log frames come back through
the zygote to the master, which sees no difference but the time a new
generation takes. A stage that refuses or dies leaves the forking to the
zygote again (its workers die with it and are reported killed).
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

from . import boot, djangostage, preload
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
        self.stage = None        # Connection to the Django stage, while it runs
        self.stage_pid = None
        self.stage_ready = False
        self.stage_children = set()  # pids the stage forked

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
        if self.stage is not None:
            sel.register(self.stage.sock, selectors.EVENT_READ, self.read_stage)
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
                if t == FORK and self.stage_ready and not self.stopping:
                    self.stage.send_frame(t, flags, rid, payload)
                elif t == FORK:
                    self.fork(decode_json(payload))
                elif t == STOP:
                    self.stopping = True
                    if self.stage is not None:
                        self.stage.send_frame(t, flags, rid, payload)
                frame = conn.poll_frame()
        except (ConnectionClosed, OSError):
            self.kill_children()
            boot.exit_process(boot.EXIT_MASTER_GONE)
        except ProtocolError as e:
            sys.stderr.write("gowsgi: zygote: protocol error: %s\n" % e)
            self.kill_children()
            boot.exit_process(boot.EXIT_MASTER_GONE)

    def start_stage(self):
        """start_stage forks the Django stage (djangostage.py) when the
        config wants one. Call it after the preload, before run.
        """
        if not djangostage.wanted(self.config):
            return
        ours, theirs = socket.socketpair()
        for f in (sys.stdout, sys.stderr):
            f.flush()
        pid = os.fork()
        if pid == 0:
            code = boot.EXIT_MASTER_GONE
            try:
                ours.close()
                self.conn.sock.close()  # the master's connection is the zygote's alone
                boot.set_pdeathsig()
                djangostage.run(self.config, Connection(theirs))  # never returns
            except BaseException:  # noqa: BLE001
                traceback.print_exc()
            finally:
                boot.exit_process(code)
        theirs.close()
        self.stage, self.stage_pid = Connection(ours), pid

    def read_stage(self):
        """read_stage relays the stage's frames to the master."""
        try:
            frame = self.stage.poll_frame()
            while frame is not None:
                t, flags, rid, payload = frame
                if t == READY:
                    self.stage_ready = True
                elif t == FORKED:
                    d = decode_json(payload)
                    if d.get("pid"):
                        self.children[d["pid"]] = d.get("worker", 0)
                        self.stage_children.add(d["pid"])
                    self.conn.send_frame(t, flags, rid, payload)
                elif t == EXITED:
                    d = decode_json(payload)
                    self.children.pop(d.get("pid"), None)
                    self.stage_children.discard(d.get("pid"))
                    self.conn.send_frame(t, flags, rid, payload)
                else:
                    self.conn.send_frame(t, flags, rid, payload)
                frame = self.stage.poll_frame()
        except (ConnectionClosed, OSError, ProtocolError):
            self.stage_gone()

    def stage_gone(self):
        """stage_gone forgets a stage that exited: its workers die with it
        (PDEATHSIG), and are reported killed.
        """
        self.selector.unregister(self.stage.sock)
        self.stage.close()
        self.stage, self.stage_ready = None, False
        for pid in list(self.stage_children):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
            worker = self.children.pop(pid, None)
            self.conn.send_json(EXITED, {"pid": pid, "worker": worker, "code": None,
                                         "signal": int(signal.SIGKILL)})
        self.stage_children.clear()

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
            if pid == self.stage_pid:
                self.stage_pid = None  # its connection's EOF says the rest
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
            if self.stage is not None:
                self.stage.sock.close()
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
    z.start_stage()
    z.run()
