"""The engine's Python side (engine.py) against a fake library.

The real library is Go and is tested with real workers by the Go
integration tests; here FakeLib plays its C functions, so the Python
side's calls (what goes out, in which order, the return codes of the app
callback) are checked on every CPython the runtime supports.
"""

import ctypes
import io
import tempfile
import unittest
from unittest import mock

from _gowsgi import engine
from _gowsgi.wsgi import FileWrapper


class FakeControl:
    """FakeControl records the frames sent on the control connection."""

    def __init__(self):
        self.frames = []

    def send_frame(self, t, flags, rid, payload=b""):
        self.frames.append((t, bytes(payload)))

    def send_json(self, t, obj, rid=0):
        self.frames.append((t, obj))


class FakeLib:
    """FakeLib is the engine library's request functions, recorded."""

    def __init__(self, body=b"", write_fails=False):
        self.calls = []
        self.body = body
        self.write_fails = write_fails

    def gowsgi_start(self, thread, start, n):
        self.calls.append(("start", bytes(start[:n])))
        return 0

    def gowsgi_write(self, thread, data, n):
        self.calls.append(("write", bytes(data[:n])))
        return -1 if self.write_fails else 0

    def gowsgi_respond(self, thread, start, slen, body, blen):
        self.calls.append(("respond", bytes(start[:slen]), bytes(body[:blen])))
        return 0

    def respond(self, thread, start, body):  # what engine.load sets without the builtins
        return self.gowsgi_respond(thread, start, len(start), body, len(body))

    def gowsgi_flush(self, thread):
        self.calls.append(("flush",))

    def gowsgi_sendfile(self, thread, fd, off, n):
        self.calls.append(("sendfile", off, n))
        return n

    def gowsgi_app_error(self, thread, text, n):
        self.calls.append(("app_error", bytes(text[:n]).decode()))

    def gowsgi_read(self, thread, buf, n):
        chunk, self.body = self.body[:n], self.body[n:]
        ctypes.memmove(buf, chunk, len(chunk))
        return len(chunk)


def call(handler, environ, flags=0, thread=0):
    """call runs the engine's app callback as the library does."""
    raw = "\x00".join(k + "\x00" + v for k, v in environ.items()).encode("latin-1")
    buf = ctypes.create_string_buffer(raw, len(raw))
    return handler.app_call(thread, ctypes.addressof(buf), len(raw), flags)


ENV = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "SCRIPT_NAME": "", "QUERY_STRING": "",
       "SERVER_NAME": "x", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http"}


class EngineHandlerTest(unittest.TestCase):
    def handler(self, app, lib=None, **kw):
        lib = lib or FakeLib()
        return engine.EngineHandler(lib, app, FakeControl(), **kw), lib

    def test_list_of_one_is_one_call(self):
        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"hello"]
        h, lib = self.handler(app)
        self.assertEqual(call(h, ENV), 0)
        self.assertEqual(lib.calls, [("respond", b"200 OK\x00Content-Type\x00text/plain", b"hello")])

    def test_streaming_flushes_each_chunk(self):
        def app(environ, start_response):
            start_response("200 OK", [])
            yield b"a"
            yield b"b"
        h, lib = self.handler(app)
        self.assertEqual(call(h, ENV), 0)
        self.assertEqual(lib.calls, [("start", b"200 OK"), ("write", b"a"), ("flush",),
                                     ("write", b"b"), ("flush",)])

    def test_raise_before_start_is_an_app_error(self):
        def app(environ, start_response):
            raise ValueError("boom")
        h, lib = self.handler(app)
        self.assertEqual(call(h, ENV), 1)
        self.assertEqual(lib.calls[0][0], "app_error")
        self.assertIn("ValueError: boom", lib.calls[0][1])

    def test_raise_after_start_breaks_the_response(self):
        def app(environ, start_response):
            start_response("200 OK", [])
            yield b"a"
            raise ValueError("late")
        h, lib = self.handler(app)
        with mock.patch("sys.stderr", io.StringIO()) as err:
            self.assertEqual(call(h, ENV), 2)
        self.assertIn("error after the response to GET / started", err.getvalue())

    def test_client_gone_stops_the_iterable(self):
        closed = []

        class Body:
            def __iter__(self):
                yield b"a"
                yield b"b"

            def close(self):
                closed.append(True)

        def app(environ, start_response):
            start_response("200 OK", [])
            return Body()
        h, lib = self.handler(app, FakeLib(write_fails=True))
        self.assertEqual(call(h, ENV), 3)
        self.assertEqual([c for c in lib.calls if c[0] == "write"], [("write", b"a")])
        self.assertEqual(closed, [True])

    def test_input_reads_the_body(self):
        def app(environ, start_response):
            body = environ["wsgi.input"].read()
            start_response("200 OK", [])
            return [body.upper()]
        h, lib = self.handler(app, FakeLib(body=b"x" * 70000 + b"end"))
        self.assertEqual(call(h, dict(ENV, REQUEST_METHOD="POST"), flags=1), 0)
        self.assertEqual(lib.calls[-1][2], b"X" * 70000 + b"END")

    def test_input_reuses_the_thread_buffer(self):
        # One buffer per engine thread, reused by its next requests; a read
        # larger than it grows it; what a request read is its own bytes
        # even after the buffer was reused.
        kept = []

        def app(environ, start_response):
            inp = environ["wsgi.input"]
            n = int(environ["CONTENT_LENGTH"])
            chunks = []
            while True:
                data = inp.read(min(n, 100000)) if n > 70000 else inp.read(1000)
                if not data:
                    break
                chunks.append(data)
            kept.append(b"".join(chunks))
            start_response("200 OK", [])
            return [b"ok"]
        lib = FakeLib()
        h, lib = self.handler(app, lib)
        bodies = [b"a" * 20000, b"e" * 20000, b"b" * 150000 + b"end", b"c" * 30, b"d" * 20000]
        buffers = []
        for body in bodies:
            lib.body = body
            env = dict(ENV, REQUEST_METHOD="POST", CONTENT_LENGTH=str(len(body)))
            self.assertEqual(call(h, env, flags=1, thread=1), 0)
            buffers.append(h.buffers[1])
        self.assertEqual(kept, bodies)
        self.assertEqual(list(h.buffers), [1])
        self.assertIs(buffers[0], buffers[1])
        self.assertIsNot(buffers[1], buffers[2])
        self.assertGreaterEqual(len(buffers[2]), 100000)
        self.assertIs(buffers[2], buffers[3])
        self.assertIs(buffers[3], buffers[4])

    def test_file_wrapper_is_sent_with_sendfile(self):
        with tempfile.NamedTemporaryFile() as f:
            f.write(b"0123456789")
            f.flush()
            f.seek(3)

            def app(environ, start_response):
                start_response("200 OK", [])
                return environ["wsgi.file_wrapper"](open(f.name, "rb"))
            h, lib = self.handler(app)
            self.assertEqual(call(h, ENV), 0)
            self.assertEqual(lib.calls, [("start", b"200 OK"), ("sendfile", 0, 10)])
            self.assertIs(h.base["wsgi.file_wrapper"], FileWrapper)

    def test_wsgi_errors_goes_to_the_control_connection(self):
        def app(environ, start_response):
            environ["wsgi.errors"].write("to the log\n")
            start_response("200 OK", [])
            return [b""]
        h, lib = self.handler(app)
        call(h, ENV)
        self.assertIn(b"to the log\n", [p for _, p in h.control.frames])

    def test_max_requests_retires_once(self):
        retired = []

        def app(environ, start_response):
            start_response("200 OK", [])
            return [b"ok"]
        h, lib = self.handler(app, max_requests=3, on_max_requests=lambda: retired.append(True))
        for _ in range(5):
            call(h, ENV)
        self.assertEqual(retired, [True])


class WarmUpTest(unittest.TestCase):
    def test_runs_the_request_and_closes_its_answer(self):
        seen, closed = {}, []

        class Body(list):
            def close(self):
                closed.append(True)

        def app(environ, start_response):
            seen.update(environ)
            start_response("200 OK", [("Content-Type", "text/plain")])
            return Body([b"warm"])

        engine.warm_up(app, {"wsgi.version": (1, 0)}, "REQUEST_METHOD\x00GET\x00PATH_INFO\x00/")
        self.assertEqual((seen["REQUEST_METHOD"], seen["PATH_INFO"]), ("GET", "/"))
        self.assertEqual(seen["wsgi.input"].read(), b"")
        self.assertEqual(closed, [True])

    def test_a_failure_is_logged_not_raised(self):
        def app(environ, start_response):
            raise ValueError("no database yet")

        with mock.patch("sys.stderr", new_callable=io.StringIO) as err:
            engine.warm_up(app, {}, "REQUEST_METHOD\x00GET\x00PATH_INFO\x00/")
        self.assertIn("the warm-up request failed", err.getvalue())
        self.assertIn("no database yet", err.getvalue())


class LoadTest(unittest.TestCase):
    def test_unloadable_library_says_why(self):
        with tempfile.NamedTemporaryFile(suffix=".so") as f:
            f.write(b"not a library")
            f.flush()
            with self.assertRaises(engine.EngineError) as cm:
                engine.load(f.name)
            self.assertIn(f.name, str(cm.exception))
        # The stop signals are not left blocked.
        import signal
        self.assertFalse(signal.pthread_sigmask(signal.SIG_BLOCK, []) & engine._BLOCKED)


if __name__ == "__main__":
    unittest.main()
