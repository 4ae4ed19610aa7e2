"""content_length: sets Content-Length and yields the body in several chunks.

Exercises a server's handling of an app-declared Content-Length with a
multi-chunk body (it must not switch to chunked encoding, and an empty chunk
in the middle must not end the body early). The chunks are
b"first,", b"second,", b"", b"third,", b"fourth\\n" (26 bytes in all).

Query mode=
  exact  (default) Content-Length: 26, body b"first,second,third,fourth\\n".
  short  (misbehaves) declares 36 but yields the same 26 bytes: the server
         must not hang waiting for more; the client sees an incomplete body
         (connection closed after 26 bytes) or the server reports an error.
  long   (misbehaves) declares 20 but yields 26: the server must not send
         more than 20 bytes after the headers: it either truncates the body
         to its first 20 bytes, b"first,second,third,f", or aborts the
         connection.
"""

from urllib.parse import parse_qs

CHUNKS = [b"first,", b"second,", b"", b"third,", b"fourth\n"]
SIZE = sum(len(c) for c in CHUNKS)  # 26
DECLARED = {"exact": SIZE, "short": SIZE + 10, "long": SIZE - 6}


def _body():
    for chunk in CHUNKS:
        yield chunk


def application(environ, start_response):
    mode = parse_qs(environ.get("QUERY_STRING", "")).get("mode", ["exact"])[-1]
    if mode not in DECLARED:
        body = b"unknown mode\n"
        start_response(
            "400 Bad Request",
            [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))],
        )
        return [body]
    start_response(
        "200 OK",
        [("Content-Type", "text/plain"), ("Content-Length", str(DECLARED[mode]))],
    )
    return _body()
