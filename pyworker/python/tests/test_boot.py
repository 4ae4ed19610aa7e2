"""Worker processes started for real, as the Go master starts them, against a
unix socket in a temp dir standing in for the master.
"""

import json
import os
import shutil
import signal
import tempfile
import textwrap
import unittest

from tests.support import MasterSocket, environ_payload, exchange, finish, start_runtime
from _gowsgi import protocol
from _gowsgi.protocol import DUMP, STACK, STOP

GOOD_APP = '''\
import os
import sys
import threading

HAD_CONFIG = "GOWSGI_CONFIG" in os.environ


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    info = {"pid": os.getpid(), "thread": threading.current_thread().name,
            "had_config": HAD_CONFIG, "path0": sys.path[0], "cwd": os.getcwd(),
            "multithread": environ["wsgi.multithread"],
            "multiprocess": environ["wsgi.multiprocess"]}
    import json
    return [json.dumps(info).encode()]
'''


class BootTestCase(unittest.TestCase):
    def setUp(self):
        self.master = MasterSocket()
        self.addCleanup(self.master.close)
        self.app_dir = tempfile.mkdtemp(prefix="gowsgi-app-")
        self.addCleanup(shutil.rmtree, self.app_dir, True)

    def write(self, name, text):
        path = os.path.join(self.app_dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(textwrap.dedent(text))
        return path

    def config(self, **kw):
        c = {"mode": "worker", "socket": self.master.path, "token": "00ff", "worker": 3,
             "generation": 1, "chdir": self.app_dir, "app": {"module": "app"},
             "threads": 1, "processes": 1}
        c.update(kw)
        return c

    def start(self, config):
        proc = start_runtime(config, cwd=self.app_dir)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        self.addCleanup(lambda: proc.stdout.close() or proc.stderr.close())
        return proc

    def boot_error(self, app_spec):
        """boot_error starts a worker for a broken app and returns its
        BootError payload, exit code and stderr.
        """
        proc = self.start(self.config(app=app_spec))
        control, hello = self.master.accept()
        self.assertEqual(hello["role"], "control")
        t, flags, rid, payload = control.read_frame()
        self.assertEqual(protocol.type_name(t), "BootError")
        code, out, err = finish(proc)
        return protocol.decode_json(payload), code, err


class GoodApp(BootTestCase):
    def test_hello_ready_serve_dump_stop(self):
        self.write("app.py", GOOD_APP)
        proc = self.start(self.config(threads=2, processes=2))
        workers = self.master.accept_workers(["00ff"], threads=2)
        control, hello, threads, ready = workers["00ff"]
        self.assertEqual(hello, {"role": "control", "token": "00ff", "worker": 3,
                                 "generation": 1, "pid": proc.pid})
        self.assertEqual(ready["pid"], proc.pid)
        self.assertEqual(ready["threads"], 2)
        self.assertEqual(ready["app"], "app:application")
        self.assertIn(".", ready["python"])

        infos = []
        for i, conn in enumerate(threads):
            res = exchange(conn, environ_payload(), rid=i + 1)
            self.assertEqual(res.status, "200 OK")
            infos.append(json.loads(res.body))
        self.assertEqual(infos[0]["thread"], "MainThread")  # thread 0: no thread hop
        self.assertEqual(infos[1]["thread"], "gowsgi-thread-1")
        for info in infos:
            self.assertFalse(info["had_config"])  # popped before the app was imported
            self.assertEqual(info["path0"], self.app_dir)
            self.assertEqual(os.path.realpath(info["cwd"]), os.path.realpath(self.app_dir))
            self.assertTrue(info["multithread"])
            self.assertTrue(info["multiprocess"])

        control.send_json(DUMP, {"thread": 1})
        t, flags, rid, payload = control.read_frame()
        self.assertEqual(t, STACK)
        stack = protocol.decode_json(payload)
        self.assertEqual(stack["thread"], 1)
        self.assertIn("serve_forever", stack["stack"])

        control.send_frame(STOP, 0, 0)
        code, out, err = finish(proc)
        self.assertEqual(code, 0, err)

    def test_wsgi_file_and_pythonpath(self):
        extra = tempfile.mkdtemp(prefix="gowsgi-extra-")
        self.addCleanup(shutil.rmtree, extra, True)
        with open(os.path.join(extra, "helper_mod.py"), "w") as f:
            f.write("GREETING = b'hi from pythonpath'\n")
        path = self.write("site.wsgi", """\
            import helper_mod

            def app(environ, start_response):
                start_response("200 OK", [("Content-Type", "text/plain")])
                return [helper_mod.GREETING]
            """)
        proc = self.start(self.config(app={"wsgi_file": path, "callable": "app"},
                                      pythonpath=[extra]))
        control, hello, threads, ready = self.master.accept_workers(["00ff"], 1)["00ff"]
        self.assertEqual(ready["app"], path + ":app")
        self.assertEqual(exchange(threads[0], environ_payload()).body, b"hi from pythonpath")
        proc.send_signal(signal.SIGTERM)  # graceful stop, idle: exits 0
        self.assertEqual(finish(proc)[0], 0)

    def test_module_colon_callable(self):
        self.write("pkg/__init__.py", "")
        self.write("pkg/web.py", """\
            def make(environ, start_response):
                start_response("200 OK", [("Content-Type", "text/plain")])
                return [b"made"]
            """)
        proc = self.start(self.config(app={"module": "pkg.web:make"}))
        control, hello, threads, ready = self.master.accept_workers(["00ff"], 1)["00ff"]
        self.assertEqual(ready["app"], "pkg.web:make")
        self.assertEqual(exchange(threads[0], environ_payload()).body, b"made")
        control.close()  # the master died: exit 1 at once
        self.assertEqual(finish(proc)[0], 1)

    def test_module_factory_call(self):
        # Issue 17: uWSGI's module = pkg.web:create_app() calls the factory.
        self.write("pkg/__init__.py", "")
        self.write("pkg/web.py", """\
            CALLS = []

            def create_app():
                CALLS.append(1)
                def app(environ, start_response):
                    start_response("200 OK", [("Content-Type", "text/plain")])
                    return [b"from the factory, called %d time(s)" % len(CALLS)]
                return app
            """)
        proc = self.start(self.config(app={"module": "pkg.web:create_app()"}))
        control, hello, threads, ready = self.master.accept_workers(["00ff"], 1)["00ff"]
        self.assertEqual(ready["app"], "pkg.web:create_app()")
        self.assertEqual(exchange(threads[0], environ_payload()).body, b"from the factory, called 1 time(s)")
        control.close()
        self.assertEqual(finish(proc)[0], 1)

    def test_sigint_is_ignored(self):
        self.write("app.py", GOOD_APP)
        proc = self.start(self.config())
        control, hello, threads, ready = self.master.accept_workers(["00ff"], 1)["00ff"]
        proc.send_signal(signal.SIGINT)
        self.assertEqual(exchange(threads[0], environ_payload()).status, "200 OK")
        control.send_frame(STOP, 0, 0)
        self.assertEqual(finish(proc)[0], 0)


class BrokenApps(BootTestCase):
    def assert_source(self, report, lineno, text):
        current = [s for s in report["source"] if s["current"]]
        self.assertEqual(current, [{"lineno": lineno, "line": text, "current": True}])
        self.assertLessEqual(len(report["source"]), 5)

    def test_syntax_error(self):
        path = self.write("app.py", """\
            import os

            def application(environ, start_response)
                return []
            """)
        report, code, err = self.boot_error({"module": "app"})
        self.assertEqual(code, 4)
        self.assertEqual(report["type"], "SyntaxError")
        self.assertEqual(report["filename"], path)
        self.assertEqual(report["lineno"], 3)
        self.assert_source(report, 3, "def application(environ, start_response)")
        self.assertIn("SyntaxError", report["traceback"])
        self.assertIn("SyntaxError", err)  # printed on stderr too
        self.assertNotIn("_gowsgi", report["traceback"])

    def test_exception_at_import_in_a_helper_module(self):
        self.write("app.py", """\
            import helper

            def application(environ, start_response):
                return []
            """)
        path = self.write("helper.py", """\
            X = 1
            Y = 2
            Z = X // (Y - 2)
            """)
        report, code, err = self.boot_error({"module": "app"})
        self.assertEqual(code, 4)
        self.assertEqual(report["type"], "ZeroDivisionError")
        self.assertEqual(report["message"], "integer division or modulo by zero")
        self.assertEqual((report["filename"], report["lineno"]), (path, 3))
        self.assert_source(report, 3, "Z = X // (Y - 2)")
        self.assertEqual([s["lineno"] for s in report["source"]], [1, 2, 3])
        self.assertIn('helper.py", line 3', report["traceback"])
        self.assertTrue(report["traceback"].startswith(
            'Traceback (most recent call last):\n  File "%s", line 1, in <module>\n'
            % os.path.join(self.app_dir, "app.py")), report["traceback"])
        self.assertIn("ZeroDivisionError", err)

    def test_missing_module(self):
        path = self.write("app.py", "import os\nimport nope_not_here\n")
        report, code, err = self.boot_error({"module": "app"})
        self.assertEqual(code, 4)
        self.assertEqual(report["type"], "ModuleNotFoundError")
        self.assertEqual(report["message"], "No module named 'nope_not_here'")
        self.assertEqual((report["filename"], report["lineno"]), (path, 2))

    def test_app_module_missing(self):
        report, code, err = self.boot_error({"module": "no_such_app"})
        self.assertEqual(code, 4)
        self.assertEqual(report["message"], "No module named 'no_such_app'")
        self.assertIsNone(report["filename"])

    def test_callable_missing(self):
        path = self.write("app.py", "app = None\n")
        report, code, err = self.boot_error({"module": "app", "callable": "application"})
        self.assertEqual(code, 4)
        self.assertEqual(report["type"], "_gowsgi.boot.AppNotFound")
        self.assertIn("app has no attribute 'application'", report["message"])
        self.assertEqual(report["filename"], path)

    def test_callable_not_callable(self):
        self.write("app.py", "application = 42\n")
        report, code, err = self.boot_error({"module": "app"})
        self.assertEqual(code, 4)
        self.assertEqual(report["message"], "app:application is a int, not a WSGI callable")

    def test_wsgi_file_missing(self):
        report, code, err = self.boot_error({"wsgi_file": "/nonexistent/app.py"})
        self.assertEqual(code, 4)
        self.assertEqual(report["type"], "FileNotFoundError")
        self.assertEqual(report["filename"], "/nonexistent/app.py")


class CannotStart(BootTestCase):
    def run_bad(self, config):
        proc = start_runtime(config, cwd=self.app_dir)
        code, out, err = finish(proc)
        proc.stdout.close()
        proc.stderr.close()
        return code, err

    def test_bad_config(self):
        cases = [
            ("not json", "{mode: worker"),
            ("not an object", "[1, 2]"),
            ("no socket", json.dumps({"mode": "worker", "token": "x", "app": {"module": "a"}})),
            ("bad mode", json.dumps({"mode": "zombie", "socket": "/x", "token": "x",
                                     "app": {"module": "a"}})),
            ("no app", json.dumps({"mode": "worker", "socket": "/x", "token": "x"})),
            ("threads", json.dumps({"mode": "worker", "socket": "/x", "token": "x",
                                    "threads": "2", "app": {"module": "a"}})),
        ]
        for name, raw in cases:
            with self.subTest(name):
                code, err = self.run_bad(raw)
                self.assertEqual(code, 3)
                self.assertEqual(len(err.strip().splitlines()), 1, err)
                self.assertIn("gowsgi: cannot start the python runtime", err)

    def test_no_config(self):
        code, err = self.run_bad("")
        self.assertEqual(code, 3)
        self.assertIn("GOWSGI_CONFIG is not set", err)

    def test_cannot_connect(self):
        code, err = self.run_bad(self.config(socket=os.path.join(self.app_dir, "gone.sock")))
        self.assertEqual(code, 3)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertIn("cannot connect to the master", err)


if __name__ == "__main__":
    unittest.main()
