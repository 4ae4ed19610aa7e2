"""The zygote's Django preload against testdata/mysite.

Skipped when the interpreter running the tests has no Django (install
testdata/requirements.txt to run them), except the project's virtualenvs.
"""

import json
import os
import subprocess
import sys
import unittest

from tests.support import REPO, MasterSocket, PYTHON_DIR, environ_payload, exchange, finish, start_runtime
from _gowsgi.protocol import FORK, FORKED, LOG, NOTIFY, READY, STOP

MYSITE = os.path.join(REPO, "testdata", "mysite")

try:
    import django
    HAVE_DJANGO = bool(django.VERSION) and os.path.isdir(MYSITE)
except (ImportError, AttributeError):
    # AttributeError: a directory named django on sys.path that is not
    # Django (a namespace package) is no Django either.
    HAVE_DJANGO = False

# The project's virtualenvs, which `make test` creates with Django (.venv,
# .venv-django6), always run them: a skip there would hide a Django that
# failed to install (issue 13, bug 6). Other interpreters may lack it.
IN_PROJECT_VENV = (os.path.dirname(os.path.realpath(sys.prefix)) == os.path.realpath(REPO)
                   and os.path.basename(sys.prefix).startswith(".venv"))

PROBE = '''
import json, os, sys
sys.path.insert(0, %(python_dir)r)
from _gowsgi import boot, preload
c = boot.Config.from_json(json.dumps({"mode": "zygote", "socket": "/x", "token": "t",
    "chdir": %(mysite)r, "app": {"module": "mysite.wsgi"}, "preload": "site",
    "django_settings": "mysite.settings"}))
boot.prepare(c)
logs = []
preload.preload_site(c, logs.append)
from django.apps import apps
from django.conf import settings
project = sorted(n for n, m in list(sys.modules.items())
                 if (getattr(m, "__file__", None) or "").startswith(%(mysite)r))
print(json.dumps({"logs": logs, "project": project, "apps_ready": apps.ready,
                  "configured": settings.configured,
                  "settings_env": os.environ.get("DJANGO_SETTINGS_MODULE"),
                  "path0": sys.path[0],
                  "have": [m for m in ("django.core.handlers.wsgi", "django.db.models",
                                       "django.template.defaulttags", "django.contrib.admin")
                           if m in sys.modules]}))
'''


@unittest.skipUnless(HAVE_DJANGO or IN_PROJECT_VENV, "Django is not installed for this interpreter")
class DjangoPreload(unittest.TestCase):
    def test_site_preload_imports_django_but_not_the_project(self):
        out = subprocess.run([sys.executable, "-c", PROBE % {"python_dir": PYTHON_DIR,
                                                            "mysite": MYSITE}],
                             cwd=MYSITE, capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        info = json.loads(out.stdout)
        self.assertEqual(info["project"], [])
        self.assertFalse(info["apps_ready"])      # no django.setup()
        self.assertFalse(info["configured"])      # settings never read
        self.assertEqual(info["settings_env"], "mysite.settings")  # put back afterwards
        self.assertEqual(info["path0"], MYSITE)
        self.assertEqual(len(info["have"]), 4, info)
        self.assertIn("preload site: imported", info["logs"][0])

    def test_zygote_site_preload_serves_mysite(self):
        master = MasterSocket()
        self.addCleanup(master.close)
        config = {"mode": "zygote", "socket": master.path, "token": "z", "chdir": MYSITE,
                  "app": {"module": "mysite.wsgi"}, "threads": 2, "processes": 1,
                  "preload": "site", "django_settings": "mysite.settings", "report_files": True}
        proc = start_runtime(config, cwd=MYSITE)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        control, hello = master.accept()
        logs = []
        while True:
            t, flags, rid, payload = control.read_frame()
            if t != LOG:
                break
            logs.append(payload.decode())
        self.assertEqual(t, READY, logs)
        control.send_json(FORK, {"worker": 1, "generation": 1, "token": "w1"})
        t, flags, rid, payload = control.read_frame()
        self.assertEqual(t, FORKED)
        wcontrol, hello, threads, ready = master.accept_workers(["w1"], 2)["w1"]
        # The worker imported the URLconf (and the views) before its Ready,
        # not at its first request (worker.import_urlconf).
        urls = os.path.join(MYSITE, "mysite", "urls.py")
        self.assertIn(urls, ready.get("files", []))
        res = exchange(threads[1], environ_payload(path="/pid/"))
        self.assertEqual(res.status, "200 OK", res.app_error or res.body)
        template = os.path.join(MYSITE, "templates", "index.html")
        wcontrol.send_json(NOTIFY, {"changed": [template]})
        res = exchange(threads[0], environ_payload(path="/"), rid=2)
        self.assertEqual(res.status, "200 OK", res.body[:500])
        wcontrol.send_frame(STOP, 0, 0)
        control.send_frame(STOP, 0, 0)
        code, out, err = finish(proc)
        self.assertEqual(code, 0, err)
        self.assertNotIn("Traceback", err)


if __name__ == "__main__":
    unittest.main()
