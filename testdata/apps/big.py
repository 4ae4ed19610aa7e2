"""big: returns ?mb= MiB of data in 64 KiB chunks.

Exercises large responses, back-pressure and throughput: the body is made on
the fly by a generator (the app never holds it in memory); byte i of the
body is i % 256, so a client can check it without a reference file.

Query: mb (default 1, 0..4096) MiB; cl=0 to leave out Content-Length (then
the server must stream it chunked or close-delimited).

    GET /?mb=2  ->  200 OK, Content-Type: application/octet-stream,
                    Content-Length: 2097152, 32 chunks of 65536 bytes
    bad mb      ->  400 Bad Request, text/plain, b"bad mb\\n"
"""

from urllib.parse import parse_qs

CHUNK = bytes(range(256)) * 256  # 64 KiB, byte i == i % 256


def _body(count):
    for _ in range(count):
        yield CHUNK


def application(environ, start_response):
    q = parse_qs(environ.get("QUERY_STRING", ""))
    try:
        mb = int(q.get("mb", ["1"])[-1])
    except ValueError:
        mb = -1
    if not 0 <= mb <= 4096:
        body = b"bad mb\n"
        start_response(
            "400 Bad Request",
            [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))],
        )
        return [body]
    headers = [("Content-Type", "application/octet-stream")]
    if q.get("cl", ["1"])[-1] != "0":
        headers.append(("Content-Length", str(mb << 20)))
    start_response("200 OK", headers)
    return _body(mb * 16)
