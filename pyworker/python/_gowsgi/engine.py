"""Serving requests through the in-worker engine.

With the engine (issue 14), a worker does not get its requests from the
master: it inherits the master's listening sockets and loads the engine, a
Go library (libgowsgi-engine.so), after the fork. Each serving thread calls
gowsgi_engine_serve and stays inside it: the engine waits for connections,
reads and parses requests, and calls back into Python (app_call below) on
that same thread to run the app; the response goes back through calls into
the engine (gowsgi_start, gowsgi_write, ...). So a request never changes
thread, and no other process or thread is in between.

The library is loaded only after the fork (a Go runtime does not survive
one), with SIGTERM, SIGINT and SIGHUP blocked, so that the Go runtime's
threads never take them: the main thread unblocks them afterwards and
handles them as before. The main thread serves no requests here: a thread
inside a call into the engine runs no Python signal handler.
"""

import ctypes
import os
import signal
import sys
import threading
import traceback

from . import boot
from .handler import Handler, Starting, use_start_payload
from .wsgi import EMPTY_INPUT, ErrorStream, InputStream, check_chunk

_APP_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int)

# What app_call returns to the engine.
_DONE, _APP_ERROR, _BROKEN, _GONE = 0, 1, 2, 3

_BLOCKED = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}


class EngineError(RuntimeError):
    """EngineError says why the engine could not load or start."""


def load(path):
    """load loads the engine library with the stop signals blocked, so the
    Go runtime's threads never take them; the caller unblocks them once
    its own threads are started.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, _BLOCKED)
    try:
        lib = ctypes.CDLL(path)
    except OSError as e:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _BLOCKED)
        raise EngineError("loading the engine %s: %s" % (path, e)) from None
    # The Go runtime took SIGSEGV and SIGBUS: a C extension that crashes on
    # an engine thread would end the worker with a Go traceback and exit
    # status 2. With the default action back, the worker dies of the signal,
    # as on the proxy path, and the master says "a C extension crashed".
    # (The engine's own Go code does not recover from faults either way.)
    for sig in (signal.SIGSEGV, signal.SIGBUS):
        signal.signal(sig, signal.SIG_DFL)
    c_int, c_char_p, c_void_p = ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p
    lib.gowsgi_engine_start.argtypes = [c_char_p, c_int]
    lib.gowsgi_engine_error.argtypes = [c_void_p, c_int]
    lib.gowsgi_engine_serve.argtypes = [c_int, _APP_FN]
    lib.gowsgi_engine_stop.argtypes = []
    lib.gowsgi_engine_stop.restype = None
    lib.gowsgi_read.argtypes = [c_int, c_void_p, c_int]
    lib.gowsgi_start.argtypes = [c_int, c_char_p, c_int]
    lib.gowsgi_write.argtypes = [c_int, c_char_p, c_int]
    lib.gowsgi_respond.argtypes = [c_int, c_char_p, c_int, c_char_p, c_int]
    lib.gowsgi_sendfile.argtypes = [c_int, c_int, ctypes.c_longlong, ctypes.c_longlong]
    lib.gowsgi_sendfile.restype = ctypes.c_longlong
    lib.gowsgi_flush.argtypes = [c_int]
    lib.gowsgi_flush.restype = None
    lib.gowsgi_app_error.argtypes = [c_int, c_char_p, c_int]
    lib.gowsgi_app_error.restype = None
    # The fast path (engine/pycall.c): the engine builds the environ and
    # calls EngineHandler.environ_call; an older library has neither.
    lib.py_fast = False
    if hasattr(lib, "gowsgi_py_ready"):
        lib.gowsgi_py_ready.argtypes = []
        lib.gowsgi_engine_serve_py.argtypes = [c_int, ctypes.py_object, ctypes.py_object]
        lib.py_fast = os.environ.get("GOWSGI_ENGINE_CTYPES") != "1" and lib.gowsgi_py_ready() == 1
    # The response's builtins (pycall.c): start_response's check for the
    # usual headers and the whole answer in one call, without ctypes.
    lib.respond = lambda thread, start, body: lib.gowsgi_respond(thread, start, len(start), body, len(body))
    if lib.py_fast and hasattr(lib, "gowsgi_py_builtins"):
        builtins = ctypes.PyDLL(path, handle=lib._handle).gowsgi_py_builtins  # with the GIL
        builtins.argtypes, builtins.restype = [], ctypes.py_object
        start_payload, lib.respond = builtins()
        use_start_payload(start_payload)
    return lib


def start(lib, settings):
    """start starts the engine with its settings (JSON bytes)."""
    if lib.gowsgi_engine_start(settings, len(settings)) != 0:
        buf = ctypes.create_string_buffer(4096)
        n = lib.gowsgi_engine_error(buf, len(buf))
        raise EngineError("starting the engine: %s" % buf.raw[:n].decode("utf-8", "replace"))


class EngineInput(InputStream):
    """EngineInput is wsgi.input: the body the engine has read ahead.

    The engine copies the body into a buffer of the thread's (buffers, one
    per engine thread, kept by the EngineHandler), and only the bytes it
    wrote are copied out: a ctypes buffer made for every request, zeroed,
    then copied out whole before being sliced made POST /form/ the engine's
    weakest row (issue 14, "Noticed").
    """

    __slots__ = ("_lib", "_thread", "_buffers")

    def __init__(self, lib, thread, resp, buffers):
        InputStream.__init__(self, None, 0, resp)
        self._lib = lib
        self._thread = thread
        self._buffers = buffers

    def _next_chunk(self, want):
        if self._eof:
            return None
        n = max(min(want, 1 << 20), 1 << 16)
        buf = self._buffers.get(self._thread)
        if buf is None or len(buf) < n:
            # Grows to the largest read this thread was asked for (1 MiB at
            # most: read() of a whole body), and stays.
            buf = self._buffers[self._thread] = ctypes.create_string_buffer(n)
        got = self._lib.gowsgi_read(self._thread, buf, n)
        if got < 0:
            self.abort()
            from .wsgi import ClientDisconnected
            raise ClientDisconnected("the client disconnected while the request body was read")
        if got == 0:
            self._eof = True
            return None
        return ctypes.string_at(buf, got)


class EngineResponse(Starting):
    """EngineResponse is one response on an engine thread: the methods
    Handler.handle uses on a framed Response, done with calls into the
    engine.
    """

    __slots__ = ("lib", "thread", "rid", "start", "content_length", "remaining", "headers_sent",
                 "aborted", "broken", "input", "traceback")

    def __init__(self, lib, thread):
        self.rid = 0
        self.lib = lib
        self.thread = thread
        self.start = None
        self.content_length = None
        self.remaining = -1
        self.headers_sent = False
        self.aborted = False
        self.broken = False
        self.input = None
        self.traceback = None

    def _send_start(self):
        start = self.start
        if start is None:
            raise RuntimeError("PEP 3333: the application returned without calling "
                               "start_response()")
        if self.lib.gowsgi_start(self.thread, start, len(start)) != 0:
            self.aborted = True
        self.headers_sent = True

    def send_chunk(self, data):
        if self.aborted:
            return False
        if not self.headers_sent:
            self._send_start()
            if self.aborted:
                return False
        if self.lib.gowsgi_write(self.thread, data, len(data)) != 0:
            self.aborted = True
            return False
        self.lib.gowsgi_flush(self.thread)
        return True

    def send_sequence(self, seq):
        lib, thread = self.lib, self.thread
        if not self.headers_sent and len(seq) == 1 and type(seq[0]) is bytes:
            start, body = self.start, seq[0]
            if start is None:
                raise RuntimeError("PEP 3333: the application returned without calling "
                                   "start_response()")
            self.headers_sent = True
            if lib.respond(thread, start, body) != 0:
                self.aborted = True
            return
        if not self.headers_sent:
            self._send_start()
        for data in seq:
            if self.aborted:
                return
            if type(data) is not bytes:
                data = check_chunk(data)
            if data and lib.gowsgi_write(thread, data, len(data)) != 0:
                self.aborted = True

    def send_iterable(self, result):
        send = self.send_chunk
        for data in result:
            if type(data) is not bytes:
                data = check_chunk(data)
            if data and not send(data):
                return

    def send_file(self, wrapper):
        f = wrapper.filelike
        try:
            fd = f.fileno()
            st = os.fstat(fd)
            offset = f.tell()
        except (AttributeError, OSError, ValueError):
            return False
        import stat as _stat
        import io as _io
        if not _stat.S_ISREG(st.st_mode) or isinstance(f, _io.TextIOBase):
            return False
        size = max(st.st_size - offset, 0)
        if self.remaining >= 0:
            size = min(size, self.remaining)
        if not self.headers_sent:
            self._send_start()
        if size and not self.aborted:
            sent = self.lib.gowsgi_sendfile(self.thread, fd, offset, size)
            if sent < 0:
                self.aborted = True
            elif sent < size:
                self.broken = True  # the file shrank
        return True

    def finish(self):
        if not self.headers_sent and not self.aborted:
            self._send_start()

    # Handler.failed's hooks.
    def app_error(self, text):
        data = text.encode("utf-8", "replace")
        self.lib.gowsgi_app_error(self.thread, data, len(data))
        self.traceback = text


class EngineHandler(Handler):
    """EngineHandler runs the app for the engine's callbacks: the same
    handle as a framed thread connection's, with an EngineResponse.
    """

    def __init__(self, lib, app, control, multithread=False, multiprocess=False, max_requests=0,
                 on_max_requests=None):
        Handler.__init__(self, None, app, multithread, multiprocess)
        self.lib = lib
        self.control = control  # wsgi.errors goes to the master as Log frames on it
        self.callback = _APP_FN(self.app_call)
        self.environ_fn = self.environ_call  # one bound method, alive while the engine calls it
        self.max_requests = max_requests
        self.on_max_requests = on_max_requests
        self.served = 0
        self.count_lock = threading.Lock()
        # The body buffer of each engine thread (EngineInput): only thread i
        # uses buffers[i], so the dict needs no lock.
        self.buffers = {}

    def app_call(self, thread, env_ptr, n, flags):
        """app_call is the engine's ctypes callback: run one request on
        this thread, its environ encoded at env_ptr.
        """
        it = iter(ctypes.string_at(env_ptr, n).decode("latin-1").split("\x00"))
        environ = dict(zip(it, it))
        environ.update(self.base)
        return self.environ_call(thread, environ, flags)

    def environ_call(self, thread, environ, flags):
        """environ_call runs one request on this thread, its environ built
        (by app_call, or by the engine itself: pycall.c) and returns the
        callback's code.
        """
        try:
            self.busy = True
            resp = EngineResponse(self.lib, thread)
            if flags & 1:
                environ["wsgi.input"] = resp.input = EngineInput(self.lib, thread, resp, self.buffers)
            else:
                environ["wsgi.input"] = EMPTY_INPUT
            errors = environ["wsgi.errors"] = ErrorStream(self.control, 0)
            try:
                self.run(environ, resp)
            finally:
                if errors._pending:
                    errors.flush()
                if self.max_requests:
                    self.count()
            if resp.traceback is not None:
                return _APP_ERROR
            if resp.aborted:
                return _GONE
            if resp.broken:
                return _BROKEN
            return _DONE
        except BaseException:
            try:
                boot.say("gowsgi: engine thread %d:" % thread, traceback.format_exc())
            except BaseException:
                pass
            return _BROKEN
        finally:
            self.busy = False

    def count(self):
        """count counts a request toward max-requests; the one that reaches
        it retires the worker (on_max_requests).
        """
        with self.count_lock:
            self.served += 1
            last = self.served == self.max_requests
        if last and self.on_max_requests is not None:
            self.on_max_requests()

    def failed(self, resp, environ):
        if resp.aborted:
            return
        text = traceback.format_exc()
        if not resp.headers_sent:
            resp.app_error(text)
            return
        boot.say("gowsgi: error after the response to %s %s started:"
                 % (environ.get("REQUEST_METHOD", "?"),
                    environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")), text)
        resp.broken = True

    def log(self, rid, text):
        sys.stderr.write(text if text.endswith("\n") else text + "\n")


def warm_up(app, base, payload):
    """warm_up runs the master's warm-up request (dev mode: GET /, which
    imports the URLconf and its views) before the worker's engine starts,
    so that no connection waits on it (nor, through the balancing, on this
    worker), its answer dropped; a failure is logged, and the worker serves
    anyway, as on the proxy path.
    """
    it = iter(payload.split("\x00"))
    environ = dict(zip(it, it))
    environ.update(base)
    environ["wsgi.input"] = EMPTY_INPUT
    environ["wsgi.errors"] = sys.stderr
    result = None
    try:
        result = app(environ, lambda status, headers, exc_info=None: (lambda data: None))
        for _ in result:
            pass
    except Exception:
        boot.say("gowsgi: the warm-up request failed:", traceback.format_exc())
    finally:
        if result is not None and hasattr(result, "close"):
            try:
                result.close()
            except Exception:
                boot.say("gowsgi: closing the warm-up response:", traceback.format_exc())


def serve_thread(lib, handler, i):
    """serve_thread runs engine thread i until the engine stops: with the
    engine calling handler.environ_call directly where it can (the
    handler holds the references it is given), else through the ctypes
    callback.
    """
    if getattr(lib, "py_fast", False):
        return lib.gowsgi_engine_serve_py(i, handler.environ_fn, handler.base)
    return lib.gowsgi_engine_serve(i, handler.callback)
