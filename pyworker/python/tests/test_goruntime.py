"""Finding another Go runtime (goruntime.py), on real ELF files.

The Go library is built from testdata/gogo with the go command, as the Go
integration test (cmd/gowsgi TestGoRuntimeFallsBack) builds it; without a
go command on PATH those tests are skipped, the others still run.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from _gowsgi import goruntime

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
GOGO = os.path.join(ROOT, "testdata", "gogo")


def build_go_lib(dir, *flags):
    out = os.path.join(dir, "libgogo%d.so" % len(os.listdir(dir)))
    env = dict(os.environ, CGO_ENABLED="1", GOFLAGS="", GOWORK="off")
    subprocess.run(["go", "build", "-buildmode=c-shared"] + list(flags) + ["-o", out, "."],
                   cwd=GOGO, env=env, check=True, capture_output=True)
    return out


@unittest.skipUnless(sys.platform.startswith("linux"), "/proc/self/maps and ELF: Linux")
class TestGoRuntime(unittest.TestCase):

    def test_python_and_its_libraries_are_not_go(self):
        objs = goruntime.mapped_objects()
        self.assertIn(os.path.realpath(sys.executable), [os.path.realpath(p) for p in objs])
        for p in objs:
            self.assertFalse(goruntime.built_with_go(p), p)
        self.assertEqual(goruntime.foreign_go(), "")

    def test_not_elf(self):
        with tempfile.TemporaryDirectory() as d:
            for name, data in [("text", b"not a library"), ("short", b"\x7fELF\x02\x01"),
                               ("empty", b""), ("bad-shoff", b"\x7fELF\x02\x01" + b"\xff" * 58)]:
                p = os.path.join(d, name)
                with open(p, "wb") as f:
                    f.write(data)
                self.assertFalse(goruntime.built_with_go(p), name)
            self.assertFalse(goruntime.built_with_go(os.path.join(d, "missing")))

    @unittest.skipUnless(shutil.which("go"), "no go command to build a Go library")
    def test_go_library(self):
        with tempfile.TemporaryDirectory() as d:
            plain = build_go_lib(d)
            stripped = build_go_lib(d, "-ldflags=-s -w")
            for lib in (plain, stripped):
                self.assertTrue(goruntime.built_with_go(lib), lib)
            # Loaded by a process of its own: a Go runtime does not unload.
            code = ("import ctypes, sys; from _gowsgi import goruntime; "
                    "ctypes.CDLL(sys.argv[1]); "
                    "print(goruntime.foreign_go()); print(goruntime.foreign_go([sys.argv[1]]) or '-')")
            env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "pyworker", "python"))
            out = subprocess.run([sys.executable, "-c", code, stripped], env=env, check=True,
                                 capture_output=True, text=True).stdout.split("\n")
            self.assertEqual(out[:2], [stripped, "-"])


if __name__ == "__main__":
    unittest.main()
