"""raises: the application raises ZeroDivisionError before start_response.

Exercises the server's handling of an app that fails before any status is
set: it must answer 500 with its own error page and log the traceback
(ZeroDivisionError: division by zero), and keep serving other requests.

Query when=
  call  (default) raise inside the application callable itself.
  iter  return a generator that raises on its first step, still before
        start_response was called (the server only learns of the failure
        while iterating; the outcome must be the same 500).
"""

from urllib.parse import parse_qs


def _failing_iter():
    _ = 1 / 0  # ZeroDivisionError on the first next()
    yield b"never"


def application(environ, start_response):
    when = parse_qs(environ.get("QUERY_STRING", "")).get("when", ["call"])[-1]
    if when == "iter":
        return _failing_iter()
    _ = 1 / 0  # ZeroDivisionError: division by zero
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"never"]
