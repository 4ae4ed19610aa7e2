"""close_tracking: proves the server calls the iterable's close().

Exercises PEP 3333's rule that the server calls close() on the returned
iterable when the request ends for any reason: after a complete response,
after an error, and when the client disconnects mid-stream. The iterable is
a plain class (not a generator), so the server cannot rely on generator
finalisation.

close() appends one line to the file named by the process environment
variable GOWSGI_CLOSE_LOG (read at close time; nothing is written if it is
unset or empty), in one O_APPEND write so lines from several workers never
interleave:

    closed id=<id> yielded=<k> n=<n>\\n

where k is how many chunks the iterable had handed to the server when it
was closed (k < n after a disconnect; k == n after a full response).

Query: id (default "-", [A-Za-z0-9_.-] only, else "invalid"), n (default 5,
0..1000000) chunks b"chunk <i>\\n", delay (default 0, 0..10) seconds between
two chunks. No Content-Length.

    GET /?id=a&n=2  ->  200 OK, Content-Type: text/plain,
                        body b"chunk 0\\nchunk 1\\n"; log: "closed id=a yielded=2 n=2"
"""

import os
import re
import time
from urllib.parse import parse_qs

ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class TrackedBody:
    def __init__(self, ident, n, delay):
        self.ident = ident
        self.n = n
        self.delay = delay
        self.yielded = 0
        self.closed = False

    def __iter__(self):
        for i in range(self.n):
            if i and self.delay:
                time.sleep(self.delay)
            self.yielded += 1
            yield b"chunk %d\n" % i

    def close(self):
        if self.closed:
            return
        self.closed = True
        path = os.environ.get("GOWSGI_CLOSE_LOG")
        if not path:
            return
        line = "closed id=%s yielded=%d n=%d\n" % (self.ident, self.yielded, self.n)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode("ascii"))
        finally:
            os.close(fd)


def application(environ, start_response):
    q = parse_qs(environ.get("QUERY_STRING", ""))
    ident = q.get("id", ["-"])[-1]
    if ident != "-" and not ID_RE.match(ident):
        ident = "invalid"
    try:
        n = int(q.get("n", ["5"])[-1])
        delay = float(q.get("delay", ["0"])[-1])
    except ValueError:
        n, delay = -1, -1.0
    if not (0 <= n <= 1_000_000 and 0.0 <= delay <= 10.0):
        body = b"bad n or delay\n"
        start_response(
            "400 Bad Request",
            [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))],
        )
        return [body]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return TrackedBody(ident, n, delay)
