"""Serving requests on one thread connection, from the gateway's side.

The Go master parses HTTP and sends each request as a Request frame holding
the CGI environ; Handler completes the environ, calls the app, and streams
the response back as Start, RespBody... End frames on the same connection
(or AppError when the app fails before anything was sent). The flow is the
one of wsgiref.handlers: build environ, call app, stream, and *always* close
the iterable.

Handler.handle is the hot path, benchmarked against uWSGI: the common
response (a list of one bytes object, or a Django HttpResponse) goes out as
Start + RespBody + End in a single sendmsg call, without joining buffers; a FileWrapper around a
regular file goes out with os.sendfile. Between the second and later chunks
of a streamed body, a non-blocking look at the connection notices an Abort
(the client went away) and stops the iteration.
"""

import errno
import io
import os
import stat
import traceback

from . import protocol
from .protocol import (
    ABORT, APP_ERROR, BODY, END, FLAG_BODY, FLAG_ERROR, HEADER, LOG,
    MAX_PAYLOAD, REQUEST, RESP_BODY, START,
)
from .wsgi import (
    EMPTY_INPUT, ErrorStream, FileWrapper, InputStream, base_environ,
    check_chunk, check_start,
)


# _start_payload, once the engine gives it (engine.load), is check_start in
# C for the usual responses (engine/pycall.c): it answers None for any it
# does not check itself, and check_start then does.
_start_payload = None


def use_start_payload(fn):
    """use_start_payload makes start_response try fn before check_start."""
    global _start_payload
    _start_payload = fn


class Starting:
    """Starting is start_response and write() (PEP 3333) for a response
    class that has the slots start, content_length, remaining and
    headers_sent and a send_chunk method: the framed Response here, the
    engine's EngineResponse.
    """

    __slots__ = ()

    def start_response(self, status, headers, exc_info=None):
        if exc_info:
            try:
                if self.headers_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None  # avoid a reference cycle
        elif self.start is not None:
            raise RuntimeError("PEP 3333: start_response() was called a second time without "
                               "exc_info; call it once, or again only with exc_info while "
                               "handling an error")
        checked = _start_payload(status, headers) if _start_payload is not None else None
        self.start, length = checked if checked is not None else check_start(status, headers)
        self.content_length = length
        self.remaining = -1 if length is None else length
        return self.write

    def write(self, data):
        """write is the callable returned by start_response (PEP 3333)."""
        if self.start is None:
            raise RuntimeError("PEP 3333: write() called before start_response()")
        if type(data) is not bytes:
            data = check_chunk(data)
        if data:
            self.send_chunk(data)


class Response(Starting):
    """Response is the state of one response: start_response, write() and
    the sending of frames.
    """

    __slots__ = ("conn", "rid", "start", "content_length", "remaining",
                 "headers_sent", "aborted", "broken", "chunks", "input")

    def __init__(self, conn, rid):
        self.conn = conn
        self.rid = rid
        self.start = None          # Start payload, once start_response was called
        self.content_length = None
        self.remaining = -1        # bytes Content-Length still allows; -1: no limit
        self.headers_sent = False
        self.aborted = False       # Go sent Abort: the client is gone
        self.broken = False        # sendfile padded a frame: the file shrank
        self.chunks = 0            # non-empty body chunks sent
        self.input = None          # the InputStream, if the request has a body

    def _start_frames(self, bufs):
        """_start_frames appends the Start frame to bufs; the caller sets
        headers_sent once they are sent.
        """
        start = self.start
        if start is None:
            raise RuntimeError("PEP 3333: the application returned without calling "
                               "start_response()")
        bufs.append(HEADER.pack(START, 0, 0, self.rid, len(start)))
        bufs.append(start)

    def _body_frames(self, bufs, data):
        """_body_frames appends RespBody frames for data to bufs, within
        Content-Length and MAX_PAYLOAD; it returns False once Content-Length
        is reached.
        """
        n = len(data)
        remaining = self.remaining
        if remaining >= 0:
            if n >= remaining:
                if remaining < n:
                    data = memoryview(data)[:remaining]
                n = remaining
            self.remaining = remaining - n
        rid = self.rid
        if n <= MAX_PAYLOAD:
            if n:
                bufs.append(HEADER.pack(RESP_BODY, 0, 0, rid, n))
                bufs.append(data)
        else:
            view = memoryview(data)
            for i in range(0, n, MAX_PAYLOAD):
                part = view[i:i + MAX_PAYLOAD]
                bufs.append(HEADER.pack(RESP_BODY, 0, 0, rid, len(part)))
                bufs.append(part)
        return self.remaining != 0

    def send_chunk(self, data):
        """send_chunk sends one non-empty body chunk (headers first if not
        sent yet); it returns False when the response must not go on:
        Content-Length reached or the client gone.
        """
        if self.aborted:
            return False
        bufs = []
        if not self.headers_sent:
            self._start_frames(bufs)
        more = self._body_frames(bufs, data)
        conn = self.conn
        with conn.send_lock:
            conn.sendmsg_all(bufs)
        self.headers_sent = True
        self.chunks += 1
        if self.chunks > 1 and self.poll_abort():
            return False
        return more

    def poll_abort(self):
        """poll_abort reads the frames Go already sent without blocking and
        says whether one was an Abort of this request.
        """
        conn, rid = self.conn, self.rid
        while True:
            frame = conn.poll_frame()
            if frame is None:
                return self.aborted
            t, flags, frid, payload = frame
            if frid != rid:
                if conn.keep_for_later(frame):
                    continue
                if t == BODY or t == ABORT:
                    continue  # a leftover of an earlier request
            elif t == ABORT:
                self.aborted = True
                if self.input is not None:
                    self.input.abort()
                continue
            elif t == BODY:
                if self.input is not None:
                    self.input.feed(payload, flags)
                continue
            raise protocol.ProtocolError("unexpected %s frame while sending the response to "
                                         "request %d" % (protocol.type_name(t), rid))

    def send_sequence(self, seq):
        """send_sequence sends a list or tuple body and End with one sendmsg
        call: the common case of a list of one bytes object is one system
        call for the whole response.
        """
        bufs = []
        if not self.headers_sent:
            self._start_frames(bufs)
        for data in seq:
            if type(data) is not bytes:
                data = check_chunk(data)
            if data and not self._body_frames(bufs, data):
                break
        bufs.append(HEADER.pack(END, 0, 0, self.rid, 0))
        conn = self.conn
        with conn.send_lock:
            conn.sendmsg_all(bufs)
        self.headers_sent = True

    def send_iterable(self, result):
        """send_iterable streams any iterable, checking for an Abort after
        the second and later chunks.
        """
        send = self.send_chunk
        for data in result:
            if type(data) is not bytes:
                data = check_chunk(data)
            if data and not send(data):
                return

    def send_file(self, wrapper):
        """send_file sends a FileWrapper around a regular file with
        os.sendfile and returns True, or returns False when the file-like
        has no usable file descriptor.
        """
        f = wrapper.filelike
        try:
            fd = f.fileno()
            st = os.fstat(fd)
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
            return False
        if not stat.S_ISREG(st.st_mode) or isinstance(f, io.TextIOBase):
            return False
        try:
            offset = f.tell()
        except (AttributeError, OSError, ValueError):
            offset = os.lseek(fd, 0, os.SEEK_CUR)
        size = max(st.st_size - offset, 0)
        if self.remaining >= 0:
            size = min(size, self.remaining)
        conn = self.conn
        sock_fd = conn.fileno
        while size > 0 and not self.aborted:
            count = min(size, MAX_PAYLOAD)
            bufs = []
            if not self.headers_sent:
                self._start_frames(bufs)
            bufs.append(HEADER.pack(RESP_BODY, 0, 0, self.rid, count))
            with conn.send_lock:
                conn.sendmsg_all(bufs)
                self.headers_sent = True
                sent = _copy_file(sock_fd, conn.sock, fd, offset, count)
            if sent < count:
                self.broken = True  # the file shrank; the frame was padded
                return True
            offset += count
            size -= count
            if self.remaining >= 0:
                self.remaining -= count
            self.chunks += 1
            if self.chunks > 1 and self.poll_abort():
                return True
        return True

    def finish(self):
        """finish sends End, preceded by Start if no body was sent.

        A body shorter than its Content-Length is not flagged here: Go
        knows the method and status (HEAD, 304) and counts the bytes.
        """
        flags = FLAG_ERROR if (self.aborted or self.broken) else 0
        end = HEADER.pack(END, flags, 0, self.rid, 0)
        conn = self.conn
        if self.headers_sent or self.aborted:
            with conn.send_lock:
                conn.sock.sendall(end)
            return
        bufs = []
        self._start_frames(bufs)
        bufs.append(end)
        with conn.send_lock:
            conn.sendmsg_all(bufs)
        self.headers_sent = True


# sendfile falls back to pread + send where the platform refuses a unix
# socket as sendfile's destination (macOS, some BSDs).
_sendfile_works = hasattr(os, "sendfile")


def _copy_file(sock_fd, sock, fd, offset, count):
    """_copy_file sends count bytes of fd from offset to the socket. If the
    file ends early it pads with NUL bytes, so the frame keeps its announced
    length, and returns the number of real bytes sent.
    """
    global _sendfile_works
    sent = 0
    while sent < count:
        n = 0
        if _sendfile_works:
            try:
                n = os.sendfile(sock_fd, fd, offset + sent, count - sent)
            except OSError as e:
                if sent or e.errno not in _SENDFILE_UNSUPPORTED:
                    raise
                _sendfile_works = False
                continue
        else:
            data = os.pread(fd, min(count - sent, 1 << 20), offset + sent)
            if data:
                sock.sendall(data)
            n = len(data)
        if not n:
            sock.sendall(bytes(count - sent))
            return sent
        sent += n
    return sent


_SENDFILE_UNSUPPORTED = {getattr(errno, name) for name in
                         ("EINVAL", "ENOTSOCK", "EOPNOTSUPP", "ENOSYS", "ENOTSUP")
                         if hasattr(errno, name)}


class Handler:
    """Handler serves the requests of one thread connection, one at a time."""

    def __init__(self, conn, app, multithread=False, multiprocess=False):
        self.conn = conn
        self.app = app
        self.base = base_environ(multithread, multiprocess)
        self.busy = False

    def serve_forever(self, after_request=None):
        """serve_forever handles requests until the connection closes, which
        raises protocol.ConnectionClosed. after_request is called after each.
        """
        next_frame = self.conn.next_frame
        handle = self.handle
        while True:
            t, flags, rid, payload = next_frame()
            if t != REQUEST:
                if t == BODY or t == ABORT:
                    continue  # a leftover of an earlier request
                raise protocol.ProtocolError("unexpected %s frame on a thread connection "
                                             "between requests" % protocol.type_name(t))
            self.busy = True
            try:
                handle(rid, flags, payload)
            finally:
                self.busy = False
            if after_request is not None:
                after_request()

    def handle(self, rid, flags, payload):
        """handle runs the app for one Request frame and sends the response."""
        conn = self.conn
        it = iter(payload.decode("latin-1").split("\x00"))
        environ = dict(zip(it, it))
        environ.update(self.base)
        resp = Response(conn, rid)
        if flags & FLAG_BODY:
            environ["wsgi.input"] = resp.input = InputStream(conn, rid, resp)
        else:
            environ["wsgi.input"] = EMPTY_INPUT
        errors = environ["wsgi.errors"] = ErrorStream(conn, rid)
        try:
            self.run(environ, resp)
        finally:
            if errors._pending:
                errors.flush()

    def run(self, environ, resp):
        """run calls the app and sends its response through resp (a framed
        Response, or the engine's EngineResponse), always closing the
        iterable.
        """
        result = None
        try:
            try:
                result = self.app(environ, resp.start_response)
                rtype = type(result)
                if (rtype is list or rtype is tuple) and not resp.aborted:
                    resp.send_sequence(result)
                elif getattr(result, "streaming", None) is False and not resp.aborted:
                    # Django's HttpResponse (and JsonResponse, redirects,
                    # ...): its body is already in memory, so iterating it
                    # cannot block and the whole response goes out in one
                    # sendmsg like a list does. StreamingHttpResponse and
                    # FileResponse say streaming = True.
                    resp.send_sequence(list(result))
                else:
                    if resp.aborted:
                        pass
                    elif rtype is FileWrapper and resp.start is not None:
                        if not resp.send_file(result):
                            resp.send_iterable(result)
                    else:
                        resp.send_iterable(result)
                    resp.finish()
            except Exception:
                self.failed(resp, environ)
        finally:
            if result is not None and hasattr(result, "close"):
                try:
                    result.close()
                except Exception:
                    self.log(resp.rid, "error closing the response iterable of %s:\n%s"
                             % (_request_line(environ), traceback.format_exc()))

    def failed(self, resp, environ):
        """failed reports the exception being handled: AppError if nothing
        was sent yet, else a Log frame and End with FlagError.
        """
        rid = resp.rid
        if resp.aborted:
            # The client is gone (often the app got ClientDisconnected):
            # nothing to report.
            resp.finish()
            return
        text = traceback.format_exc()
        if not resp.headers_sent:
            data = text.encode("utf-8", "replace")[-MAX_PAYLOAD:]
            self.conn.send_frame(APP_ERROR, 0, rid, data)
            return
        self.log(rid, "error after the response to %s started:\n%s"
                 % (_request_line(environ), text))
        resp.broken = True
        resp.finish()

    def log(self, rid, text):
        data = text.encode("utf-8", "replace")[-MAX_PAYLOAD:]
        self.conn.send_frame(LOG, 0, rid, data)


def _request_line(environ):
    return "%s %s" % (environ.get("REQUEST_METHOD", "?"),
                      environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""))
