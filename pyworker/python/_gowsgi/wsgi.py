"""The WSGI (PEP 3333) objects a gateway hands to the app.

base_environ holds the wsgi.* keys added to the CGI environ Go sends;
InputStream is wsgi.input, fed by Body frames; ErrorStream is wsgi.errors,
sending Log frames; FileWrapper is wsgi.file_wrapper; check_start holds the
rules start_response enforces. handler.py uses them to serve a request.

App mistakes (bad status, CR/LF in a header, hop-by-hop headers, str body
chunks) raise real exceptions whose message cites PEP 3333 and names the
offending value, as wsgiref.handlers and waitress do, never an assert.
"""

import re

from . import protocol
from .protocol import ABORT, BODY, FLAG_EOF, LOG, MAX_PAYLOAD, READ, READ_PAYLOAD

# Bytes asked for in a Read frame: at least READ_MIN, READ_ALL for read().
READ_MIN = 64 * 1024
READ_ALL = 1024 * 1024

HOP_BY_HOP = frozenset((
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
    "te", "trailers", "transfer-encoding", "upgrade",
))

_token = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z").match
_bad_value = re.compile(r"[\r\n\x00]").search
_status_code = re.compile(r"[0-9]{3} ").match

# Header names already checked, mapped to their lower case. Apps send the
# same few names on every response, so this saves the checks on the hot
# path; it is bounded so hostile names cannot grow it forever.
_good_names = {}
_GOOD_NAMES_MAX = 1024


class ClientDisconnected(OSError):
    """ClientDisconnected is raised in the app when the client went away
    while the app was reading the request body.
    """


class ResponseError(ValueError):
    """ResponseError is raised for a status or header that breaks PEP 3333."""


def check_start(status, headers):
    """check_start validates a status line and header list per PEP 3333.

    It returns (Start payload bytes, Content-Length as int or None) and
    raises TypeError or ResponseError naming the offending value.
    """
    if type(status) is not str:
        raise TypeError("PEP 3333: the status must be a str such as '200 OK', got %s %r"
                        % (type(status).__name__, status))
    if _bad_value(status):
        raise ResponseError("PEP 3333: the status %r contains a CR, LF or NUL character" % status)
    if not _status_code(status):
        raise ResponseError("PEP 3333: the status must be three digits, a space and a reason "
                            "phrase, such as '200 OK', got %r" % status)
    if type(headers) is not list:
        if not isinstance(headers, (list, tuple)):
            raise TypeError("PEP 3333: response headers must be a list of (name, value) "
                            "tuples, got %s" % type(headers).__name__)
    parts = [status]
    append = parts.append
    content_length = None
    for item in headers:
        try:
            name, value = item
        except (TypeError, ValueError):
            raise TypeError("PEP 3333: each response header must be a (name, value) tuple, "
                            "got %r" % (item,)) from None
        lname = _good_names.get(name)
        if lname is None:
            lname = _check_name(name)
        if type(value) is not str:
            raise TypeError("PEP 3333: the value of response header %r must be a str, got %s %r"
                            % (name, type(value).__name__, value))
        if lname == "content-length":
            content_length = _parse_content_length(value)
        append(name)
        append(value)
    text = "\x00".join(parts)
    # The values are checked for CR, LF and NUL all at once, in the joined
    # text (names are tokens, the status was checked): a regex search per
    # value was a fifth of this function on a Django response's headers.
    if "\r" in text or "\n" in text or text.count("\x00") != len(parts) - 1:
        _raise_bad_value(headers)
    try:
        payload = text.encode("latin-1")
    except UnicodeEncodeError:
        _raise_not_latin1(status, headers)
    return payload, content_length


def _raise_bad_value(headers):
    for name, value in headers:
        if _bad_value(value):
            raise ResponseError("PEP 3333: the value of response header %r contains a CR, LF "
                                "or NUL character: %r" % (name, value))
    raise ResponseError("PEP 3333: a response header contains a CR, LF or NUL character")


def _check_name(name):
    if type(name) is not str:
        raise TypeError("PEP 3333: response header names must be str, got %s %r"
                        % (type(name).__name__, name))
    if not _token(name):
        if _bad_value(name):
            raise ResponseError("PEP 3333: response header name %r contains a CR, LF or NUL "
                                "character" % name)
        raise ResponseError("PEP 3333: response header name %r is not a valid HTTP token "
                            "(RFC 7230: letters, digits and !#$%%&'*+-.^_`|~)" % name)
    lname = name.lower()
    if lname in HOP_BY_HOP:
        raise ResponseError("PEP 3333: the application may not set the hop-by-hop header %r; "
                            "the server manages the connection" % name)
    if len(_good_names) < _GOOD_NAMES_MAX:
        _good_names[name] = lname
    return lname


def _parse_content_length(value):
    if value.isdigit() and value.isascii():
        return int(value)
    v = value.strip()
    if not (v.isdigit() and v.isascii()):
        raise ResponseError("PEP 3333: response header 'Content-Length' must be a "
                            "non-negative integer, got %r" % value)
    return int(v)


def _raise_not_latin1(status, headers):
    for where, text in [("the status", status)] + [
            (what % name, text) for name, value in headers
            for what, text in (("response header name %r", name),
                               ("the value of response header %r", value))]:
        try:
            text.encode("latin-1")
        except UnicodeEncodeError:
            raise ResponseError(
                "PEP 3333: %s must be latin-1 text, got %r (encode other text, e.g. "
                "with RFC 8187 or urllib.parse.quote)" % (where, text)) from None
    raise ResponseError("PEP 3333: the status and headers must be latin-1 text")


def check_chunk(chunk):
    """check_chunk returns chunk if it is bytes, else raises a TypeError."""
    if isinstance(chunk, bytes):
        return chunk
    hint = ""
    if isinstance(chunk, str):
        hint = " (encode it, e.g. with .encode('utf-8'))"
    raise TypeError("PEP 3333: the response body must be an iterable of bytes, got %s %.60r%s"
                    % (type(chunk).__name__, chunk, hint))


class InputStream:
    """InputStream is wsgi.input for a request that has a body.

    Go pushes the first Body frame unasked; when that is used up and the
    last frame had no FlagEOF, read sends a Read frame and waits for the
    next Body frame. After EOF nothing blocks. An Abort frame from Go while
    waiting raises ClientDisconnected.
    """

    __slots__ = ("_conn", "_rid", "_resp", "_buf", "_pos", "_eof", "_asked", "_aborted")

    def __init__(self, conn, rid, resp):
        self._conn = conn
        self._rid = rid
        self._resp = resp
        self._buf = b""
        self._pos = 0
        self._eof = False
        self._asked = True  # Go sends the first chunk unasked
        self._aborted = False

    def _next_chunk(self, want):
        """_next_chunk returns the next chunk of body from the master, or
        None at the end of the body.
        """
        if self._eof:
            return None
        if self._aborted:
            raise ClientDisconnected("the client disconnected while the request body was read")
        conn, rid = self._conn, self._rid
        if not self._asked:
            conn.send_frame(READ, 0, rid, READ_PAYLOAD.pack(min(want, MAX_PAYLOAD)))
            self._asked = True
        while True:
            frame = conn.read_frame()
            t, flags, frid, payload = frame
            if frid != rid and conn.keep_for_later(frame):
                continue
            if frid == rid and t == BODY:
                self._asked = False
                if flags & FLAG_EOF:
                    self._eof = True
                    return payload or None
                return payload
            if frid == rid and t == ABORT:
                self.abort()
                raise ClientDisconnected("the client disconnected while the request body was read")
            if t != BODY and t != ABORT:
                raise protocol.ProtocolError("unexpected %s frame while reading the body of "
                                             "request %d" % (protocol.type_name(t), rid))

    def feed(self, payload, flags):
        """feed takes a Body frame noticed while the response was streamed."""
        if self._pos < len(self._buf):
            self._buf = self._buf[self._pos:] + payload
        else:
            self._buf = payload
        self._pos = 0
        self._asked = False
        if flags & FLAG_EOF:
            self._eof = True

    def abort(self):
        self._aborted = True
        self._resp.aborted = True

    def read(self, size=-1):
        buf, pos = self._buf, self._pos
        avail = len(buf) - pos
        if size is None or size < 0:
            need = -1
        elif size <= avail:
            self._pos = pos + size
            return buf[pos:pos + size]
        else:
            need = size - avail
        parts = [buf[pos:]] if avail else []
        self._buf, self._pos = b"", 0
        while need:
            data = self._next_chunk(READ_ALL if need < 0 else max(need, READ_MIN))
            if data is None:
                break
            if need < 0:
                parts.append(data)
            elif len(data) <= need:
                parts.append(data)
                need -= len(data)
            else:
                parts.append(data[:need])
                self._buf, self._pos = data, need
                need = 0
        return b"".join(parts)

    def readline(self, limit=-1):
        if limit is None:
            limit = -1
        elif limit == 0:
            return b""
        buf, pos = self._buf, self._pos
        i = buf.find(b"\n", pos) + 1
        if i and (limit < 0 or i - pos <= limit):
            self._pos = i
            return buf[pos:i]
        parts = []
        total = 0
        while True:
            buf, pos = self._buf, self._pos
            i = buf.find(b"\n", pos) + 1
            end = i or len(buf)
            if limit >= 0 and total + end - pos >= limit:
                end = pos + limit - total
            if end > pos:
                parts.append(buf[pos:end])
                total += end - pos
                self._pos = end
            if (i and end == i) or total == limit:
                break
            data = self._next_chunk(READ_MIN)
            if data is None:
                break
            self._buf, self._pos = data, 0
        return b"".join(parts)

    def readlines(self, hint=-1):
        lines = []
        total = 0
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)
            total += len(line)
            if hint is not None and 0 < hint <= total:
                return lines

    def __iter__(self):
        return self

    def __next__(self):
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def readable(self):
        return True

    def close(self):
        pass


class EmptyInput:
    """EmptyInput is wsgi.input for a request without a body."""

    __slots__ = ()

    def read(self, size=-1):
        return b""

    def readline(self, limit=-1):
        return b""

    def readlines(self, hint=-1):
        return []

    def __iter__(self):
        return iter(())

    def readable(self):
        return True

    def close(self):
        pass


class ErrorStream:
    """ErrorStream is wsgi.errors: text written to it goes to the master as
    Log frames carrying the request id, a whole line at a time (flush sends
    a partial line).
    """

    __slots__ = ("_conn", "_rid", "_pending")

    def __init__(self, conn, rid):
        self._conn = conn
        self._rid = rid
        self._pending = ""

    def write(self, s):
        if type(s) is not str:
            if isinstance(s, (bytes, bytearray)):
                s = bytes(s).decode("utf-8", "replace")
            elif isinstance(s, str):
                s = str(s)
            else:
                raise TypeError("wsgi.errors.write() takes a str, got %s" % type(s).__name__)
        i = s.rfind("\n") + 1
        if i:
            text = self._pending + s[:i]
            self._pending = s[i:]
            self._send(text)
        else:
            self._pending += s
        return len(s)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        if self._pending:
            text, self._pending = self._pending, ""
            self._send(text)

    def _send(self, text):
        data = text.encode("utf-8", "replace")
        for i in range(0, len(data), MAX_PAYLOAD):
            self._conn.send_frame(LOG, 0, self._rid, data[i:i + MAX_PAYLOAD])

    def writable(self):
        return True

    def close(self):
        pass


class FileWrapper:
    """FileWrapper is wsgi.file_wrapper.

    Returned by the app around a regular file, the file is sent with
    os.sendfile; otherwise it iterates the file-like in blksize reads.
    """

    def __init__(self, filelike, blksize=8192):
        self.filelike = filelike
        self.blksize = blksize
        if hasattr(filelike, "close"):
            self.close = filelike.close

    def __iter__(self):
        read, blksize = self.filelike.read, self.blksize
        while True:
            data = read(blksize)
            if not data:
                return
            yield data


def base_environ(multithread, multiprocess):
    """base_environ returns the wsgi.* keys that are the same for every request."""
    return {
        "wsgi.version": (1, 0),
        "wsgi.multithread": multithread,
        "wsgi.multiprocess": multiprocess,
        "wsgi.run_once": False,
        "wsgi.file_wrapper": FileWrapper,
        "wsgi.input_terminated": True,
    }


EMPTY_INPUT = EmptyInput()
