"""Finding the gowsgi executable (gowsgi/executable.py). Standard library
only; run from the repository root:

    python -m unittest discover -s python/tests -t python
"""

import os
import tempfile
import unittest
from unittest import mock

from gowsgi import executable


def make(root, d, mode):
    os.makedirs(os.path.join(root, d), exist_ok=True)
    p = os.path.join(root, d, executable.EXE)
    with open(p, "w") as f:
        f.write("#!/bin/sh\n")
    os.chmod(p, mode)


class FindTest(unittest.TestCase):
    def test_cases(self):
        cases = [
            # (name, files to make {dir: mode}, candidate dirs, wanted dir or None)
            ("first candidate wins", {"a": 0o755, "b": 0o755}, ("a", "b"), "a"),
            ("a later candidate is found", {"b": 0o755}, ("a", "b"), "b"),
            ("a file without the exec bit is skipped", {"a": 0o644, "b": 0o755}, ("a", "b"), "b"),
            ("none is a GowsgiNotFound", {"a": 0o644}, ("a", "b"), None),
        ]
        for name, files, dirs, want in cases:
            with self.subTest(name), tempfile.TemporaryDirectory() as root:
                for d, mode in files.items():
                    make(root, d, mode)
                candidates = [os.path.join(root, d) for d in dirs]
                with mock.patch.object(executable, "_candidates", return_value=candidates):
                    if want is None:
                        with self.assertRaises(executable.GowsgiNotFound):
                            executable.find_gowsgi_bin()
                    else:
                        got = executable.find_gowsgi_bin()
                        self.assertEqual(got, os.path.join(root, want, executable.EXE))

    def test_missing_message_says_what_and_how(self):
        dirs = ["/nonexistent/venv/bin"]
        with mock.patch.object(executable, "_candidates", return_value=dirs):
            with self.assertRaises(executable.GowsgiNotFound) as cm:
                executable.find_gowsgi_bin()
        msg = str(cm.exception)
        for want in ("executable is missing", dirs[0], "pip install --force-reinstall gowsgi-server",
                     "Building from source"):
            self.assertIn(want, msg)

    def test_candidates_start_with_the_scripts_dir(self):
        import sysconfig
        self.assertEqual(executable._candidates()[0], sysconfig.get_path("scripts"))


if __name__ == "__main__":
    unittest.main()
