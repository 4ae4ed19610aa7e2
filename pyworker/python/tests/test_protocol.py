"""The codec against the golden frames shared with the Go side (testdata/frames)."""

import json
import os
import socket
import unittest

from tests.support import FRAMES_DIR
from _gowsgi import protocol


def load_manifest():
    with open(os.path.join(FRAMES_DIR, "frames.json"), encoding="utf-8") as f:
        frames = json.load(f)["frames"]
    # No frame would make every golden test a loop of zero iterations
    # (issue 13, bug 6).
    if not frames:
        raise AssertionError("frames.json lists no frames")
    return frames


def expected_payload(g):
    """expected_payload builds an entry's payload by the rules of
    pyworker/protocol_test.go: payload_text as UTF-8, payload_hex as hex,
    environ and start pairs latin-1 encoded.
    """
    if "payload_text" in g:
        return g["payload_text"].encode("utf-8")
    if "payload_hex" in g:
        return bytes.fromhex(g["payload_hex"])
    if "environ" in g:
        return protocol.encode_environ(g["environ"])
    if "start" in g:
        status, headers = g["start"]
        return protocol.encode_start(status, headers)
    return b""


class GoldenFrames(unittest.TestCase):
    def test_manifest_is_not_empty(self):
        self.assertGreater(len(load_manifest()), 10)

    def test_encode_matches_golden_bytes(self):
        for g in load_manifest():
            with self.subTest(g["name"]):
                with open(os.path.join(FRAMES_DIR, g["name"] + ".bin"), "rb") as f:
                    golden = f.read()
                t = protocol.TYPES_BY_NAME[g["type"]]
                enc = protocol.encode_frame(t, g["flags"], g["request_id"], expected_payload(g))
                self.assertEqual(enc.hex(), golden.hex())

    def test_decode_golden_bytes(self):
        for g in load_manifest():
            with self.subTest(g["name"]):
                with open(os.path.join(FRAMES_DIR, g["name"] + ".bin"), "rb") as f:
                    golden = f.read()
                t, flags, rid, payload = protocol.decode_frame(golden)
                self.assertEqual(protocol.type_name(t), g["type"])
                self.assertEqual(flags, g["flags"])
                self.assertEqual(rid, g["request_id"])
                self.assertEqual(payload, expected_payload(g))
                if "environ" in g:
                    environ = protocol.decode_environ(payload)
                    self.assertEqual(list(environ.items()), [tuple(kv) for kv in g["environ"]])
                if "start" in g:
                    status, headers = protocol.decode_start(payload)
                    self.assertEqual(status, g["start"][0])
                    self.assertEqual(headers, [tuple(kv) for kv in g["start"][1]])
                if g["type"] in ("Hello", "BootError"):
                    self.assertIsInstance(protocol.decode_json(payload), dict)

    def test_golden_frames_through_a_connection(self):
        # All golden frames back to back, read in one stream.
        names = [g["name"] for g in load_manifest()]
        blob = b""
        for n in names:
            with open(os.path.join(FRAMES_DIR, n + ".bin"), "rb") as f:
                blob += f.read()
        a, b = socket.socketpair()
        with a, b:
            a.sendall(blob)
            a.shutdown(socket.SHUT_WR)
            conn = protocol.Connection(b, bufsize=64)  # small: exercises refills
            got = []
            while True:
                try:
                    t, flags, rid, payload = conn.read_frame()
                except protocol.ConnectionClosed:
                    break
                got.append(protocol.encode_frame(t, flags, rid, payload))
        self.assertEqual(b"".join(got), blob)


class HeaderErrors(unittest.TestCase):
    # The same table as TestParseHeaderErrors in pyworker/protocol_test.go.
    cases = [
        ("short", bytes([1, 0, 0]), protocol.ProtocolError),
        ("reserved set", bytes([1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0]), protocol.ProtocolError),
        ("unknown type", bytes([99, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]), protocol.ProtocolError),
        ("too large", bytes([2, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1]), protocol.FrameTooLarge),
    ]

    def test_parse_header_errors(self):
        for name, raw, exc in self.cases:
            with self.subTest(name):
                with self.assertRaises(exc):
                    protocol.parse_header(raw)

    def test_max_payload_is_accepted(self):
        h = protocol.header(protocol.BODY, 0, 1, protocol.MAX_PAYLOAD)
        self.assertEqual(protocol.parse_header(h), (protocol.BODY, 0, 1, protocol.MAX_PAYLOAD))


class ConnectionReads(unittest.TestCase):
    def test_large_frame_and_partial_poll(self):
        a, b = socket.socketpair()
        with a, b:
            conn = protocol.Connection(b, bufsize=1024)
            big = bytes(range(256)) * 40  # larger than the buffer
            frame = protocol.encode_frame(protocol.BODY, 0, 5, big)
            a.sendall(frame[:7])
            self.assertIsNone(conn.poll_frame())  # partial header stays buffered
            a.sendall(frame[7:] + protocol.encode_frame(protocol.ABORT, 0, 5))
            self.assertEqual(conn.read_frame(), (protocol.BODY, 0, 5, big))
            self.assertEqual(conn.read_frame(), (protocol.ABORT, 0, 5, b""))
            self.assertIsNone(conn.poll_frame())
            a.close()
            with self.assertRaises(protocol.ConnectionClosed):
                conn.poll_frame()

    def test_sendmsg_all_partial_sends(self):
        # A receiver that reads slowly forces partial sendmsg calls.
        a, b = socket.socketpair()
        with a, b:
            a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
            conn = protocol.Connection(a)
            parts = [bytes([i]) * 100000 for i in range(5)] + [b"x"] * 2000
            import threading
            got = bytearray()

            def drain():
                while len(got) < 502000:
                    got.extend(b.recv(65536))
            t = threading.Thread(target=drain)
            t.start()
            with conn.send_lock:
                conn.sendmsg_all(parts)
            t.join(10)
            self.assertEqual(bytes(got), b"".join(parts))


if __name__ == "__main__":
    unittest.main()
