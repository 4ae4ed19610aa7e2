"""Request handling end to end: a Handler on one end of a socketpair, the
test playing the Go master on the other.

Apps are wrapped in wsgiref.validate.validator, so the runtime is checked
against PEP 3333 from the app's side too. A few are not wrapped, each for
a reason given where it is: the validator asserts on the same mistakes the
runtime must catch itself (so it would hide the runtime's message), or it
turns a list into an iterator (hiding the one-sendmsg fast path).
"""

import io
import os
import tempfile
import threading
import unittest
import warnings
from unittest import mock
from wsgiref.validate import validator

from tests.support import Pair, environ_payload, exchange, receive, wait_until
from _gowsgi import handler as handler_mod
from _gowsgi import protocol
from _gowsgi.protocol import ABORT, BODY, END, FLAG_ERROR, READ, REQUEST, RESP_BODY, START
from _gowsgi.wsgi import ClientDisconnected, FileWrapper


CT = [("Content-Type", "text/plain")]


def hello_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello ", environ["PATH_INFO"].encode("latin-1")]


class Closing:
    """Closing is an iterable (not a generator) that records close()."""

    def __init__(self, chunks, fail_at=None, gate=None):
        self.chunks = chunks
        self.fail_at = fail_at
        self.gate = gate
        self.yielded = 0
        self.closed = 0
        self.closed_event = threading.Event()

    def __iter__(self):
        for i, c in enumerate(self.chunks):
            if i == self.fail_at:
                raise ValueError("broken at chunk %d" % i)
            if self.gate is not None and i == 1:
                self.gate.wait(10)
            self.yielded += 1
            yield c

    def close(self):
        self.closed += 1
        self.closed_event.set()

    def wait_closed(self):
        """wait_closed waits for close(): the runtime sends End first, then
        closes the iterable, so that the client has its response sooner.
        """
        self.closed_event.wait(10)
        return self.closed


class SpySock:
    """SpySock counts the send calls made on a socket."""

    def __init__(self, sock):
        self._sock = sock
        self.sendmsg_calls = 0
        self.sendall_calls = 0

    def sendmsg(self, buffers, *args):
        self.sendmsg_calls += 1
        return self._sock.sendmsg(buffers, *args)

    def sendall(self, data, *args):
        self.sendall_calls += 1
        return self._sock.sendall(data, *args)

    def __getattr__(self, name):
        return getattr(self._sock, name)


class HandlerTestCase(unittest.TestCase):
    def serve(self, app, validate=True, **kw):
        pair = Pair(validator(app) if validate else app, **kw)
        self.addCleanup(pair.close)
        return pair


class Basics(HandlerTestCase):
    def test_get(self):
        seen = {}

        def app(environ, start_response):
            seen.update(environ)
            return hello_app(environ, start_response)
        pair = self.serve(app, multithread=True)
        res = pair.request(environ_payload(path="/caf\u00e9"))
        self.assertEqual(res.status, "200 OK")
        self.assertEqual(res.headers, [("Content-Type", "text/plain")])
        self.assertEqual(res.body, "hello /caf\u00e9".encode("latin-1"))
        self.assertEqual(res.end_flags, 0)
        self.assertEqual(res.types(), ["Start", "RespBody", "RespBody", "End"])
        self.assertEqual(seen["wsgi.version"], (1, 0))
        self.assertIs(seen["wsgi.multithread"], True)
        self.assertIs(seen["wsgi.multiprocess"], False)
        self.assertIs(seen["wsgi.run_once"], False)
        self.assertIs(seen["wsgi.input_terminated"], True)
        self.assertIs(seen["wsgi.file_wrapper"], FileWrapper)
        self.assertEqual(seen["wsgi.url_scheme"], "http")
        self.assertEqual(seen["wsgi.input"].read(-1), b"")

    def test_one_item_list_is_one_sendmsg(self):
        # Not validated: the validator wraps the list in an iterator.
        spy = []

        def wrap(sock):
            spy.append(SpySock(sock))
            return spy[0]

        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
            return [b"hello"]
        pair = self.serve(app, validate=False, wrap_sock=wrap)
        res = pair.request(environ_payload())
        self.assertEqual((res.status, res.body, res.end_flags), ("200 OK", b"hello", 0))
        self.assertEqual(res.types(), ["Start", "RespBody", "End"])
        self.assertEqual((spy[0].sendmsg_calls, spy[0].sendall_calls), (1, 0))

    def test_in_memory_response_object_is_one_sendmsg(self):
        # Django's HttpResponse says streaming = False: its body is in
        # memory, so it goes out like a list; StreamingHttpResponse says
        # streaming = True and is streamed chunk by chunk. Not validated:
        # the validator wraps the object in an iterator.
        class DjangoLike(Closing):
            def __init__(self, chunks, streaming):
                super().__init__(chunks)
                self.streaming = streaming

        for streaming, calls in ((False, (1, 0)), (True, (2, 1))):
            with self.subTest(streaming=streaming):
                spy = []

                def wrap(sock):
                    spy.append(SpySock(sock))
                    return spy[0]

                body = DjangoLike([b"hello ", b"world"], streaming)

                def app(environ, start_response):
                    start_response("200 OK", CT)
                    return body
                pair = self.serve(app, validate=False, wrap_sock=wrap)
                res = pair.request(environ_payload())
                self.assertEqual((res.status, res.body, res.end_flags), ("200 OK", b"hello world", 0))
                self.assertEqual(body.wait_closed(), 1)
                self.assertEqual((spy[0].sendmsg_calls, spy[0].sendall_calls), calls)

    def test_empty_body_sends_start_and_end(self):
        def app(environ, start_response):
            start_response("204 No Content", [])
            return [b""]
        res = self.serve(app).request(environ_payload())
        self.assertEqual(res.types(), ["Start", "End"])
        self.assertEqual(res.status, "204 No Content")

    def test_streaming_generator(self):
        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            yield b"one "
            yield b""
            yield b"two "
            yield b"three"
        res = self.serve(app).request(environ_payload())
        self.assertEqual(res.body, b"one two three")
        self.assertEqual(res.types(), ["Start", "RespBody", "RespBody", "RespBody", "End"])

    def test_headers_wait_for_the_first_non_empty_chunk(self):
        def app(environ, start_response):
            start_response("200 OK", CT)
            yield b""
            start_response("500 Oops", [], (ValueError, ValueError("x"), None))
            yield b"late"
        res = self.serve(app, validate=False).request(environ_payload())
        self.assertEqual((res.status, res.body), ("500 Oops", b"late"))

    def test_write_callable(self):
        def app(environ, start_response):
            write = start_response("200 OK", [("Content-Type", "text/plain")])
            write(b"a")
            write(b"b")
            return [b"c"]
        res = self.serve(app).request(environ_payload())
        self.assertEqual(res.body, b"abc")
        self.assertEqual(res.types(), ["Start", "RespBody", "RespBody", "RespBody", "End"])

    def test_big_chunk_is_split(self):
        big = b"x" * (protocol.MAX_PAYLOAD + 10)

        def app(environ, start_response):
            start_response("200 OK", CT)
            return [big]
        res = self.serve(app, validate=False).request(environ_payload())
        sizes = [len(f[3]) for f in res.frames if f[0] == RESP_BODY]
        self.assertEqual(sizes, [protocol.MAX_PAYLOAD, 10])
        self.assertEqual(len(res.body), len(big))

    def test_wsgi_errors_sends_log_frames(self):
        def app(environ, start_response):
            errors = environ["wsgi.errors"]
            errors.write("d\u00e9j\u00e0 ")
            errors.write("vu\npartial")
            errors.writelines(["\n", "tail"])
            errors.flush()
            start_response("200 OK", CT)
            return [b"ok"]
        res = self.serve(app).request(environ_payload(), rid=9)
        self.assertEqual(res.logs, ["d\u00e9j\u00e0 vu\n", "partial\n", "tail"])
        logs = [f for f in res.frames if f[0] == protocol.LOG]
        self.assertTrue(all(f[2] == 9 for f in logs))

    def test_latin1_header_value(self):
        def app(environ, start_response):
            start_response("200 OK", CT + [("X-Latin", "\u00e9t\u00e9")])
            return [b"ok"]
        res = self.serve(app).request(environ_payload())
        self.assertEqual(res.header("X-Latin"), "\u00e9t\u00e9")

    def test_stale_frames_of_an_earlier_request_are_skipped(self):
        pair = self.serve(hello_app)
        pair.master.sock.sendall(protocol.encode_frame(BODY, 0, 1, b"old body")
                                 + protocol.encode_frame(ABORT, 0, 1)
                                 + protocol.encode_frame(BODY, protocol.FLAG_EOF, 1, b""))
        res = pair.request(environ_payload(path="/x"), rid=2)
        self.assertEqual((res.status, res.body, res.end_flags), ("200 OK", b"hello /x", 0))

    def test_unread_body_does_not_leak_into_the_next_request(self):
        pair = self.serve(hello_app)
        res = pair.request(environ_payload(method="POST", extra={"CONTENT_LENGTH": "6"}),
                           rid=1, body=[b"abc", b"def"])
        self.assertEqual(res.body, b"hello /")
        self.assertEqual(res.reads, [])
        res = pair.request(environ_payload(path="/2"), rid=2)
        self.assertEqual(res.body, b"hello /2")


def echo_app(environ, start_response):
    """echo_app echoes the body read in 7-byte reads, then read(-1)."""
    inp = environ["wsgi.input"]
    parts = [inp.read(7), inp.read(7), inp.read(-1), inp.read(5), inp.read(-1)]
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return [b"|".join(parts)]


class RequestBody(HandlerTestCase):
    def test_post_body_in_several_frames_with_read_round_trips(self):
        chunks = [b"0123456789", b"b" * 70000, b"tail"]
        body = b"".join(chunks)

        def app(environ, start_response):
            inp = environ["wsgi.input"]
            n = int(environ["CONTENT_LENGTH"])
            got = b""
            while len(got) < n:
                data = inp.read(min(4096, n - len(got)))
                self.assertTrue(data)
                got += data
            self.assertEqual(inp.read(10), b"")
            self.assertEqual(inp.read(-1), b"")
            start_response("200 OK", CT)
            return [got]
        pair = self.serve(app)
        res = pair.request(environ_payload(method="POST", extra={
            "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/octet-stream"}),
            body=chunks)
        self.assertEqual(res.body, body)
        self.assertEqual(len(res.reads), 2)  # the first chunk came unasked
        self.assertTrue(all(r >= 65536 for r in res.reads), res.reads)
        self.assertEqual(res.types()[:2], ["Read", "Read"])

    def test_read_mixes(self):
        res = self.serve(echo_app).request(
            environ_payload(method="POST", extra={"CONTENT_LENGTH": "20"}),
            body=[b"abc", b"defghij", b"klmnopqrst"])
        self.assertEqual(res.body, b"abcdefg|hijklmn|opqrst||")

    def test_chunked_style_body_without_content_length(self):
        def app(environ, start_response):
            self.assertNotIn("CONTENT_LENGTH", environ)
            data = environ["wsgi.input"].read(-1)
            start_response("200 OK", CT)
            return [data]
        chunks = [b"x" * 1000, b"y" * 3000, b"", b"z"]
        res = self.serve(app).request(environ_payload(method="POST", extra={
            "HTTP_TRANSFER_ENCODING": "chunked"}), body=chunks)
        self.assertEqual(res.body, b"".join(chunks))

    def test_readline_readlines_and_iteration(self):
        def app(environ, start_response):
            inp = environ["wsgi.input"]
            out = [inp.readline(), inp.readline(3), inp.readline(), inp.readlines(),
                   inp.readline(), inp.read(1)]
            start_response("200 OK", CT)
            return [repr(out).encode()]
        chunks = [b"li", b"ne1\nli", b"ne2\nla", b"st\nx\n", b"y"]
        res = self.serve(app).request(environ_payload(method="POST"), body=chunks)
        self.assertEqual(res.body, repr([b"line1\n", b"lin", b"e2\n", [b"last\n", b"x\n", b"y"],
                                         b"", b""]).encode())

    def test_iteration_over_input(self):
        def app(environ, start_response):
            lines = list(environ["wsgi.input"])
            start_response("200 OK", CT)
            return [b"%d:" % len(lines) + b"".join(lines)]
        res = self.serve(app).request(environ_payload(method="POST"),
                                      body=[b"a\nb", b"\n", b"c"])
        self.assertEqual(res.body, b"3:a\nb\nc")

    def test_abort_while_reading_the_body(self):
        got = []

        def app(environ, start_response):
            inp = environ["wsgi.input"]
            got.append(inp.read(3))
            try:
                inp.read(100)
            except ClientDisconnected as e:
                got.append(e)
                # Checked by the test, not here: an assertion failing in the
                # app is an app error the aborted request hides (issue 13,
                # bug 6).
                try:
                    got.append(inp.read(1))  # never blocks after the abort
                except ClientDisconnected as again:
                    got.append(again)
                raise
            start_response("200 OK", CT)
            return [b"unreachable"]

        pair = self.serve(app)
        pair.master.sock.sendall(
            protocol.encode_frame(protocol.REQUEST, protocol.FLAG_BODY, 1,
                                  environ_payload(method="POST"))
            + protocol.encode_frame(BODY, 0, 1, b"abc"))
        t, flags, rid, payload = pair.master.read_frame()
        self.assertEqual((t, rid), (protocol.READ, 1))
        pair.master.send_frame(ABORT, 0, 1)
        t, flags, rid, payload = pair.master.read_frame()
        self.assertEqual((t, flags, rid), (END, FLAG_ERROR, 1))
        self.assertEqual(got[0], b"abc")
        self.assertIsInstance(got[1], ClientDisconnected)
        self.assertIsInstance(got[1], OSError)
        self.assertEqual(len(got), 3, got)
        self.assertIsInstance(got[2], ClientDisconnected)  # a read after the abort raises too
        # The worker is ready for the next request.
        self.assertEqual(pair.request(environ_payload(), rid=2).end_flags, 0)


class Failures(HandlerTestCase):
    def test_app_raising_before_start_response(self):
        def app(environ, start_response):
            return [b"%d" % (1 // 0)]
        pair = self.serve(app)
        res = pair.request(environ_payload())
        self.assertEqual(res.types(), ["AppError"])
        self.assertIn("Traceback (most recent call last)", res.app_error)
        self.assertIn("ZeroDivisionError", res.app_error)
        # The worker keeps serving.
        self.assertIn("ZeroDivisionError", pair.request(environ_payload(), rid=2).app_error)

    def test_error_after_start_logs_and_ends_with_flag_error(self):
        closing = Closing([b"a", b"b", b"c"], fail_at=2)

        def app(environ, start_response):
            start_response("200 OK", CT)
            return closing
        res = self.serve(app).request(environ_payload(path="/boom"))
        self.assertEqual(res.body, b"ab")
        self.assertEqual(res.end_flags, FLAG_ERROR)
        self.assertEqual(res.types()[-2:], ["Log", "End"])
        self.assertIn("ValueError: broken at chunk 2", res.logs[0])
        self.assertIn("GET /boom", res.logs[0])
        self.assertEqual(closing.wait_closed(), 1)

    def test_exc_info_after_headers_reraises(self):
        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            yield b"partial"
            try:
                raise KeyError("late")
            except KeyError:
                import sys
                start_response("500 Internal Server Error", [], sys.exc_info())
            yield b"never"
        res = self.serve(app).request(environ_payload())
        self.assertEqual((res.status, res.body, res.end_flags), ("200 OK", b"partial", FLAG_ERROR))
        self.assertIn("KeyError: 'late'", res.logs[0])

    def test_exc_info_before_headers_replaces_them(self):
        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain"), ("X-Old", "1")])
            try:
                raise KeyError("early")
            except KeyError:
                import sys
                start_response("500 Internal Server Error", [("Content-Type", "text/html")],
                               sys.exc_info())
            return [b"error page"]
        res = self.serve(app).request(environ_payload())
        self.assertEqual((res.status, res.headers, res.body),
                         ("500 Internal Server Error", [("Content-Type", "text/html")],
                          b"error page"))

    def test_start_response_twice_without_exc_info(self):
        def app(environ, start_response):
            start_response("200 OK", CT)
            start_response("200 OK", CT)
            return [b""]
        res = self.serve(app, validate=False).request(environ_payload())
        self.assertIn("start_response() was called a second time", res.app_error)

    def test_app_returning_without_start_response(self):
        def app(environ, start_response):
            return [b"body"]
        res = self.serve(app, validate=False).request(environ_payload())
        self.assertIn("without calling start_response()", res.app_error)

    def test_str_body_chunk(self):
        def app(environ, start_response):
            start_response("200 OK", CT)
            return ["text"]
        res = self.serve(app, validate=False).request(environ_payload())
        self.assertIn("TypeError: PEP 3333: the response body must be an iterable of bytes, "
                      "got str 'text'", res.app_error)

    def test_bad_status(self):
        def app(environ, start_response):
            start_response("200", CT)
            return [b""]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the validator only warns about this one
            res = self.serve(app).request(environ_payload())
        self.assertEqual(res.types(), ["AppError"])
        self.assertIn("PEP 3333", res.app_error)
        self.assertIn("'200'", res.app_error)

    def test_bad_headers(self):
        # Not validated: the validator asserts on these itself, which would
        # hide the runtime's own message.
        cases = [
            ("CR/LF in value", "200 OK", [("X-A", "a\r\nSet-Cookie: evil=1")],
             "response header 'X-A' contains a CR, LF or NUL"),
            ("LF in name", "200 OK", [("X-A\nB", "1")], "name 'X-A\\nB' contains a CR, LF"),
            ("NUL in value", "200 OK", [("X-A", "a\x00b")], "contains a CR, LF or NUL"),
            ("CR in status", "200 OK\r\nX: y", [], "status '200 OK\\r\\nX: y' contains a CR"),
            ("not a token", "200 OK", [("Bad Name", "1")], "'Bad Name' is not a valid HTTP token"),
            ("not latin-1", "200 OK", [("X-A", "\u2713")], "value of response header 'X-A' "
                                                          "must be latin-1"),
            ("bytes value", "200 OK", [("X-A", b"1")], "must be a str, got bytes"),
            ("not a pair", "200 OK", [("X-A",)], "must be a (name, value) tuple"),
            ("bytes status", b"200 OK", [], "the status must be a str"),
            ("no space", "200OK", [], "three digits, a space and a reason phrase, such as "
                                      "'200 OK', got '200OK'"),
            ("reason first", "OK 200", [], "got 'OK 200'"),
            ("two digits", "20 OK", [], "got '20 OK'"),
            ("content-length", "200 OK", [("Content-Length", "ten")], "'Content-Length' must be "
                                                                      "a non-negative integer"),
        ]
        for name, status, headers, want in cases:
            with self.subTest(name):
                def app(environ, start_response, status=status, headers=headers):
                    start_response(status, headers)
                    return [b"body"]
                res = self.serve(app, validate=False).request(environ_payload())
                self.assertEqual(res.types(), ["AppError"])
                self.assertIn("PEP 3333", res.app_error)
                self.assertIn(want, res.app_error)

    def test_hop_by_hop_headers(self):
        for name in ["Connection", "keep-alive", "Proxy-Authenticate", "Proxy-Authorization",
                     "TE", "Trailers", "Transfer-Encoding", "Upgrade"]:
            with self.subTest(name):
                def app(environ, start_response, name=name):
                    start_response("200 OK", CT + [(name, "close")])
                    return [b"body"]
                res = self.serve(app).request(environ_payload())
                self.assertEqual(res.types(), ["AppError"])
                self.assertIn("hop-by-hop header %r" % name, res.app_error)
                self.assertIn("PEP 3333", res.app_error)


class Queued(HandlerTestCase):
    """The master may write a GET behind the running request of a thread
    (pool.go): the running request must keep such a frame for later,
    whatever it is doing when the frame arrives, and the queued request is
    served right after it.
    """

    def queued_payload(self):
        return protocol.encode_frame(REQUEST, 0, 2, environ_payload(path="/queued"))

    def test_request_queued_while_the_body_is_read(self):
        pair = self.serve(echo_app)
        sent = []

        def on_frame(frame, res):
            if frame[0] == READ and not sent:
                pair.master.sock.sendall(self.queued_payload())
                sent.append(True)
            return False
        res = exchange(pair.master, environ_payload(method="POST", extra={"CONTENT_LENGTH": "20"}),
                       body=[b"abc", b"defghij", b"klmnopqrst"], on_frame=on_frame)
        self.assertTrue(sent)
        self.assertEqual(res.body, b"abcdefg|hijklmn|opqrst||")
        queued = receive(pair.master, 2)
        self.assertEqual((queued.status, queued.body), ("200 OK", b"||||"))  # echo_app of no body

    def test_request_queued_while_a_response_streams(self):
        gate = threading.Event()
        body = Closing([b"one ", b"two ", b"three"], gate=gate)

        def app(environ, start_response):
            if environ["PATH_INFO"] != "/":
                return hello_app(environ, start_response)
            start_response("200 OK", CT)
            return body
        pair = self.serve(app)

        def on_frame(frame, res):
            if frame[0] == RESP_BODY and not gate.is_set():
                # Between the first and second chunk: the runtime looks for
                # an Abort after the second and finds the queued Request.
                pair.master.sock.sendall(self.queued_payload())
                gate.set()
            return False
        res = pair.request(environ_payload(), on_frame=on_frame)
        self.assertEqual((res.body, res.end_flags), (b"one two three", 0))
        queued = receive(pair.master, 2)
        self.assertEqual((queued.status, queued.body), ("200 OK", b"hello /queued"))
        # And the thread goes on with the next request as usual.
        self.assertEqual(pair.request(environ_payload(path="/after"), rid=3).body, b"hello /after")


class CloseAndLimits(HandlerTestCase):
    def test_close_called_after_a_full_response(self):
        closing = Closing([b"a", b"b"])

        def app(environ, start_response):
            start_response("200 OK", CT)
            return closing
        res = self.serve(app).request(environ_payload())
        self.assertEqual(res.body, b"ab")
        self.assertEqual(closing.wait_closed(), 1)

    def test_close_called_on_app_error_before_start(self):
        closing = Closing([b"a"], fail_at=0)

        def app(environ, start_response):
            start_response("200 OK", CT)
            return closing
        res = self.serve(app).request(environ_payload())
        self.assertIn("broken at chunk 0", res.app_error)
        self.assertEqual(closing.wait_closed(), 1)

    def test_error_in_close_is_logged(self):
        class BadClose(Closing):
            def close(self):
                raise RuntimeError("close failed")

        def app(environ, start_response):
            start_response("200 OK", CT)
            return BadClose([b"ok"])
        pair = self.serve(app, validate=False)
        res = pair.request(environ_payload())
        self.assertEqual((res.body, res.end_flags), (b"ok", 0))
        t, flags, rid, payload = pair.master.read_frame()
        self.assertEqual(t, protocol.LOG)
        self.assertIn("RuntimeError: close failed", payload.decode())

    def test_content_length_is_respected(self):
        closing = Closing([b"hel", b"lo world", b"more"])

        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
            return closing
        res = self.serve(app).request(environ_payload())
        self.assertEqual((res.body, res.end_flags), (b"hello", 0))
        self.assertEqual(closing.yielded, 2)
        self.assertEqual(closing.wait_closed(), 1)

    def test_content_length_in_a_list(self):
        def app(environ, start_response):
            start_response("200 OK", [("content-length", "3")])
            return [b"ab", b"cdef", b"gh"]
        res = self.serve(app, validate=False).request(environ_payload())
        self.assertEqual(res.body, b"abc")

    def test_abort_mid_stream(self):
        gate = threading.Event()
        closing = Closing([b"chunk%d " % i for i in range(10)], gate=gate)

        def app(environ, start_response):
            start_response("200 OK", CT)
            return closing

        pair = self.serve(app)

        def on_frame(frame, res):
            if frame[0] == RESP_BODY and len(res.body) == len(b"chunk0 "):
                # The client went away after the first chunk.
                pair.master.send_frame(ABORT, 0, 1)
                gate.set()
        res = pair.request(environ_payload(), on_frame=on_frame)
        self.assertEqual(res.end_flags, FLAG_ERROR)
        self.assertEqual(res.body, b"chunk0 chunk1 ")
        self.assertEqual(closing.yielded, 2)
        self.assertEqual(closing.wait_closed(), 1)
        self.assertEqual(pair.request(environ_payload(), rid=2).end_flags, 0)


class FileWrapperTests(HandlerTestCase):
    def setUp(self):
        fd, self.path = tempfile.mkstemp()
        self.data = bytes(range(256)) * 1000
        with os.fdopen(fd, "wb") as f:
            f.write(self.data)
        self.addCleanup(os.unlink, self.path)

    def test_real_file_validated(self):
        def app(environ, start_response):
            start_response("200 OK", CT)
            return environ["wsgi.file_wrapper"](open(self.path, "rb"), 4096)
        res = self.serve(app).request(environ_payload())
        self.assertEqual((res.body, res.end_flags), (self.data, 0))

    def test_real_file_goes_through_sendfile(self):
        # Not validated: the validator's iterator wrapper hides the FileWrapper.
        files = []

        def app(environ, start_response):
            f = open(self.path, "rb")
            files.append(f)
            f.seek(100)
            start_response("200 OK", [("Content-Type", "application/octet-stream")])
            return environ["wsgi.file_wrapper"](f, 4096)
        with mock.patch.object(handler_mod.os, "sendfile", wraps=os.sendfile) as sendfile:
            res = self.serve(app, validate=False).request(environ_payload())
        self.assertEqual(res.body, self.data[100:])
        self.assertEqual(res.end_flags, 0)
        self.assertTrue(sendfile.called)
        self.assertTrue(wait_until(lambda: files[0].closed))
        # One RespBody announcing the whole rest of the file.
        self.assertEqual([len(f[3]) for f in res.frames if f[0] == RESP_BODY],
                         [len(self.data) - 100])

    def test_real_file_with_content_length(self):
        def app(environ, start_response):
            start_response("200 OK", [("Content-Length", "1000")])
            return environ["wsgi.file_wrapper"](open(self.path, "rb"))
        res = self.serve(app, validate=False).request(environ_payload())
        self.assertEqual(res.body, self.data[:1000])
        self.assertEqual(res.end_flags, 0)

    def test_bytesio(self):
        buf = io.BytesIO(b"0123456789" * 5)

        def app(environ, start_response):
            start_response("200 OK", CT)
            return environ["wsgi.file_wrapper"](buf, 16)
        res = self.serve(app, validate=False).request(environ_payload())
        self.assertEqual(res.body, b"0123456789" * 5)
        self.assertEqual([len(f[3]) for f in res.frames if f[0] == RESP_BODY], [16, 16, 16, 2])
        self.assertTrue(wait_until(lambda: buf.closed))

    def test_sendfile_fallback(self):
        # Where sendfile refuses a unix socket, the runtime falls back to pread.
        def app(environ, start_response):
            start_response("200 OK", CT)
            return FileWrapper(open(self.path, "rb"))
        with mock.patch.object(handler_mod, "_sendfile_works", False):
            res = self.serve(app, validate=False).request(environ_payload())
        self.assertEqual(res.body, self.data)

    def test_abort_between_file_chunks(self):
        # A file larger than one frame: Abort is noticed after the second one.
        def app(environ, start_response):
            start_response("200 OK", CT)
            return FileWrapper(open(self.path, "rb"))
        with mock.patch.object(handler_mod, "MAX_PAYLOAD", 1000):
            pair = self.serve(app, validate=False)
            pair.master.sock.sendall(protocol.encode_frame(protocol.REQUEST, 0, 1,
                                                           environ_payload())
                                     + protocol.encode_frame(ABORT, 0, 1))
            frames = []
            while not frames or frames[-1][0] != END:
                frames.append(pair.master.read_frame())
        self.assertEqual(frames[-1][1], FLAG_ERROR)
        self.assertEqual([f[0] for f in frames], [START, RESP_BODY, RESP_BODY, END])


if __name__ == "__main__":
    unittest.main()
