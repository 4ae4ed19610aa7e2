"""hello: the smallest well-behaved WSGI app.

Exercises the basic request/response path: one status line, a Content-Type
and a Content-Length header, and a body returned as a one-element list.

    GET /anything  ->  200 OK, Content-Type: text/plain, Content-Length: 13,
                       body b"Hello, World!"
"""

BODY = b"Hello, World!"


def application(environ, start_response):
    start_response(
        "200 OK",
        [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))],
    )
    return [BODY]
