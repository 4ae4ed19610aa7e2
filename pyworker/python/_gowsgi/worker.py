"""A worker process: imports the app once and serves its requests.

A worker opens a control connection to the master and one connection per
thread; a thread connection carries one request at a time (the master may
queue the next one behind it, see Connection.keep_for_later), so a request
never hops between Python threads. Thread 0 is served by the main thread
(no thread switch at all when threads == 1); threads 1..n-1 are daemon
threads; another daemon thread reads the control connection:

    Stop   finish the requests in flight, then exit 0 (Go sends it only when
           none is in flight). SIGTERM does the same; SIGINT is ignored (^C
           is the master's to handle).
    Dump   answer Stack with the Python stack of one serving thread, for the
           master's harakiri log.
    Notify files changed (gowsgi dev): passed to Django's autoreload
           file_changed signal, whose receivers reset the template loaders'
           caches (and translations for .mo files), as runserver does.
    EOF    the master is gone: exit 1 at once. EOF on a thread connection
           means the same.

See boot.py for the exit codes and the configuration.
"""

import os
import signal
import sys
import threading
import traceback

from . import boot, goruntime
from .handler import Handler
from .wsgi import base_environ
from .protocol import (
    DUMP, NOTIFY, READY, RETIRE, STACK, STOP, ConnectionClosed, ProtocolError, decode_json,
)


class Worker:
    """Worker owns the connections and serving threads of this process."""

    def __init__(self, config, control):
        self.config = config
        self.control = control
        self.handlers = []
        self.idents = []   # thread ident of each serving thread, by index
        self.stopping = False

    def stop(self):
        """stop exits now if no request is in flight, else once the last
        one is done (see after_request).
        """
        self.stopping = True
        for h in self.handlers:
            if h.busy:
                return
        boot.exit_process(boot.EXIT_OK)

    def after_request(self):
        if self.stopping:
            self.stop()

    def on_sigterm(self, signum, frame):
        self.stop()

    def open_threads(self, app):
        """open_threads connects one thread connection per thread."""
        c = self.config
        for i in range(c.threads):
            conn = boot.connect(c, {"role": "thread", "token": c.token, "worker": c.worker,
                                    "generation": c.generation, "thread": i,
                                    "pid": os.getpid()})
            self.handlers.append(Handler(conn, app, multithread=c.threads > 1,
                                         multiprocess=c.processes > 1))
            self.idents.append(None)

    def serve(self, i):
        """serve handles the requests of thread connection i until the end."""
        self.idents[i] = threading.get_ident()
        try:
            self.handlers[i].serve_forever(self.after_request)
        except (ConnectionClosed, OSError):
            boot.exit_process(boot.EXIT_OK if self.stopping else boot.EXIT_MASTER_GONE)
        except BaseException as e:
            boot.say("gowsgi: worker %d thread %d: %s" % (self.config.worker, i, _describe(e)))
            boot.exit_process(boot.EXIT_MASTER_GONE)

    def read_control(self):
        """read_control runs in a daemon thread: it acts on Stop and Dump
        and exits the process when the master goes away.
        """
        conn = self.control
        try:
            while True:
                t, flags, rid, payload = conn.read_frame()
                if t == STOP:
                    self.stop()
                elif t == DUMP:
                    i = decode_json(payload).get("thread", 0)
                    conn.send_json(STACK, {"thread": i, "stack": self.stack(i)}, rid)
                elif t == NOTIFY:
                    notify_changed(decode_json(payload).get("changed") or [])
        except (ConnectionClosed, OSError):
            boot.exit_process(boot.EXIT_MASTER_GONE)
        except BaseException as e:
            boot.say("gowsgi: worker %d control connection: %s" % (self.config.worker, _describe(e)))
            boot.exit_process(boot.EXIT_MASTER_GONE)

    def stack(self, i):
        """stack formats the current Python stack of serving thread i."""
        if not isinstance(i, int) or not 0 <= i < len(self.idents):
            return "no thread %r in this worker (it has %d)\n" % (i, len(self.idents))
        frame = sys._current_frames().get(self.idents[i])
        if frame is None:
            return "thread %d is not running\n" % i
        return "".join(traceback.format_stack(frame))


def notify_changed(paths):
    """notify_changed tells Django, if the app uses it, that files changed."""
    autoreload = sys.modules.get("django.utils.autoreload")
    if autoreload is None:
        return
    from pathlib import Path
    for p in paths:
        try:
            autoreload.file_changed.send(sender=None, file_path=Path(p))
        except Exception:
            boot.say("gowsgi: passing the change of %s to Django:" % p, traceback.format_exc())


def import_urlconf(config):
    """import_urlconf imports a Django project's URLconf in the worker,
    before it says it is ready, where the app's first request would:
    that request then does not wait ~20 ms for it (a new generation's
    first requests during a HUP, the longest of them), and the old
    generation serves meanwhile. It is done after the fork, as the first
    request did, not in the zygote: a urls.py may open a database
    connection, which workers must not share. A failure is logged and left
    to the requests, which raise it again (Django does not cache it).
    """
    if config.eager_urlconf:
        return  # dev mode: imported with the app, a failure is the error page
    try:
        boot.import_urlconf()
    except Exception:
        boot.say("gowsgi: worker %d: importing the Django URLconf (requests will fail the "
                 "same way):" % config.worker, traceback.format_exc())


def _describe(e):
    if isinstance(e, ProtocolError):
        return "protocol error: %s (is the master the same gowsgi version?)" % e
    return "".join(traceback.format_exception(type(e), e, e.__traceback__))


def run(config, app=None, parent_pid=None):
    """run is the worker's main: connect, import the app, serve forever.

    A zygote passes the already imported app (preload "app") and its own pid
    as parent_pid, so a child forked just as the zygote died exits at once.
    It never returns.
    """
    control = boot.connect(config, {"role": "control", "token": config.token,
                                    "worker": config.worker, "generation": config.generation,
                                    "pid": os.getpid()})
    boot.set_pdeathsig()
    if parent_pid is not None and os.getppid() != parent_pid:
        boot.exit_process(boot.EXIT_MASTER_GONE)
    w = Worker(config, control)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, w.on_sigterm)
    if app is None:
        try:
            boot.prepare(config)
            app = boot.load_app(config)
        except BaseException as exc:
            boot.fail_boot(control, exc, config)
        if config.engine:
            go = goruntime.foreign_go([config.engine.get("lib")])
            if go:
                # The engine would be a second Go runtime (goruntime.py):
                # say so, load nothing, and wait for the master to serve
                # through the proxy path with other workers.
                control.send_json(READY, {"pid": os.getpid(), "python": sys.version,
                                          "threads": config.threads, "app": config.app_spec,
                                          "go_runtime": go})
                w.read_control()
                return
    import_urlconf(config)
    if config.engine:
        run_engine(config, app, w)
        return
    w.open_threads(app)
    ready = {"pid": os.getpid(), "python": sys.version,
             "threads": config.threads, "app": config.app_spec}
    if config.report_files:
        ready["files"] = boot.imported_files()
    control.send_json(READY, ready)
    threading.Thread(target=w.read_control, name="gowsgi-control", daemon=True).start()
    for i in range(1, config.threads):
        threading.Thread(target=w.serve, args=(i,), name="gowsgi-thread-%d" % i,
                         daemon=True).start()
    w.serve(0)


class EngineWorker(Worker):
    """EngineWorker is a worker whose threads serve through the engine
    (engine.py): Stop and SIGTERM stop the engine, which finishes the
    requests in flight, and the process exits once its threads are out.
    """

    def __init__(self, config, control, lib):
        Worker.__init__(self, config, control)
        self.lib = lib
        self.threads = []

    def stop(self):
        if self.stopping:
            return
        self.stopping = True
        self.lib.gowsgi_engine_stop()
        threading.Thread(target=self._exit_when_done, name="gowsgi-stop", daemon=True).start()

    def retire_max_requests(self):
        """retire_max_requests stops taking connections and asks the master
        for a replacement (Retire); the process exits once its requests are
        done, as after Stop.
        """
        self.control.send_json(RETIRE, {"reason": "max-requests"})
        self.stop()

    def _exit_when_done(self):
        for t in self.threads:
            t.join()
        boot.exit_process(boot.EXIT_OK)

    def serve_engine(self, handler, i):
        self.idents[i] = threading.get_ident()
        from . import engine
        try:
            if engine.serve_thread(self.lib, handler, i) != 0:
                boot.say("gowsgi: worker %d thread %d: the engine refused the thread"
                         % (self.config.worker, i))
                boot.exit_process(boot.EXIT_MASTER_GONE)
        except BaseException as e:
            boot.say("gowsgi: worker %d thread %d: %s" % (self.config.worker, i, _describe(e)))
            boot.exit_process(boot.EXIT_MASTER_GONE)


def run_engine(config, app, w):
    """run_engine serves the worker's connections through the engine: load
    it (with the stop signals blocked), start its threads, unblock the
    signals on this, the main thread, and read the control connection here.
    """
    import json
    from . import engine
    c = config
    try:
        lib = engine.load(c.engine["lib"])
        if c.engine.get("warm_up"):
            engine.warm_up(app, base_environ(c.threads > 1, c.processes > 1), c.engine["warm_up"])
        settings = dict(c.engine.get("settings") or {})
        settings.update(pid=os.getpid(), generation=c.generation, threads=c.threads,
                        worker=c.engine.get("row", -1))
        engine.start(lib, json.dumps(settings).encode())
    except engine.EngineError as e:
        boot.die("gowsgi: worker %d: %s; set engine = off to serve through the master"
                 % (c.worker, e))
    ew = EngineWorker(c, w.control, lib)
    signal.signal(signal.SIGTERM, ew.on_sigterm)
    handler = engine.EngineHandler(lib, app, w.control, multithread=c.threads > 1,
                                   multiprocess=c.processes > 1,
                                   max_requests=c.engine.get("max_requests", 0),
                                   on_max_requests=ew.retire_max_requests)
    ew.handlers.append(handler)
    for i in range(c.threads):
        ew.idents.append(None)
        t = threading.Thread(target=ew.serve_engine, args=(handler, i),
                             name="gowsgi-engine-%d" % i, daemon=True)
        ew.threads.append(t)
        t.start()
    signal.pthread_sigmask(signal.SIG_UNBLOCK, engine._BLOCKED)
    ready = {"pid": os.getpid(), "python": sys.version, "threads": c.threads,
             "app": c.app_spec, "engine": True}
    if c.report_files:
        ready["files"] = boot.imported_files()
    w.control.send_json(READY, ready)
    ew.read_control()
