"""Helpers shared by the tests: paths, a fake master, a real runtime process."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(os.path.dirname(PYTHON_DIR))
FRAMES_DIR = os.path.join(REPO, "testdata", "frames")

if PYTHON_DIR not in sys.path:
    sys.path.insert(0, PYTHON_DIR)

from _gowsgi import protocol  # noqa: E402
from _gowsgi.handler import Handler  # noqa: E402
from _gowsgi.protocol import (  # noqa: E402
    APP_ERROR, BODY, END, FLAG_BODY, FLAG_EOF, HELLO, LOG, READ, READY,
    REQUEST, RESP_BODY, START, Connection,
)

TIMEOUT = 20


def wait_until(cond, timeout=10):
    """wait_until polls cond() until it is true or timeout passes."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def environ_payload(method="GET", path="/", query="", extra=None):
    """environ_payload builds a Request payload as the Go gateway would."""
    pairs = [
        ("REQUEST_METHOD", method), ("SCRIPT_NAME", ""), ("PATH_INFO", path),
        ("QUERY_STRING", query), ("SERVER_NAME", "127.0.0.1"), ("SERVER_PORT", "8000"),
        ("SERVER_PROTOCOL", "HTTP/1.1"), ("REMOTE_ADDR", "127.0.0.1"),
        ("REMOTE_PORT", "51234"), ("wsgi.url_scheme", "http"), ("HTTP_HOST", "127.0.0.1:8000"),
    ]
    pairs.extend((extra or {}).items())
    return protocol.encode_environ(pairs)


class Result:
    """Result is what the fake master received for one request."""

    def __init__(self):
        self.frames = []      # (type, flags, rid, payload) in order
        self.status = None
        self.headers = None
        self.body = b""
        self.end_flags = None
        self.app_error = None
        self.logs = []
        self.reads = []       # payloads of Read frames

    def header(self, name):
        for k, v in self.headers or ():
            if k.lower() == name.lower():
                return v
        return None

    def types(self):
        return [protocol.type_name(f[0]) for f in self.frames]


def exchange(master, payload, rid=1, body=None, on_frame=None):
    """exchange plays the master's side of one request on master (a
    Connection): it sends Request (and the first Body chunk, as Go does),
    answers Read frames with the next chunk of body, and returns a Result
    once End or AppError arrives. on_frame(frame, result) may act on each
    frame; it returns True to stop waiting.
    """
    chunks = list(body) if body is not None else None
    frames = [protocol.encode_frame(REQUEST, FLAG_BODY if chunks is not None else 0, rid, payload)]
    if chunks is not None:
        first = chunks.pop(0) if chunks else b""
        frames.append(protocol.encode_frame(BODY, 0 if chunks else FLAG_EOF, rid, first))
    master.sock.sendall(b"".join(frames))
    return receive(master, rid, chunks, on_frame)


def receive(master, rid, chunks=None, on_frame=None):
    """receive reads the frames of request rid on master up to its End or
    AppError, answering Read frames with the next of chunks, as exchange
    describes; it returns the Result.
    """
    res = Result()
    while True:
        frame = master.read_frame()
        t, flags, frid, p = frame
        res.frames.append(frame)
        if t == LOG:
            res.logs.append(p.decode("utf-8"))
        elif t == READ:
            res.reads.append(protocol.READ_PAYLOAD.unpack(p)[0])
            if chunks:
                c = chunks.pop(0)
                master.send_frame(BODY, 0 if chunks else FLAG_EOF, rid, c)
            else:
                master.send_frame(BODY, FLAG_EOF, rid, b"")
        elif t == START:
            res.status, res.headers = protocol.decode_start(p)
        elif t == RESP_BODY:
            res.body += p
        elif t == END:
            res.end_flags = flags
        elif t == APP_ERROR:
            res.app_error = p.decode("utf-8")
        if t in (LOG, READ, START, RESP_BODY, END, APP_ERROR):
            if frid != rid and t != LOG:
                raise AssertionError("frame %s for request %d during %d"
                                     % (protocol.type_name(t), frid, rid))
        if on_frame is not None and on_frame(frame, res):
            return res
        if t in (END, APP_ERROR):
            return res


class Pair:
    """Pair is a Handler serving one end of a socketpair in a thread; the
    test plays the master on the other end.
    """

    def __init__(self, app, multithread=False, multiprocess=False, wrap_sock=None):
        a, b = socket.socketpair()
        a.settimeout(TIMEOUT)
        self.master = Connection(a)
        self.worker_sock = b
        self.worker = Connection(wrap_sock(b) if wrap_sock else b)
        self.handler = Handler(self.worker, app, multithread, multiprocess)
        self.error = None
        self.thread = threading.Thread(target=self._serve, name="test-handler", daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            self.handler.serve_forever()
        except (protocol.ConnectionClosed, OSError):
            pass
        except BaseException as e:  # reported by close()
            self.error = e

    def request(self, *args, **kw):
        return exchange(self.master, *args, **kw)

    def close(self):
        self.master.sock.close()
        self.thread.join(TIMEOUT)
        self.worker_sock.close()
        if self.error is not None:
            raise self.error


class MasterSocket:
    """MasterSocket is a listening unix socket standing in for the Go master."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="gowsgi-test-")
        self.path = os.path.join(self.dir, "master.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(64)
        self.sock.settimeout(TIMEOUT)
        self.conns = []

    def accept(self):
        """accept returns (Connection, hello dict) for the next connection."""
        s, _ = self.sock.accept()
        s.settimeout(TIMEOUT)
        conn = Connection(s)
        self.conns.append(conn)
        t, flags, rid, payload = conn.read_frame()
        if t != HELLO:
            raise AssertionError("first frame is %s, want Hello" % protocol.type_name(t))
        return conn, protocol.decode_json(payload)

    def accept_workers(self, tokens, threads):
        """accept_workers accepts the control and thread connections of the
        workers with these tokens (in any order) and reads their Ready.
        It returns {token: (control, hello, [thread conns by index], ready)}.
        """
        got = {t: [None, None, [None] * threads] for t in tokens}
        for _ in range(len(tokens) * (threads + 1)):
            conn, hello = self.accept()
            entry = got[hello["token"]]
            if hello["role"] == "control":
                entry[0], entry[1] = conn, hello
            else:
                entry[2][hello["thread"]] = conn
        out = {}
        for token, (control, hello, conns) in got.items():
            t, flags, rid, payload = control.read_frame()
            if t != READY:
                raise AssertionError("got %s, want Ready: %r" % (protocol.type_name(t), payload))
            out[token] = (control, hello, conns, protocol.decode_json(payload))
        return out

    def close(self):
        for c in self.conns:
            c.close()
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def start_runtime(config, cwd, python=None):
    """start_runtime starts the runtime as the Go master does."""
    env = dict(os.environ, GOWSGI_CONFIG=json.dumps(config) if isinstance(config, dict) else config)
    env.pop("PYTHONPATH", None)
    boot = ("import sys; sys.path.insert(1, %r); from _gowsgi.boot import main; main()"
            % PYTHON_DIR)
    return subprocess.Popen([python or sys.executable, "-u", "-c", boot], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(proc, timeout=TIMEOUT):
    """finish waits for proc and returns (exit code, stdout, stderr) as text."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError("runtime did not exit; stderr:\n" + err.decode(errors="replace"))
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")
