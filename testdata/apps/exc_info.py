"""exc_info: the PEP 3333 error path, start_response(..., exc_info).

Query mode=
  after  (default) start_response("200 OK"), return a generator that yields
         b"partial\\n" (so the server has sent the headers), then calls
         start_response("500 ...", headers, sys.exc_info()) for a
         ValueError("deliberate error after the headers were sent"). Headers
         are out, so the server's start_response must re-raise that
         ValueError; the server then logs it and cuts the response short
         (no terminating zero-length chunk / connection closed), and calls
         the generator's close(). If start_response wrongly returns, the
         generator yields b"BUG: start_response(exc_info) returned after
         the headers were sent\\n".
  before start_response("200 OK"), then, before any body, start_response again
         with exc_info for ValueError("deliberate error before the body"):
         headers are not sent yet, so the server must replace the status and
         headers: 500 Internal Server Error, Content-Type: text/plain,
         Content-Length: 39, body b"error handled before the body was sent\\n".
  twice  (misbehaves) calls start_response twice WITHOUT exc_info: a fatal
         app error, the server must answer 500 (its own error page).
"""

import sys
from urllib.parse import parse_qs

BEFORE_BODY = b"error handled before the body was sent\n"
BUG_BODY = b"BUG: start_response(exc_info) returned after the headers were sent\n"


def _after(start_response):
    yield b"partial\n"
    try:
        raise ValueError("deliberate error after the headers were sent")
    except ValueError:
        # Must raise: the headers have been sent.
        start_response(
            "500 Internal Server Error",
            [("Content-Type", "text/plain")],
            sys.exc_info(),
        )
    yield BUG_BODY


def application(environ, start_response):
    mode = parse_qs(environ.get("QUERY_STRING", "")).get("mode", ["after"])[-1]
    if mode == "before":
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            raise ValueError("deliberate error before the body")
        except ValueError:
            start_response(
                "500 Internal Server Error",
                [("Content-Type", "text/plain"), ("Content-Length", str(len(BEFORE_BODY)))],
                sys.exc_info(),
            )
        return [BEFORE_BODY]
    if mode == "twice":
        start_response("200 OK", [("Content-Type", "text/plain")])
        start_response("201 Created", [("Content-Type", "text/plain")])
        return [b"BUG: start_response accepted a second call without exc_info\n"]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return _after(start_response)
