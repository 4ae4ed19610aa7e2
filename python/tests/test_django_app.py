"""The Django app: runserver's options become gowsgi dev's, and gowsgi.E001.
Skipped without Django."""

import os
import subprocess
import sys
import unittest

try:
    import django  # noqa: F401
    HAVE_DJANGO = True
except ImportError:
    HAVE_DJANGO = False

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@unittest.skipUnless(HAVE_DJANGO, "Django is not installed")
class RunserverArgsTest(unittest.TestCase):
    def parse(self, argv):
        from gowsgi.management.commands.runserver import Command
        return vars(Command().create_parser("manage.py", "runserver").parse_args(argv))

    def test_args(self):
        from gowsgi.management.commands.runserver import dev_args
        base = ["dev", "--python", "/v/bin/python", "--settings", "proj.settings"]
        cases = [
            ("no arguments", [], base + ["/p"]),
            ("a port", ["8001"], base + ["/p", "8001"]),
            ("an address and port", ["0.0.0.0:9000"], base + ["/p", "0.0.0.0:9000"]),
            ("runserver's flags by their names",
             ["--ipv6", "--nothreading", "--noreload", "--skip-checks", "--nostatic", "--insecure", "[::1]:8000"],
             base + ["--ipv6", "--nothreading", "--noreload", "--skip-checks", "--nostatic", "--insecure",
                     "/p", "[::1]:8000"]),
            ("short -6", ["-6"], base + ["--ipv6", "/p"]),
            ("--force-color is --color", ["--force-color"], base + ["--color", "/p"]),
            ("verbosity is not passed", ["-v", "2"], base + ["/p"]),
        ]
        for name, argv, want in cases:
            with self.subTest(name):
                self.assertEqual(dev_args(self.parse(argv), "/p", "proj.settings", "/v/bin/python"), want)


CHECK = """
import django
from django.conf import settings
settings.configure(INSTALLED_APPS=%r)
django.setup()
from django.core import checks
print(",".join(sorted(e.id for e in checks.run_checks() if e.id.startswith("gowsgi."))))
"""


@unittest.skipUnless(HAVE_DJANGO, "Django is not installed")
class AppOrderCheckTest(unittest.TestCase):
    def test_order(self):
        sf = "django.contrib.staticfiles"
        cases = [
            ("gowsgi first", ["gowsgi", sf], ""),
            ("gowsgi after staticfiles is E001", [sf, "gowsgi"], "gowsgi.E001"),
            ("no staticfiles", ["gowsgi"], ""),
        ]
        for name, apps, want in cases:
            with self.subTest(name):
                out = subprocess.run([sys.executable, "-c", CHECK % (apps,)], cwd=PYTHON_DIR,
                                     capture_output=True, text=True, check=True).stdout.strip()
                self.assertEqual(out, want)


if __name__ == "__main__":
    unittest.main()
