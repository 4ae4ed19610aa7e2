"""filewrapper: returns environ["wsgi.file_wrapper"] over a real file.

Exercises the optional file_wrapper extension (a server may send it with
sendfile(2)) and its close(), which must close the file.

Query:
  (none)  serves this very file, filewrapper.py: Content-Type
          text/plain; charset=utf-8, Content-Length = its size, body = its
          bytes (a test compares with testdata/apps/filewrapper.py on disk).
  mb=N    (0..1024) serves an N MiB file whose byte i is i % 256, made on
          first use in the temp dir (gowsgi-filewrapper-<N>mb.bin):
          Content-Type application/octet-stream, Content-Length N*1048576.

Header X-File-Wrapper: "server" when the server provides wsgi.file_wrapper,
"fallback" when it does not (then the app iterates the file in 64 KiB
blocks itself).
"""

import os
import tempfile
from urllib.parse import parse_qs

BLOCK = 64 * 1024
PATTERN = bytes(range(256)) * (BLOCK // 256)  # 64 KiB, byte i == i % 256


def _pattern_file(mb):
    path = os.path.join(tempfile.gettempdir(), "gowsgi-filewrapper-%dmb.bin" % mb)
    size = mb << 20
    try:
        if os.path.getsize(path) == size:
            return path
    except OSError:
        pass
    # Write to a private temp name, then rename: concurrent workers are safe.
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".gowsgi-fw-")
    try:
        with os.fdopen(fd, "wb") as f:
            for _ in range(size // BLOCK):
                f.write(PATTERN)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path


def _fallback(f, block):
    try:
        while True:
            data = f.read(block)
            if not data:
                return
            yield data
    finally:
        f.close()


def application(environ, start_response):
    raw = parse_qs(environ.get("QUERY_STRING", "")).get("mb", [None])[-1]
    if raw is None:
        path, ctype = os.path.abspath(__file__), "text/plain; charset=utf-8"
    else:
        try:
            mb = int(raw)
        except ValueError:
            mb = -1
        if not 0 <= mb <= 1024:
            body = b"bad mb\n"
            start_response(
                "400 Bad Request",
                [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))],
            )
            return [body]
        path, ctype = _pattern_file(mb), "application/octet-stream"
    f = open(path, "rb")
    size = os.fstat(f.fileno()).st_size
    wrapper = environ.get("wsgi.file_wrapper")
    start_response(
        "200 OK",
        [
            ("Content-Type", ctype),
            ("Content-Length", str(size)),
            ("X-File-Wrapper", "server" if wrapper else "fallback"),
        ],
    )
    if wrapper:
        return wrapper(f, BLOCK)
    return _fallback(f, BLOCK)
