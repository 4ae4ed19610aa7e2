"""bad_header: an app that hands the server an invalid status or header.

Exercises header validation: the server must never put what the app gave it
on the wire. The expected outcome for every kind is a 500 from the server
(its own error page; the app's body b"this response has a bad header\\n" must
not be sent), except that for hop-by-hop headers a server may instead drop the
header and send the app's 200 response without it.

Query kind=
  crlf      (default) ("X-Injected", "ok\\r\\nX-Evil: 1"): response splitting
  lf        ("X-Injected", "ok\\nX-Evil: 1")
  hopbyhop  ("Connection", "close"): a hop-by-hop header, forbidden to apps
  te        ("Transfer-Encoding", "chunked"): hop-by-hop, breaks framing
  name      ("X Bad:Name", "1"): invalid characters in a header name
  latin1    ("X-Snowman", "\\u2603"): not encodable as latin-1
  status    status "20 OK" (not a 3-digit code)
  unknown kind -> 400 Bad Request, text/plain, b"unknown kind\\n" (well-formed)
"""

from urllib.parse import parse_qs

BODY = b"this response has a bad header\n"

KINDS = {
    "crlf": ("200 OK", ("X-Injected", "ok\r\nX-Evil: 1")),
    "lf": ("200 OK", ("X-Injected", "ok\nX-Evil: 1")),
    "hopbyhop": ("200 OK", ("Connection", "close")),
    "te": ("200 OK", ("Transfer-Encoding", "chunked")),
    "name": ("200 OK", ("X Bad:Name", "1")),
    "latin1": ("200 OK", ("X-Snowman", "\u2603")),
    "status": ("20 OK", None),
}


def application(environ, start_response):
    kind = parse_qs(environ.get("QUERY_STRING", "")).get("kind", ["crlf"])[-1]
    if kind not in KINDS:
        body = b"unknown kind\n"
        start_response(
            "400 Bad Request",
            [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))],
        )
        return [body]
    status, extra = KINDS[kind]
    headers = [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))]
    if extra is not None:
        headers.append(extra)
    start_response(status, headers)
    return [BODY]
