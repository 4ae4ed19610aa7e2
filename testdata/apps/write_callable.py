"""write_callable: uses the legacy write() callable returned by start_response.

Exercises PEP 3333's imperative output path: write() must send its data
before it returns (headers first), and the chunk returned afterwards in the
iterable must follow it. No Content-Length, so the server streams.

    GET /  ->  200 OK, Content-Type: text/plain, no Content-Length,
               body b"written 1\\nwritten 2\\nreturned 3\\n"
"""


def application(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"written 1\n")
    write(b"written 2\n")
    return [b"returned 3\n"]
