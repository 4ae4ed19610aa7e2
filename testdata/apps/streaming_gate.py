"""Streaming that a test can observe deterministically.

Yields "first\n", then waits until the file named by the query string
(?gate=/path) exists before yielding "second\n". A test that sees "first"
before it creates the file has proved the chunk was streamed as it was
yielded, without any timing assumption.
"""
import os
import time
from urllib.parse import parse_qs


def application(environ, start_response):
    gate = parse_qs(environ.get("QUERY_STRING", "")).get("gate", [""])[0]
    start_response("200 OK", [("Content-Type", "text/plain")])

    def body():
        yield b"first\n"
        deadline = time.monotonic() + 30
        while gate and not os.path.exists(gate) and time.monotonic() < deadline:
            time.sleep(0.01)
        yield b"second\n"

    return body()
