"""echo: echoes the request body back, with request facts in headers.

Exercises wsgi.input: the body is read in 64 KiB reads (read(n) only, as
wsgiref.validate requires). With a CONTENT_LENGTH, exactly that many bytes
are asked for (stopping early at b""). Without one, e.g. a chunked request
that the server de-chunks, the body is read until read() returns b"" -- which
the server must provide at the end of the body. (Only a GET or HEAD without
CONTENT_LENGTH and without Transfer-Encoding is taken to have no body, so that
a plain GET under wsgiref.simple_server, whose input is the raw socket, does
not block.)

Response: 200 OK, the body read, and headers
    Content-Type      the request's CONTENT_TYPE, or application/octet-stream
    Content-Length    length of the body
    X-Method          REQUEST_METHOD
    X-Path            PATH_INFO (latin-1 bytes outside the URL-safe set
                      percent-encoded, so "/a/b" comes back as "/a/b")
    X-Script-Name     SCRIPT_NAME, encoded the same way
    X-Query           QUERY_STRING as received
    X-Body-Length     number of body bytes read
    X-Body-Sha256     hex SHA-256 of the body
    X-Content-Length  the CONTENT_LENGTH the server passed, or "absent"
"""

import hashlib
from urllib.parse import quote

READ_SIZE = 64 * 1024
SAFE = "/:@!$&'()*+,;=-._~"


def _read_body(environ):
    stream = environ["wsgi.input"]
    raw_length = environ.get("CONTENT_LENGTH", "")
    chunks = []
    if raw_length.strip():
        remaining = int(raw_length)
        while remaining > 0:
            chunk = stream.read(min(READ_SIZE, remaining))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        return chunks
    chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    if (
        environ.get("REQUEST_METHOD") in ("GET", "HEAD")
        and not chunked
        and not environ.get("wsgi.input_terminated")
    ):
        return chunks
    while True:
        chunk = stream.read(READ_SIZE)
        if not chunk:
            return chunks
        chunks.append(chunk)


def application(environ, start_response):
    try:
        chunks = _read_body(environ)
    except ValueError:
        body = b"bad CONTENT_LENGTH\n"
        start_response(
            "400 Bad Request",
            [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))],
        )
        return [body]
    length = sum(len(c) for c in chunks)
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    headers = [
        ("Content-Type", environ.get("CONTENT_TYPE") or "application/octet-stream"),
        ("Content-Length", str(length)),
        ("X-Method", environ["REQUEST_METHOD"]),
        ("X-Path", quote(environ.get("PATH_INFO", "").encode("latin-1"), safe=SAFE)),
        ("X-Script-Name", quote(environ.get("SCRIPT_NAME", "").encode("latin-1"), safe=SAFE)),
        ("X-Query", environ.get("QUERY_STRING", "")),
        ("X-Body-Length", str(length)),
        ("X-Body-Sha256", digest.hexdigest()),
        ("X-Content-Length", environ.get("CONTENT_LENGTH") or "absent"),
    ]
    start_response("200 OK", headers)
    return chunks
