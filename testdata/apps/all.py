"""all: one WSGI app that mounts every app of testdata/apps under its name.

GET /hello/x is served by hello.py with SCRIPT_NAME "/hello" and PATH_INFO
"/x". The integration tests start one gowsgi for all the apps with it.

Well-behaved apps are wrapped in wsgiref.validate.validator with its
warnings turned into errors, so a server-side PEP 3333 violation makes the
request fail (500, and "AssertionError" or "WSGIWarning" in the log) instead
of passing unnoticed. The apps whose point is to misbehave are mounted bare.
"""
import importlib.util
import os
import warnings
from wsgiref.util import shift_path_info
from wsgiref.validate import WSGIWarning, validator

warnings.simplefilter("error", WSGIWarning)

HERE = os.path.dirname(os.path.abspath(__file__))
VALIDATED = ["hello", "echo", "environ", "streaming", "streaming_gate", "write_callable",
             "slow", "close_tracking", "filewrapper", "big", "content_length"]
BARE = ["exc_info", "raises", "bad_header"]


def _load(name):
    spec = importlib.util.spec_from_file_location("testapp_" + name, os.path.join(HERE, name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.application


APPS = {name: validator(_load(name)) for name in VALIDATED}
APPS.update({name: _load(name) for name in BARE})
# content_length's misbehaving modes would trip the validator, not the server.
APPS["content_length_bare"] = _load("content_length")


def application(environ, start_response):
    name = shift_path_info(environ)
    app = APPS.get(name)
    if app is None:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"no app named %r\n" % (name or "").encode()]
    return app(environ, start_response)


def _errors_app(environ, start_response):
    """Writes a line to wsgi.errors: it must reach gowsgi's log."""
    environ["wsgi.errors"].write("hello from wsgi.errors\n")
    environ["wsgi.errors"].flush()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
    return [b"ok\n"]


def _pid_slow_app(environ, start_response):
    """Writes its pid to the file named by ?file=, then sleeps ?s= seconds,
    so a test can kill the worker that holds a request."""
    import time
    from urllib.parse import parse_qs
    q = parse_qs(environ.get("QUERY_STRING", ""))
    path, secs = q.get("file", [""])[0], float(q.get("s", ["30"])[0])
    if path:
        with open(path + ".tmp", "w") as f:
            f.write(str(os.getpid()))
        os.rename(path + ".tmp", path)
    time.sleep(secs)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"survived\n"]


APPS["errors"] = validator(_errors_app)
APPS["pid_slow"] = validator(_pid_slow_app)


def _pid_app(environ, start_response):
    """Answers the worker's pid (max-requests and restart tests)."""
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


APPS["pid"] = validator(_pid_app)


def _record_app(environ, start_response):
    """Appends the request body, one line, to $GOWSGI_RECORD_LOG (one
    O_APPEND write), so a test can prove no body is delivered twice."""
    n = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(n)
    path = os.environ.get("GOWSGI_RECORD_LOG", "")
    if path:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, body + b"\n")
        finally:
            os.close(fd)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


APPS["record"] = validator(_record_app)


def _ids_app(environ, start_response):
    """Answers "uid gid" of the worker (privilege-dropping tests)."""
    body = ("%d %d" % (os.getuid(), os.getgid())).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


APPS["ids"] = validator(_ids_app)
APPS["rss"] = validator(_load("rss"))
