"""streaming: a generator yielding n chunks with a delay between them.

Exercises streaming without Content-Length: the server must send each chunk
as it comes (HTTP/1.1 chunked encoding, or close-delimited for HTTP/1.0)
instead of buffering the whole response.

Query: n (default 5, 0..100000) chunks, delay (default 0.05 s, 0..10)
seconds between two chunks (none before the first), lazy=1 to call
start_response inside the generator at its first step (allowed by PEP 3333:
the server must not need the status before it starts iterating).

    GET /?n=3&delay=0  ->  200 OK, Content-Type: text/plain, no Content-Length,
                           body b"chunk 0\\nchunk 1\\nchunk 2\\n" in 3 chunks
    bad n or delay     ->  400 Bad Request, text/plain, b"bad n or delay\\n"
"""

import time
from urllib.parse import parse_qs

HEADERS = [("Content-Type", "text/plain")]


def _params(environ):
    q = parse_qs(environ.get("QUERY_STRING", ""))
    try:
        n = int(q.get("n", ["5"])[-1])
        delay = float(q.get("delay", ["0.05"])[-1])
    except ValueError:
        return None
    if not (0 <= n <= 100_000 and 0.0 <= delay <= 10.0):
        return None
    return n, delay, q.get("lazy", ["0"])[-1] == "1"


def _chunks(n, delay, start_response=None):
    if start_response is not None:
        start_response("200 OK", list(HEADERS))
    for i in range(n):
        if i and delay:
            time.sleep(delay)
        yield b"chunk %d\n" % i


def application(environ, start_response):
    params = _params(environ)
    if params is None:
        body = b"bad n or delay\n"
        start_response(
            "400 Bad Request",
            [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))],
        )
        return [body]
    n, delay, lazy = params
    if lazy:
        return _chunks(n, delay, start_response)
    start_response("200 OK", list(HEADERS))
    return _chunks(n, delay)
