"""The engine library's Python builtins (engine/pycall.c), in a python that
loads the real library, as a worker does: start_payload must give exactly
what check_start gives for every response it checks itself, and leave
every other (anything check_start refuses among them) to check_start.

The library is the one the build makes (master/enginelib); each case runs
in a child python, so that loading a Go runtime does not touch the
process running the other tests.
"""

import json
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
LIB = os.environ.get("GOWSGI_ENGINE_LIB") or os.path.join(HERE, "..", "..", "..", "master", "enginelib",
                                                          "libgowsgi-engine.so")

CHILD = r'''
import json, sys
sys.path.insert(0, sys.argv[2])
from _gowsgi import engine, handler
from _gowsgi.wsgi import check_start
lib = engine.load(sys.argv[1])
fast = handler._start_payload
assert fast is not None, "the library gave no start_payload"

class S(str):
    pass

cases = {
    "plain": ("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "12")]),
    "django": ("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("X-Frame-Options", "DENY"),
                          ("Content-Length", "1234"), ("Vary", "Cookie"), ("X-Content-Type-Options", "nosniff"),
                          ("Referrer-Policy", "same-origin"), ("Cross-Origin-Opener-Policy", "same-origin"),
                          ("Set-Cookie", "a=b; Path=/; HttpOnly\tx")]),
    "no headers": ("204 No Content", []),
    "empty reason": ("200 ", []),
    "length with zeros": ("200 OK", [("content-LENGTH", "0012")]),
    "length spaces": ("200 OK", [("Content-Length", " 12 ")]),
    "length empty": ("200 OK", [("Content-Length", "")]),
    "length sign": ("200 OK", [("Content-Length", "-1")]),
    "length huge": ("200 OK", [("Content-Length", "1" * 30)]),
    "hop by hop": ("200 OK", [("Connection", "close")]),
    "hop by hop lower": ("200 OK", [("transfer-encoding", "chunked")]),
    "name with space": ("200 OK", [("X Y", "1")]),
    "empty name": ("200 OK", [("", "1")]),
    "CRLF value": ("200 OK", [("X", "a\r\nSet-Cookie: x")]),
    "NUL value": ("200 OK", [("X", "a\x00b")]),
    "control value": ("200 OK", [("X", "a\x01b")]),
    "latin-1 value": ("200 OK", [("X", "caf\u00e9")]),
    "not latin-1": ("200 OK", [("X", "\u20ac")]),
    "surrogate": ("200 OK", [("X", "\udc80")]),
    "int value": ("200 OK", [("X", 1)]),
    "bytes name": ("200 OK", [(b"X", "1")]),
    "str subclass value": ("200 OK", [("X", S("1"))]),
    "str subclass status": (S("200 OK"), []),
    "bytes status": (b"200 OK", []),
    "short status": ("20 OK", []),
    "no space": ("200OK", []),
    "status CR": ("200 OK\r\n", []),
    "tuple of headers": ("200 OK", (("X", "1"),)),
    "list of lists": ("200 OK", [["X", "1"]]),
    "three-tuple": ("200 OK", [("X", "1", "2")]),
    "not a list": ("200 OK", {"X": "1"}),
    "many headers": ("200 OK", [("X-%d" % i, "v") for i in range(100)]),
}
out = {}
for name, (status, headers) in cases.items():
    try:
        want = ["ok", check_start(status, headers)[0].hex(), check_start(status, headers)[1]]
    except Exception as e:
        want = ["raises", type(e).__name__]
    got = fast(status, headers)
    if got is not None:
        got = ["ok", got[0].hex(), got[1]]
    out[name] = [want, got]
# respond outside a request: the engine has none on that thread.
out["respond outside a request"] = lib.respond(0, b"200 OK", b"x")
try:
    lib.respond(0, "200 OK", b"x")
    out["respond str"] = "no error"
except TypeError:
    out["respond str"] = "TypeError"
print(json.dumps(out))
'''


@unittest.skipUnless(sys.platform.startswith("linux"), "the engine runs on Linux only")
class StartPayloadTest(unittest.TestCase):
    def test_same_as_check_start(self):
        if not os.path.exists(LIB):
            self.fail("no engine library at %s: build it first (make engine)" % LIB)
        p = subprocess.run([sys.executable, "-c", CHILD, LIB, os.path.join(HERE, "..")],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        out = json.loads(p.stdout)
        fast = set()
        for name, result in out.items():
            if not isinstance(result, list):
                continue
            want, got = result
            if got is None:
                continue
            fast.add(name)
            self.assertEqual(got, want, name)
        # The usual responses are the builtin's; what check_start refuses or
        # changes is not.
        self.assertEqual(fast, {"plain", "django", "no headers", "empty reason", "length with zeros"})
        self.assertEqual(out["respond outside a request"], -1)
        self.assertEqual(out["respond str"], "TypeError")


if __name__ == "__main__":
    unittest.main()
