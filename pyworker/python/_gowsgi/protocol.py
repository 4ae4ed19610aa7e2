"""The Go <-> Python frame protocol, from the Python side.

This mirrors pyworker/protocol.go, where the format is declared (header
diagram, limits, payload encodings); both codecs are tested against the
golden bytes in testdata/frames/.  Every message is one frame: a 12-byte
header ``!BBHII`` (type, flags, reserved 0, request id, payload length)
followed by the payload.

Connection wraps one unix socket: a preallocated receive buffer filled with
recv_into (so several small frames cost one system call), a non-blocking
poll used to notice an Abort between response chunks, and locked,
scatter-gather sends (socket.sendmsg) so a frame header and its payload go
out without being concatenated and two threads never interleave bytes.
"""

import collections
import json
import socket
import struct
import threading

HEADER = struct.Struct("!BBHII")
HEADER_SIZE = 12
MAX_PAYLOAD = 16 << 20

# Frame types sent by Go.
REQUEST = 1
BODY = 2
ABORT = 3
STOP = 5
DUMP = 6
FORK = 8
NOTIFY = 9  # control: files changed (JSON {"changed": [abs paths]})

# Frame types sent by Python.
HELLO = 16
READY = 17
BOOT_ERROR = 18
START = 19
RESP_BODY = 20
END = 21
APP_ERROR = 22
READ = 23
LOG = 24
STACK = 25
FORKED = 26
EXITED = 27
RETIRE = 28

# Frame flags.
FLAG_BODY = 0x01   # Request: the request has a body
FLAG_EOF = 0x02    # Body: last chunk of the request body
FLAG_ERROR = 0x04  # End: the response broke after Start

TYPE_NAMES = {
    REQUEST: "Request", BODY: "Body", ABORT: "Abort", STOP: "Stop",
    DUMP: "Dump", FORK: "Fork", NOTIFY: "Notify", HELLO: "Hello", READY: "Ready",
    BOOT_ERROR: "BootError", START: "Start", RESP_BODY: "RespBody",
    END: "End", APP_ERROR: "AppError", READ: "Read", LOG: "Log",
    STACK: "Stack", FORKED: "Forked", EXITED: "Exited", RETIRE: "Retire",
}
TYPES_BY_NAME = {v: k for k, v in TYPE_NAMES.items()}

READ_PAYLOAD = struct.Struct("!I")

# Receive buffer of a Connection; frames larger than this get their own.
# Go sends request bodies in Body frames of at most 256 KiB (slot.go
# bodyChunk): those fit, header included.
RECV_BUFFER = 256 * 1024 + 4096

# sendmsg takes at most IOV_MAX (1024 on Linux) buffers per call.
_IOV_MAX = 1024


class ProtocolError(Exception):
    """ProtocolError is raised for bytes that are not a frame of this protocol."""


class FrameTooLarge(ProtocolError):
    """FrameTooLarge is raised for a header announcing more than MAX_PAYLOAD bytes."""


class ConnectionClosed(EOFError):
    """ConnectionClosed is raised when the master closes the connection.

    For a worker it means the master is gone.
    """


def type_name(t):
    """type_name returns the protocol name of frame type t ("Request")."""
    return TYPE_NAMES.get(t) or "FrameType(%d)" % t


def header(t, flags, request_id, length):
    """header returns the 12 header bytes of a frame."""
    return HEADER.pack(t, flags, 0, request_id, length)


def encode_frame(t, flags, request_id, payload=b""):
    """encode_frame returns the bytes of one whole frame."""
    return HEADER.pack(t, flags, 0, request_id, len(payload)) + payload


def parse_header(b, offset=0):
    """parse_header decodes and checks the header at b[offset:offset+12].

    It returns (type, flags, request_id, length) and raises ProtocolError
    for a header that is not one of this protocol, FrameTooLarge for a
    length above MAX_PAYLOAD (before anything is allocated for it).
    """
    if len(b) - offset < HEADER_SIZE:
        raise ProtocolError("malformed frame header: %d bytes, want %d"
                            % (len(b) - offset, HEADER_SIZE))
    t, flags, reserved, rid, length = HEADER.unpack_from(b, offset)
    if reserved:
        raise ProtocolError("malformed frame header: reserved bytes are %#06x" % reserved)
    if t not in TYPE_NAMES:
        raise ProtocolError("malformed frame header: unknown type %d" % t)
    if length > MAX_PAYLOAD:
        raise FrameTooLarge("frame payload larger than 16 MiB: %d bytes" % length)
    return t, flags, rid, length


def decode_frame(b):
    """decode_frame decodes one whole frame; it returns (type, flags, id, payload)."""
    t, flags, rid, length = parse_header(b)
    payload = bytes(b[HEADER_SIZE:HEADER_SIZE + length])
    if len(payload) != length:
        raise ProtocolError("reading %s payload of %d bytes: got %d"
                            % (type_name(t), length, len(payload)))
    return t, flags, rid, payload


def encode_environ(pairs):
    """encode_environ encodes (key, value) pairs as a Request payload."""
    return "\x00".join(k + "\x00" + v for k, v in pairs).encode("latin-1")


def decode_environ(payload):
    """decode_environ decodes a Request payload into a new dict.

    This is the per-request hot path: one decode, one split, one dict.
    """
    if not payload:
        return {}
    it = iter(payload.decode("latin-1").split("\x00"))
    return dict(zip(it, it))


def encode_start(status, headers):
    """encode_start encodes a status line and header pairs as a Start payload."""
    parts = [status]
    for name, value in headers:
        parts.append(name)
        parts.append(value)
    return "\x00".join(parts).encode("latin-1")


def decode_start(payload):
    """decode_start returns (status, [(name, value), ...]) from a Start payload."""
    fields = payload.decode("latin-1").split("\x00")
    if len(fields) % 2 != 1:
        raise ProtocolError("start frame has %d fields, want status and pairs" % len(fields))
    it = iter(fields[1:])
    return fields[0], list(zip(it, it))


def encode_json(obj):
    """encode_json encodes a JSON payload (Hello, Ready, BootError, ...)."""
    return json.dumps(obj).encode("utf-8")


def decode_json(payload):
    """decode_json decodes a JSON payload."""
    return json.loads(payload.decode("utf-8"))


class Connection:
    """Connection is one framed connection to the master.

    Reads are done by one thread at a time (the thread that owns the
    connection); sends may come from any thread and are serialised by
    send_lock, which callers that need several sends to stay together (a
    RespBody header followed by sendfile) hold themselves.
    """

    def __init__(self, sock, bufsize=RECV_BUFFER):
        self.sock = sock
        self.fileno = sock.fileno()
        self.send_lock = threading.Lock()
        self._buf = bytearray(bufsize)
        self._view = memoryview(self._buf)
        self._start = 0  # first unconsumed byte in _buf
        self._end = 0    # end of received bytes in _buf
        # Frames of requests the master queued behind the running one,
        # received while it ran (see keep_for_later): served after it.
        self.queued = collections.deque()

    @classmethod
    def connect(cls, path):
        """connect opens a connection to the unix socket at path."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
        except BaseException:
            sock.close()
            raise
        return cls(sock)

    def close(self):
        self.sock.close()

    # -- receiving ---------------------------------------------------------

    def _take(self):
        """_take returns the next whole frame already received, or None.

        It also keeps room in the buffer for the frame being received, and
        reads a frame too large for the buffer on its own (blocking: its
        sender is writing it).
        """
        start = self._start
        avail = self._end - start
        if avail >= HEADER_SIZE:
            t, flags, rid, length = parse_header(self._buf, start)
            need = HEADER_SIZE + length
            if avail >= need:
                start += HEADER_SIZE
                self._start = start + length
                return t, flags, rid, bytes(self._view[start:start + length])
            if need > len(self._buf):
                return self._read_large(t, flags, rid, length)
            if start + need > len(self._buf):
                self._make_room()
        elif avail == 0:
            self._start = self._end = 0
        elif len(self._buf) - start < HEADER_SIZE:
            self._make_room()
        return None

    def _make_room(self):
        """_make_room moves the unconsumed bytes to the front of the buffer."""
        start, end = self._start, self._end
        # bytes() copy: the two ranges may overlap.
        self._buf[:end - start] = bytes(self._view[start:end])
        self._start, self._end = 0, end - start

    def _read_large(self, t, flags, rid, length):
        """_read_large reads a frame whose payload does not fit the buffer."""
        have = self._end - self._start - HEADER_SIZE
        payload = bytearray(length)
        payload[:have] = self._view[self._start + HEADER_SIZE:self._end]
        self._start = self._end = 0
        view = memoryview(payload)
        while have < length:
            n = self.sock.recv_into(view[have:])
            if not n:
                raise ConnectionClosed("connection closed in the middle of a %s frame"
                                       % type_name(t))
            have += n
        return t, flags, rid, bytes(payload)

    def read_frame(self):
        """read_frame blocks until a whole frame arrived and returns
        (type, flags, request_id, payload bytes).

        It raises ConnectionClosed when the master closes the connection and
        ProtocolError for bytes that are not a frame.
        """
        while True:
            frame = self._take()
            if frame is not None:
                return frame
            n = self.sock.recv_into(self._view[self._end:])
            if not n:
                raise ConnectionClosed("connection closed by the master")
            self._end += n

    def next_frame(self):
        """next_frame returns the oldest queued frame (see keep_for_later),
        else blocks like read_frame.
        """
        if self.queued:
            return self.queued.popleft()
        return self.read_frame()

    def keep_for_later(self, frame):
        """keep_for_later is given a frame the running request read that is
        not its own. A Request is one the master queued behind the running
        request (a GET or HEAD without body, written while this thread was
        busy so it finds its next request without waiting): it is kept, with
        any later frame of the same request, for next_frame. It returns
        whether the frame was kept.
        """
        t, rid = frame[0], frame[2]
        if t == REQUEST or any(q[2] == rid for q in self.queued):
            self.queued.append(frame)
            return True
        return False

    def poll_frame(self):
        """poll_frame returns the next frame if one can be had without
        blocking, else None. A partial frame stays buffered for later.
        """
        frame = self._take()
        if frame is not None:
            return frame
        try:
            n = self.sock.recv_into(self._view[self._end:], 0, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return None
        if not n:
            raise ConnectionClosed("connection closed by the master")
        self._end += n
        return self._take()

    # -- sending -----------------------------------------------------------

    def send_frame(self, t, flags, request_id, payload=b""):
        """send_frame sends one frame (header and payload in one sendmsg)."""
        with self.send_lock:
            if payload:
                self.sendmsg_all([HEADER.pack(t, flags, 0, request_id, len(payload)), payload])
            else:
                self.sock.sendall(HEADER.pack(t, flags, 0, request_id, 0))

    def send_json(self, t, obj, request_id=0):
        self.send_frame(t, 0, request_id, encode_json(obj))

    def sendmsg_all(self, buffers):
        """sendmsg_all sends buffers in order with as few sendmsg calls as
        possible. The caller holds send_lock.
        """
        sock = self.sock
        if len(buffers) <= _IOV_MAX:
            sent = sock.sendmsg(buffers)
            if sent == sum(map(len, buffers)):
                return
        else:
            sent = 0
        # Partial send (or too many buffers): continue from where it stopped.
        views = [memoryview(b).cast("B") for b in buffers]
        i = 0
        while True:
            while i < len(views) and sent >= len(views[i]):
                sent -= len(views[i])
                i += 1
            if i == len(views):
                return
            if sent:
                views[i] = views[i][sent:]
            sent = sock.sendmsg(views[i:i + _IOV_MAX])
