"""slow: sleeps ?s= seconds, then answers.

Exercises timeouts, graceful shutdown/reload waiting for in-flight requests,
and concurrency (N parallel requests to a server with N threads or workers
take about s seconds in all, not N*s).

Query: s (default 0.5, 0..600) seconds, echoed as given.

    GET /?s=0.2  ->  200 OK, Content-Type: text/plain, Content-Length 9,
                     body b"slept 0.2" (after about 0.2 s)
    bad s        ->  400 Bad Request, text/plain, b"bad s\\n"
"""

import time
from urllib.parse import parse_qs


def application(environ, start_response):
    raw = parse_qs(environ.get("QUERY_STRING", "")).get("s", ["0.5"])[-1]
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0.0 <= seconds <= 600.0:
        body = b"bad s\n"
        status = "400 Bad Request"
    else:
        time.sleep(seconds)
        body = ("slept %s" % raw).encode("latin-1")
        status = "200 OK"
    start_response(
        status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
    )
    return [body]
