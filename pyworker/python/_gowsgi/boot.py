"""Entry point of every Python process gowsgi starts, and loading the app.

The Go master starts the user's own interpreter (CPython 3.9 to 3.13, no
third-party packages needed) as

    python -u -c "import sys; sys.path.insert(1, RUNTIME_DIR); from _gowsgi.boot import main; main()"

with the working directory set to the app's chdir and the configuration as
JSON in the environment variable GOWSGI_CONFIG, which main() removes from
os.environ before any app code is imported (the app and its subprocesses
never see it):

    {"mode": "worker" | "zygote",
     "socket": "/abs/master.sock",      # the master's unix socket
     "token": "hex",                    # identifies this process to the master
     "worker": 3, "generation": 1,      # ids, echoed in Hello
     "chdir": "/abs/dir",               # also sys.path[0]
     "pythonpath": ["/abs/extra"],      # optional, inserted after chdir
     "app": {"module": "mysite.wsgi", "callable": "application"},
          # or {"module": "mysite.wsgi:application"}
          # or {"wsgi_file": "/abs/app.py", "callable": "application"}
     "threads": 2, "processes": 2,      # wsgi.multithread / wsgi.multiprocess
     "preload": "none" | "site" | "app",  # zygote only
     "django_settings": "mysite.settings"}  # optional

"worker" runs worker.run (serve requests), "zygote" runs zygote.run (preload,
then fork workers on request). Unknown keys are ignored so an older runtime
accepts a newer master's config.

Exit codes, classified by pyworker/exit.go so that the master never respawns
a broken app in a hot loop:

    0  stopped: a Stop frame or SIGTERM, with no request in flight.
    1  the master went away (EOF on a connection), or a crash.
    3  EXIT_CANNOT_START: the runtime itself could not start: GOWSGI_CONFIG
       missing or invalid, or the master's socket cannot be reached. One
       line on stderr says why.
    4  EXIT_APP_LOAD: the app failed to import (SyntaxError, ImportError, an
       exception at import, the callable missing or not callable). A
       BootError frame carried the details to the master and the traceback
       was printed on stderr.
"""

import gc
import json
import linecache
import os
import re
import signal
import sys
import sysconfig
import time
import traceback

from . import protocol
from .protocol import BOOT_ERROR, HELLO

EXIT_OK = 0
EXIT_MASTER_GONE = 1
EXIT_CANNOT_START = 3
EXIT_APP_LOAD = 4

DEFAULT_CALLABLE = "application"

# Lines of source shown around the failing line in a BootError.
SOURCE_CONTEXT = 2

RUNTIME_DIR = os.path.dirname(os.path.abspath(__file__))


class ConfigError(ValueError):
    """ConfigError is raised for a GOWSGI_CONFIG that cannot be used."""


class Config:
    """Config is the decoded GOWSGI_CONFIG (see the module doc)."""

    __slots__ = ("mode", "socket", "token", "worker", "generation", "chdir",
                 "pythonpath", "module", "wsgi_file", "callable", "threads",
                 "processes", "preload", "django_settings", "eager_urlconf", "report_files",
                 "engine", "log_date")

    @classmethod
    def from_json(cls, raw):
        """from_json decodes and checks a GOWSGI_CONFIG value."""
        if not raw:
            raise ConfigError("GOWSGI_CONFIG is not set; this module is started by gowsgi")
        try:
            d = json.loads(raw)
        except ValueError as e:
            raise ConfigError("GOWSGI_CONFIG is not JSON: %s" % e) from None
        if not isinstance(d, dict):
            raise ConfigError("GOWSGI_CONFIG is not a JSON object")
        c = cls()
        c.mode = _get(d, "mode", str, "worker")
        if c.mode not in ("worker", "zygote"):
            raise ConfigError('"mode" is %r, want "worker" or "zygote"' % c.mode)
        c.socket = _get(d, "socket", str)
        c.token = _get(d, "token", str)
        c.worker = _get(d, "worker", int, 0)
        c.generation = _get(d, "generation", int, 0)
        c.chdir = os.path.abspath(_get(d, "chdir", str, "") or os.getcwd())
        c.pythonpath = _get(d, "pythonpath", list, [])
        if not all(isinstance(p, str) for p in c.pythonpath):
            raise ConfigError('"pythonpath" must be a list of strings')
        c.pythonpath = [os.path.abspath(p) for p in c.pythonpath]
        c.threads = _get(d, "threads", int, 1)
        c.processes = _get(d, "processes", int, 1)
        if c.threads < 1:
            raise ConfigError('"threads" is %d, want at least 1' % c.threads)
        c.preload = _get(d, "preload", str, "none")
        if c.preload not in ("none", "site", "app"):
            raise ConfigError('"preload" is %r, want "none", "site" or "app"' % c.preload)
        c.django_settings = _get(d, "django_settings", str, "")
        c.eager_urlconf = _get(d, "eager_urlconf", bool, False)
        c.report_files = _get(d, "report_files", bool, False)
        # log_date: logdate's strftime format, for say().
        c.log_date = _get(d, "log_date", str, "")
        # engine: {"lib": path, "settings": {...}} when the worker serves its
        # own connections (engine.py); absent on the proxy path.
        c.engine = _get(d, "engine", dict, None)
        app = _get(d, "app", dict)
        c.module = _get(app, "module", str, "", where="app.")
        c.wsgi_file = _get(app, "wsgi_file", str, "", where="app.")
        c.callable = _get(app, "callable", str, "", where="app.")
        if bool(c.module) == bool(c.wsgi_file):
            raise ConfigError('"app" needs exactly one of "module" and "wsgi_file"')
        if ":" in c.module:
            c.module, _, name = c.module.partition(":")
            c.callable = c.callable or name
        c.callable = c.callable or DEFAULT_CALLABLE
        return c

    def replace(self, **changes):
        """replace returns a copy of the config with some fields changed."""
        c = Config()
        for name in self.__slots__:
            setattr(c, name, changes.get(name, getattr(self, name)))
        return c

    @property
    def app_spec(self):
        """app_spec names the app as the user would: "mysite.wsgi:application"."""
        return "%s:%s" % (self.module or self.wsgi_file, self.callable)


_MISSING = object()


def _get(d, key, typ, default=_MISSING, where=""):
    v = d.get(key, _MISSING)
    if v is _MISSING or v is None:
        if default is _MISSING:
            raise ConfigError('"%s%s" is missing' % (where, key))
        return default
    if not isinstance(v, typ) or (typ is int and isinstance(v, bool)):
        raise ConfigError('"%s%s" is %r, want a %s' % (where, key, v, typ.__name__))
    return v


def main():
    """main starts a worker or a zygote as GOWSGI_CONFIG says."""
    raw = os.environ.pop("GOWSGI_CONFIG", None)
    try:
        config = Config.from_json(raw)
    except ConfigError as e:
        die("gowsgi: cannot start the python runtime: %s" % e)
    global _log_date
    _log_date = config.log_date
    if config.mode == "zygote":
        from . import zygote
        zygote.run(config)
    else:
        from . import worker
        worker.run(config)


# _log_date is logdate's strftime format (Config.log_date): say() dates
# gowsgi's own messages with it, as the master and the engine date theirs.
_log_date = ""


def say(message, detail=""):
    """say writes one of gowsgi's own messages, a line, on stderr, dated
    when logdate is set; detail (a traceback) follows it as it is, as an
    app's own output does."""
    if _log_date:
        message = time.strftime(_log_date, time.localtime()) + " - " + message
    sys.stderr.write(message + "\n" + detail)


def die(message, code=EXIT_CANNOT_START):
    """die prints a one-line message on stderr and exits the process."""
    say(message)
    exit_process(code)


def exit_process(code):
    """exit_process flushes stdio and ends the process at once.

    os._exit, not sys.exit: daemon threads may be blocked in recv, and a
    half-imported app's atexit handlers must not run (or hang) here.
    """
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except Exception:
            pass
    os._exit(code)


def connect(config, hello):
    """connect opens a connection to the master and sends Hello; it exits
    with EXIT_CANNOT_START when the master cannot be reached.
    """
    try:
        conn = protocol.Connection.connect(config.socket)
        conn.send_json(HELLO, hello)
    except OSError as e:
        die("gowsgi: cannot connect to the master at %s: %s (has the gowsgi master "
            "exited?)" % (config.socket, e.strerror or e))
    return conn


def set_pdeathsig():
    """set_pdeathsig asks Linux to SIGKILL this process when its parent dies
    (best effort: elsewhere, or without ctypes, it does nothing).
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except Exception:
        pass


def prepare(config):
    """prepare sets the working directory, sys.path and the Django settings
    environment variable for importing the app. It is idempotent.
    """
    os.chdir(config.chdir)
    path = [config.chdir] + [p for p in config.pythonpath]
    if sys.path and sys.path[0] in ("", "."):
        del sys.path[0]  # python -c puts the cwd there; chdir replaces it
    for i, p in enumerate(path):
        if i < len(sys.path) and sys.path[i] == p:
            continue
        if p in sys.path:
            sys.path.remove(p)
        sys.path.insert(i, p)
    if config.django_settings:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", config.django_settings)


class AppNotFound(AttributeError):
    """AppNotFound is raised when the module has no such callable."""


class AppNotCallable(TypeError):
    """AppNotCallable is raised when the named object is not callable."""


def load_app(config):
    """load_app imports the app's module (or runs its wsgi file) and returns
    the WSGI callable. Every failure is left to propagate; fail_boot reports it.

    The cyclic garbage collector is off meanwhile: an import makes objects,
    not garbage, and collecting between imports only walks them (measured on
    a `wagtail start` site in a dev worker: 0.27 s to import against 0.33 to
    0.42 s with it on).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _load_app(config)
    finally:
        if was_enabled:
            gc.enable()


def _load_app(config):
    if config.wsgi_file:
        module = _load_file(config.wsgi_file)
    else:
        # __import__, not importlib.import_module: the import system then
        # removes its own frames from the traceback the user sees.
        __import__(config.module)
        module = sys.modules[config.module]
    # "create_app()" names an app factory, which uWSGI calls with no
    # arguments to get the WSGI callable (module = app:create_app()).
    name, factory = config.callable, config.callable.endswith("()")
    if factory:
        name = name[:-2]
    obj = module
    for part in name.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            e = AppNotFound("%s has no attribute %r: name the WSGI callable with the "
                            "callable option (module:callable)"
                            % (config.module or config.wsgi_file, name))
            e.filename = getattr(module, "__file__", None)
            raise e from None
    if factory:
        if not callable(obj):
            e = AppNotCallable("%s is a %s, not a factory to call"
                               % (config.app_spec, type(obj).__name__))
            e.filename = getattr(module, "__file__", None)
            raise e
        obj = obj()
    if not callable(obj):
        e = AppNotCallable("%s is a %s, not a WSGI callable"
                           % (config.app_spec, type(obj).__name__))
        e.filename = getattr(module, "__file__", None)
        raise e
    if config.eager_urlconf:
        import_urlconf()
    return obj


def import_urlconf():
    """import_urlconf imports a Django project's URLconf, and with it every
    view module, at boot instead of at the first request. gowsgi dev asks
    for it so a SyntaxError in views.py is an import failure (the error
    page, the old generation untouched) rather than a 500 on every request.
    """
    django = sys.modules.get("django")
    if django is None:
        return
    from django.conf import settings
    if not settings.configured or not getattr(settings, "ROOT_URLCONF", None):
        return
    from django.urls import get_resolver
    get_resolver().url_patterns  # noqa: B018 - the import is the point


def _load_file(path):
    """_load_file runs a wsgi file (any extension, like mod_wsgi's .wsgi) as
    a module of its own.
    """
    import importlib.machinery
    import importlib.util
    stem = os.path.splitext(os.path.basename(path))[0]
    name = "_gowsgi_wsgi_file_" + re.sub(r"\W", "_", stem)
    loader = importlib.machinery.SourceFileLoader(name, path)
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def fail_boot(conn, exc, config):
    """fail_boot reports an app that failed to import: a BootError frame to
    the master, the traceback on stderr, and exit EXIT_APP_LOAD.
    """
    report = boot_error(exc, config)
    sys.stderr.write(report["traceback"])
    try:
        conn.send_json(BOOT_ERROR, report)
    except OSError:
        pass
    exit_process(EXIT_APP_LOAD)


def boot_error(exc, config):
    """boot_error describes exc as the JSON of a BootError frame."""
    etype = type(exc)
    name = etype.__qualname__
    if etype.__module__ not in ("builtins", "__main__"):
        name = "%s.%s" % (etype.__module__, name)
    filename, lineno = None, None
    if isinstance(exc, SyntaxError) and exc.filename:
        filename, lineno = exc.filename, exc.lineno
    else:
        frame = _user_frame(exc, config)
        if frame is not None:
            filename, lineno = frame.filename, frame.lineno
        elif isinstance(getattr(exc, "filename", None), str):
            filename = exc.filename
    if filename and not filename.startswith("<"):
        filename = os.path.abspath(filename)
    return {
        "type": name,
        "message": str(exc),
        "traceback": format_traceback(exc),
        "filename": filename,
        "lineno": lineno,
        "source": source_lines(filename, lineno),
    }


def is_under(path, dirs):
    for d in dirs:
        if d and (path == d or path.startswith(d.rstrip(os.sep) + os.sep)):
            return True
    return False


def imported_files():
    """imported_files lists the source files of the imported modules that
    are neither the standard library, nor site-packages, nor the runtime:
    the project's own code and anything installed in editable mode. gowsgi
    dev watches them (Ready's "files") so a change to any of them reloads.
    """
    skip = site_dirs() + [sysconfig.get_path("stdlib"), sysconfig.get_path("platstdlib"), RUNTIME_DIR]
    out = set()
    for mod in list(sys.modules.values()):
        fn = getattr(mod, "__file__", None)
        if not fn or not isinstance(fn, str):
            continue
        fn = os.path.abspath(fn)
        if not is_under(fn, skip):
            out.add(fn)
    return sorted(out)


def site_dirs():
    dirs = set()
    for key in ("purelib", "platlib"):
        try:
            dirs.add(sysconfig.get_path(key))
        except KeyError:
            pass
    try:
        import site
        dirs.update(site.getsitepackages())
        dirs.add(site.getusersitepackages())
    except Exception:
        pass
    return sorted(d for d in dirs if d)


def _is_runtime(filename):
    return filename.startswith("<frozen importlib") or is_under(filename, [RUNTIME_DIR])


def _user_frame(exc, config):
    """_user_frame returns the innermost traceback frame in the user's code
    (under chdir or pythonpath, or the wsgi file, but not site-packages),
    else the innermost frame that is not the runtime's, else None.
    """
    project = [os.path.abspath(p) for p in [config.chdir] + list(config.pythonpath)]
    libs = site_dirs()
    best = fallback = None
    for frame in traceback.extract_tb(exc.__traceback__):
        fn = frame.filename
        if fn.startswith("<") or _is_runtime(fn):
            continue
        fallback = frame
        absfn = os.path.abspath(fn)
        if absfn == config.wsgi_file or (is_under(absfn, project)
                                         and not is_under(absfn, libs)):
            best = frame
    return best or fallback


def source_lines(filename, lineno):
    """source_lines returns the lines around lineno for a BootError."""
    if not filename or not lineno:
        return []
    lines = linecache.getlines(filename)
    first = max(lineno - SOURCE_CONTEXT, 1)
    last = min(lineno + SOURCE_CONTEXT, len(lines))
    return [{"lineno": n, "line": lines[n - 1].rstrip("\r\n"), "current": n == lineno}
            for n in range(first, last + 1)]


def format_traceback(exc):
    """format_traceback formats exc with its chain, leaving out the frames of
    this runtime and of importlib, which say nothing about the user's code.
    """
    te = traceback.TracebackException(type(exc), exc, exc.__traceback__)
    seen = set()
    todo = [te]
    while todo:
        t = todo.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        frames = [f for f in t.stack if not _is_runtime(f.filename)]
        while frames and frames[0].filename == "<string>":
            del frames[0]  # python -c "...main()" that started the runtime
        t.stack = traceback.StackSummary.from_list(frames)
        todo.extend(x for x in (t.__cause__, t.__context__) if x is not None)
    return "".join(te.format())
