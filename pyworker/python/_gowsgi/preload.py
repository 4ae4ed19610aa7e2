"""What a zygote imports before it forks workers (preload "site" and "app").

Modules imported in the zygote are shared copy-on-write by every worker it
forks, and a new worker starts without importing them again.

"app" imports the app itself, like uWSGI's default preforking.

"site" imports only third-party and standard library modules, never the
project's own code: the app may then be changed and a new generation forked
from the same zygote. The modules are the ones the project's sources import
at module level (found with ast, without running anything), and for a Django
project a list of Django modules that import cleanly before settings are
configured. During the preload the project's directories are taken off
sys.path and DJANGO_SETTINGS_MODULE out of the environment, so that no
third-party module can import the project's code (as reading
django.conf.settings would); an import that needs them fails, is reported
in one Log line, and the worker imports it later as usual. django.setup() is
never called here.
"""

import ast
import os
import sys
import sysconfig
import time

from . import boot

# Django modules that import without configured settings (checked on Django
# 5.2): the request handler, ORM, templates, forms, middleware and
# the contrib packages' __init__ (their models need the app registry).
DJANGO_MODULES = (
    "django", "django.conf", "django.apps", "django.core.handlers.wsgi", "django.core.wsgi",
    "django.http", "django.urls", "django.db", "django.db.models",
    "django.db.backends.base.base", "django.db.backends.sqlite3.base",
    "django.template", "django.template.loader", "django.template.defaulttags",
    "django.template.defaultfilters", "django.template.loader_tags",
    "django.templatetags.static", "django.templatetags.i18n", "django.views.generic",
    "django.views.decorators.csrf", "django.shortcuts", "django.forms",
    "django.middleware.common", "django.middleware.csrf", "django.middleware.security",
    "django.middleware.clickjacking", "django.middleware.locale",
    "django.contrib.sessions.middleware", "django.contrib.sessions.backends.db",
    "django.contrib.messages.middleware", "django.contrib.staticfiles.handlers",
    "django.core.cache", "django.core.mail", "django.core.serializers",
    "django.core.paginator", "django.core.validators", "django.utils.timezone",
    "django.utils.translation", "django.conf.urls.static",
    "django.contrib.admin", "django.contrib.admin.sites", "django.contrib.auth",
    "django.contrib.auth.hashers", "django.contrib.contenttypes", "django.contrib.sessions",
    "django.contrib.messages", "django.contrib.staticfiles", "django.contrib.humanize",
    "django.contrib.sites", "django.contrib.sitemaps", "django.contrib.syndication",
    "django.contrib.flatpages", "django.contrib.redirects",
)

# Django modules preloaded only when their driver is installed.
DJANGO_DRIVER_MODULES = {
    "django.db.backends.postgresql.base": ("psycopg", "psycopg2"),
    "django.contrib.postgres": ("psycopg", "psycopg2"),
    "django.db.backends.mysql.base": ("MySQLdb",),
    "django.db.backends.oracle.base": ("oracledb", "cx_Oracle"),
}

# Exceptions that only say "not before django.setup()": expected for model
# modules, so they are counted, not listed.
NEEDS_SETUP = frozenset(("ImproperlyConfigured", "AppRegistryNotReady"))

# Standard modules with effects at import, or of no use to a server.
SKIP = frozenset(("antigravity", "this", "__main__", "__future__", "idlelib", "tkinter",
                  "turtle", "turtledemo", "pydoc", "test", "unittest", "doctest", "pdb"))

# Bounds of the scan of the project's sources.
MAX_FILES = 2000
MAX_DEPTH = 8
SKIP_DIRS = frozenset(("node_modules", "__pycache__", "site-packages", "dist-packages",
                       "migrations", "tests", "test", "docs", "build", "dist", "static",
                       "media", "venv", "env"))


def preload_site(config, log):
    """preload_site imports the third-party and standard modules the app is
    likely to need. Failures are logged with log(text), never raised.
    """
    t0 = time.monotonic()
    before = len(sys.modules)
    project = [os.path.abspath(p) for p in [config.chdir] + list(config.pythonpath)]
    names = project_imports(project)
    is_django = bool(config.django_settings or os.environ.get("DJANGO_SETTINGS_MODULE")
                     or "django" in {n.split(".")[0] for n in names})
    wanted = []
    if is_django:
        wanted.extend(DJANGO_MODULES)
        wanted.extend(m for m, drivers in DJANGO_DRIVER_MODULES.items()
                      if any(_findable(d) for d in drivers))
    site_dirs = boot.site_dirs()
    wanted.extend(name for name in sorted(names) if _is_library(name, project, site_dirs))
    failed = []
    need_setup = 0
    saved_path = sys.path[:]
    saved_settings = os.environ.pop("DJANGO_SETTINGS_MODULE", None)
    sys.path[:] = [p for p in sys.path if boot.is_under(os.path.abspath(p), site_dirs)
                   or (p not in ("", ".") and not boot.is_under(os.path.abspath(p), project))]
    try:
        for name in wanted:
            if name in sys.modules:
                continue
            try:
                __import__(name)
            except BaseException as e:  # noqa: a broken library must not stop the zygote
                if isinstance(e, KeyboardInterrupt):
                    raise
                if type(e).__name__ in NEEDS_SETUP:
                    need_setup += 1
                    continue
                failed.append("%s (%s: %s)" % (name, type(e).__name__,
                                                str(e).splitlines()[0][:100] if str(e) else ""))
    finally:
        sys.path[:] = saved_path
        if saved_settings is not None:
            os.environ["DJANGO_SETTINGS_MODULE"] = saved_settings
    text = "preload site: imported %d modules in %.2fs" % (len(sys.modules) - before,
                                                          time.monotonic() - t0)
    if need_setup:
        text += "; %d need the app's settings and are left to the workers" % need_setup
    if failed:
        text += "; not preloaded (the workers import them): " + ", ".join(failed)
    log(text)


def _findable(name):
    import importlib.util
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def project_imports(dirs):
    """project_imports returns the absolute module names imported at module
    level by the .py files under dirs (bounded by MAX_FILES and MAX_DEPTH).
    """
    names = set()
    count = 0
    for root in dirs:
        root = root.rstrip(os.sep) or os.sep
        base_depth = root.count(os.sep)
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in SKIP_DIRS
                           and not os.path.exists(os.path.join(dirpath, d, "pyvenv.cfg"))]
            if dirpath.count(os.sep) - base_depth >= MAX_DEPTH:
                dirnames[:] = []
            for fn in filenames:
                if not fn.endswith(".py"):
                    continue
                count += 1
                if count > MAX_FILES:
                    return names
                _imports_of_file(os.path.join(dirpath, fn), names)
    return names


def _imports_of_file(path, names):
    try:
        with open(path, "rb") as f:
            tree = ast.parse(f.read(), path)
    except (OSError, SyntaxError, ValueError):
        return
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.module and not node.level:
                names.add(node.module)
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                todo.extend(node.body)
            todo.extend(node.orelse)
        elif isinstance(node, ast.Try):
            todo.extend(node.body)
            todo.extend(node.orelse)
            for h in node.handlers:
                todo.extend(h.body)
        elif isinstance(node, ast.With):
            todo.extend(node.body)
        # Imports inside functions and classes are lazy on purpose: left out.


def _is_type_checking(test):
    return ((isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
            or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def _is_library(name, project, site_dirs):
    """_is_library says whether module name is third-party or standard,
    judged from where its top-level package is (found without importing it).
    """
    import importlib.util
    top = name.split(".")[0]
    if top in SKIP or name in SKIP:
        return False
    if top in sys.builtin_module_names:
        return True
    if top in sys.modules:
        spec = getattr(sys.modules[top], "__spec__", None)
    else:
        try:
            spec = importlib.util.find_spec(top)
        except (ImportError, ValueError):
            return False
    if spec is None:
        return False
    origin = spec.origin
    if spec.submodule_search_locations:
        origin = list(spec.submodule_search_locations)[0]
    if not origin or origin in ("built-in", "frozen"):
        return True
    origin = os.path.abspath(origin)
    if boot.is_under(origin, site_dirs):
        return True
    if boot.is_under(origin, project):
        return False
    stdlib = [os.path.abspath(p) for p in (sysconfig.get_path("stdlib"),
                                            sysconfig.get_path("platstdlib")) if p]
    return boot.is_under(origin, stdlib)
