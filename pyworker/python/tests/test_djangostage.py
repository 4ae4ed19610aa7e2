"""Tests of the Django stage's decisions that need no Django: which
configs get a stage, and how two probes' fingerprints are compared."""

import unittest

from _gowsgi import djangostage
from _gowsgi.boot import Config


def config(**kw):
    d = {"mode": "zygote", "socket": "/s", "token": "t", "app": {"module": "m.wsgi"}}
    d.update(kw)
    import json
    return Config.from_json(json.dumps(d))


class WantedTest(unittest.TestCase):
    def test_only_dev_django_site_preload(self):
        cases = [
            ("dev Django project", dict(preload="site", django_settings="m.settings", eager_urlconf=True), True),
            ("serve: no eager URLconf", dict(preload="site", django_settings="m.settings"), False),
            ("plain WSGI app", dict(preload="site", eager_urlconf=True), False),
            ("preload app", dict(preload="app", django_settings="m.settings", eager_urlconf=True), False),
        ]
        for name, kw, want in cases:
            with self.subTest(name):
                self.assertEqual(djangostage.wanted(config(**kw)), want)


class CompareTest(unittest.TestCase):
    def test_equal(self):
        fp = {"modules": ["a", "b"], "urls": ["x name=y v.f"]}
        self.assertEqual(djangostage.compare(fp, dict(fp)), "")

    def test_differences_are_named(self):
        # Issue 15's worry: a preload that leaves out the project's page
        # models (Wagtail's API builds its schemas from them at import) must
        # not be used.
        a = {"models": ["home.HomePage: ...", "wagtailcore.Page: ..."], "urls": ["u"]}
        b = {"models": ["wagtailcore.Page: ..."], "urls": ["u"]}
        diff = djangostage.compare(a, b)
        self.assertIn("models", diff)
        self.assertIn("home.HomePage", diff)
        self.assertNotIn("urls", diff)

    def test_order_matters(self):
        diff = djangostage.compare({"apps": ["a", "b"]}, {"apps": ["b", "a"]})
        self.assertIn("another order", diff)

    def test_missing_key(self):
        self.assertIn("admin", djangostage.compare({"admin": ["x"]}, {}))


class UnderTest(unittest.TestCase):
    def test_under(self):
        pkgs = ["wagtail", "django.contrib"]
        for name, want in [("wagtail", True), ("wagtail.api.v3", True), ("wagtailmedia", False),
                           ("django.contrib.admin", True), ("django.forms", False), ("pydantic", False)]:
            with self.subTest(name):
                self.assertEqual(djangostage._under(name, pkgs), want)


if __name__ == "__main__":
    unittest.main()


class StandbyValidTest(unittest.TestCase):
    """standby_valid: a standby may fork while no file it imported changed
    and no .py file appeared that django.setup() could discover."""

    def setUp(self):
        import os
        import shutil
        import tempfile
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        os.makedirs(os.path.join(self.dir, "app"))
        for name in ("models.py", "views.py"):
            with open(os.path.join(self.dir, "app", name), "w") as f:
                f.write("X = 1\n")
        self.config = config(chdir=self.dir)
        models = os.path.join(self.dir, "app", "models.py")
        st = os.stat(models)
        self.info = {"files": {models: [st.st_mtime_ns, st.st_size]},
                     "tree": sorted(djangostage.py_files(self.config))}

    def write(self, rel, text, bump=True):
        import os
        path = os.path.join(self.dir, rel)
        with open(path, "w") as f:
            f.write(text)
        if bump:
            st = os.stat(path)
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))

    def test_unchanged(self):
        self.assertTrue(djangostage.standby_valid(self.config, self.info))

    def test_file_it_did_not_import_changed(self):
        self.write("app/views.py", "X = 2\n")
        self.assertTrue(djangostage.standby_valid(self.config, self.info))

    def test_file_it_imported_changed(self):
        self.write("app/models.py", "X = 2\n")
        self.assertFalse(djangostage.standby_valid(self.config, self.info))

    def test_new_file_setup_could_import(self):
        self.write("app/admin.py", "")
        self.assertFalse(djangostage.standby_valid(self.config, self.info))

    def test_new_migration_does_not_count(self):
        import os
        os.makedirs(os.path.join(self.dir, "app", "migrations"))
        self.write("app/migrations/0002_x.py", "")
        self.assertTrue(djangostage.standby_valid(self.config, self.info))
