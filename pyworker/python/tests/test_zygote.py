"""A zygote started for real: preload, Fork, Forked, workers serving, Exited."""

import json
import os
import shutil
import signal
import tempfile
import unittest

from tests.support import MasterSocket, environ_payload, exchange, finish, start_runtime, wait_until
from _gowsgi import protocol
from _gowsgi.protocol import EXITED, FORK, FORKED, LOG, READY, STOP

APP = '''\
import os
import sys

IMPORTED_BY = os.getpid()


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    import gc
    import json
    body = {"pid": os.getpid(), "imported_by": IMPORTED_BY,
            "mime_preloaded": "email.mime.text" in sys.modules,
            "frozen": gc.get_freeze_count()}
    return [json.dumps(body).encode()]
'''


class ZygoteTestCase(unittest.TestCase):
    def setUp(self):
        self.master = MasterSocket()
        self.addCleanup(self.master.close)
        self.app_dir = tempfile.mkdtemp(prefix="gowsgi-zygote-")
        self.addCleanup(shutil.rmtree, self.app_dir, True)
        with open(os.path.join(self.app_dir, "app.py"), "w") as f:
            f.write(APP)

    def start_zygote(self, preload):
        config = {"mode": "zygote", "socket": self.master.path, "token": "z0", "worker": 1,
                  "generation": 1, "chdir": self.app_dir, "app": {"module": "app"},
                  "threads": 1, "processes": 2, "preload": preload}
        proc = start_runtime(config, cwd=self.app_dir)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        self.addCleanup(lambda: proc.stdout.close() or proc.stderr.close())
        control, hello = self.master.accept()
        self.assertEqual(hello, {"role": "zygote", "token": "z0", "pid": proc.pid})
        return proc, control

    def read_until(self, control, want):
        """read_until returns the next frame of type want, collecting Logs."""
        logs = []
        while True:
            t, flags, rid, payload = control.read_frame()
            if t == LOG:
                logs.append(payload.decode())
                continue
            self.assertEqual(protocol.type_name(t), protocol.type_name(want), payload)
            return protocol.decode_json(payload), logs

    def fork(self, control, n, token):
        control.send_json(FORK, {"worker": n, "generation": 2, "token": token})
        forked, _ = self.read_until(control, FORKED)
        self.assertEqual(forked["worker"], n)
        self.assertIsInstance(forked["pid"], int)
        return forked["pid"]


class Zygote(ZygoteTestCase):
    def test_preload_app_fork_serve_and_exit(self):
        proc, control = self.start_zygote("app")
        ready, _ = self.read_until(control, READY)
        self.assertEqual((ready["pid"], ready["preload"]), (proc.pid, "app"))

        pids = {"t1": self.fork(control, 11, "t1"), "t2": self.fork(control, 12, "t2")}
        workers = self.master.accept_workers(["t1", "t2"], threads=1)
        for token, (wcontrol, hello, threads, wready) in workers.items():
            self.assertEqual(hello["pid"], pids[token])
            self.assertEqual(hello["worker"], {"t1": 11, "t2": 12}[token])
            self.assertEqual(hello["generation"], 2)
            self.assertEqual(wready["pid"], pids[token])
            res = exchange(threads[0], environ_payload())
            self.assertEqual(res.status, "200 OK")
            body = json.loads(res.body)
            self.assertEqual(body["pid"], pids[token])
            self.assertEqual(body["imported_by"], proc.pid)  # imported once, in the zygote
            # The preload's objects were frozen before the fork, so a
            # collection in the worker does not copy their pages.
            self.assertGreater(body["frozen"], 1000)

        os.kill(pids["t1"], signal.SIGKILL)
        exited, _ = self.read_until(control, EXITED)
        self.assertEqual(exited, {"pid": pids["t1"], "worker": 11, "code": None, "signal": 9})

        # A worker that stops cleanly is reported with its code.
        workers["t2"][0].send_frame(STOP, 0, 0)
        exited, _ = self.read_until(control, EXITED)
        self.assertEqual(exited, {"pid": pids["t2"], "worker": 12, "code": 0, "signal": None})

        # The master going away takes the zygote and its children with it.
        pid3 = self.fork(control, 13, "t3")
        self.master.accept_workers(["t3"], threads=1)
        control.close()
        code, out, err = finish(proc)
        self.assertEqual(code, 1, err)
        self.assertTrue(wait_until(lambda: not _alive(pid3)), "child %d survived" % pid3)

    def test_preload_site_does_not_import_the_app(self):
        # The app imports email.mime.text at module level: "site" preloads it.
        with open(os.path.join(self.app_dir, "app.py"), "w") as f:
            f.write("import email.mime.text\n" + APP)
        proc, control = self.start_zygote("site")
        ready, logs = self.read_until(control, READY)
        self.assertEqual(ready["preload"], "site")
        self.assertTrue(any(line.startswith("preload site: imported") for line in logs), logs)
        pid = self.fork(control, 5, "s1")
        wcontrol, hello, threads, wready = self.master.accept_workers(["s1"], 1)["s1"]
        body = json.loads(exchange(threads[0], environ_payload()).body)
        self.assertEqual(body["imported_by"], pid)  # the app was imported in the worker
        control.send_frame(STOP, 0, 0)  # no more forks; exits once its child is gone
        wcontrol.send_frame(STOP, 0, 0)
        exited, _ = self.read_until(control, EXITED)
        self.assertEqual(exited["code"], 0)
        self.assertEqual(finish(proc)[0], 0)

    def test_preload_none_and_boot_error_in_the_child(self):
        with open(os.path.join(self.app_dir, "app.py"), "w") as f:
            f.write("raise RuntimeError('broken app')\n")
        proc, control = self.start_zygote("none")
        self.read_until(control, READY)
        pid = self.fork(control, 7, "b1")
        wcontrol, hello = self.master.accept()
        t, flags, rid, payload = wcontrol.read_frame()
        self.assertEqual(protocol.type_name(t), "BootError")
        self.assertEqual(protocol.decode_json(payload)["message"], "broken app")
        exited, _ = self.read_until(control, EXITED)
        self.assertEqual(exited, {"pid": pid, "worker": 7, "code": 4, "signal": None})
        proc.send_signal(signal.SIGTERM)  # no children left: exits 0
        self.assertEqual(finish(proc)[0], 0)

    def test_preload_app_boot_error(self):
        with open(os.path.join(self.app_dir, "app.py"), "w") as f:
            f.write("x = (\n")
        proc, control = self.start_zygote("app")
        report, _ = self.read_until(control, protocol.BOOT_ERROR)
        self.assertEqual(report["type"], "SyntaxError")
        self.assertEqual(report["filename"], os.path.join(self.app_dir, "app.py"))
        self.assertEqual(finish(proc)[0], 4)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose: its parent (the zygote) has exited
    # and init reaps it.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


if __name__ == "__main__":
    unittest.main()
