"""rss: allocates ?mb= MiB and keeps it for the life of the worker, then
answers the worker's pid (reload-on-rss tests)."""
import os
from urllib.parse import parse_qs

_kept = []


def application(environ, start_response):
    q = parse_qs(environ.get("QUERY_STRING", ""))
    mb = int(q.get("mb", ["0"])[0])
    if mb > 0:
        # bytes * n fills every page, so all of it is resident.
        _kept.append(b"x" * (mb << 20))
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
