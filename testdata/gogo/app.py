"""A WSGI app that holds a Go runtime of its own.

At import it loads the Go c-shared library named by GOGO_LIB (built from
gogo.go by cmd/gowsgi's TestGoRuntimeFallsBack) and calls it, as an app
importing a Python extension built with Go does. gowsgi must then serve it
through the proxy path: the engine would be a second Go runtime.
"""

import ctypes
import os

_lib = ctypes.CDLL(os.environ["GOGO_LIB"])
_lib.gogo_answer.restype = ctypes.c_int
ANSWER = _lib.gogo_answer()


def application(environ, start_response):
    body = b"%d" % ANSWER
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
