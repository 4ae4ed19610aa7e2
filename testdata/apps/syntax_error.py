"""syntax_error: a module that does not compile (deliberate SyntaxError).

Exercises boot failures: importing it raises SyntaxError ("expected ':'",
line 10 of this file). Tooling must not try to compile it: it is in
collect_ignore in this directory's conftest.py.
"""


# The missing colon below is the point of this file.
def application(environ, start_response)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"unreachable"]
