"""segv: a worker that segfaults, at import or on a request.

Exercises crash handling: the interpreter dies by SIGSEGV (ctypes reads
address 0), which no Python exception handler can catch.

  at import   when the file named by $GOWSGI_SEGV_MARKER exists
  ?crash=1    on that request
  otherwise   200 "alive\\n"
"""
import ctypes
import os

_marker = os.environ.get("GOWSGI_SEGV_MARKER", "")
if _marker and os.path.exists(_marker):
    ctypes.string_at(0)


def application(environ, start_response):
    if "crash=1" in environ.get("QUERY_STRING", ""):
        ctypes.string_at(0)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "6")])
    return [b"alive\n"]
