"""The Django stage of a dev zygote: the third-party part of django.setup(),
done once, so a reload imports only the project.

Issue 15: on a `wagtail start` site a save showed new code after 0.9-1.3 s,
because each generation ran django.setup() and the URLconf from scratch:
the third-party apps' models and what their ready() methods import (Wagtail's
API: django-ninja and pydantic, 0.47 s alone) cost far more than the project.
The "site" preload cannot import those: they need the settings and the app
registry.

The stage is a child of the zygote, forked after its "site" preload
(dev mode, Django projects: preload "site" with django_settings and
eager_urlconf). It starts from the zygote's state and

  1. forks probe A, which does what a worker does (django.setup(), the
     URLconf) and reports the modules it imported, in order, and a
     fingerprint of the result;
  2. imports the settings (the project's own code: the master restarts the
     zygote when a file they imported changes), fills the app registry with
     the third-party apps only and imports their models, as phases 1 and 2
     of apps.populate() would, but runs no ready(); then imports, in A's
     order, the modules A imported that belong to no installed app, to
     neither Django's apps nor the project (pydantic, ninja, PIL, ...);
     then empties the registry again (its models stay in apps.all_models,
     where a worker's populate() finds them, as it would after importing
     them itself);
  3. forks probe B, which does what A did, from this state, and compares
     the fingerprints: the same modules, app configs, models and their
     fields, URL patterns, signal receivers, translation catalogs and admin
     registrations. Any difference, or any exception, and the stage
     refuses (one Log line says why) and exits: the zygote forks the
     workers itself, as before.

When B matches A the stage sends Ready and serves the zygote's Fork and
Stop frames with the zygote's own loop (Zygote.run); the zygote relays
them, and the Forked, Exited and Log frames back, to the master. The stage
in turn keeps a standby (see below) that forks the workers while no file
it imported has changed. Modules
imported inside a third-party app (wagtail.api, django.contrib.admin.views)
are not preloaded: importing them before ready() is not equivalent (Wagtail
creates fallback permission policies, found by trying).

The probes' output goes to /dev/null: they import the project, and what it
prints belongs to the workers' log.
"""

import gc
import json
import os
import sys
import threading
import time
import traceback

from . import boot, preload
from .protocol import LOG, READY


def wanted(config):
    """wanted says whether the zygote starts a Django stage for config.
    GOWSGI_DJANGO_STAGE=0 in the environment turns it off (to compare, or
    to rule it out).
    """
    if os.environ.get("GOWSGI_DJANGO_STAGE", "") == "0":
        return False
    return config.preload == "site" and bool(config.django_settings) and config.eager_urlconf


def run(config, conn):
    """run is the stage's main (in the zygote's forked child); it never
    returns.
    """
    def log(text):
        conn.send_frame(LOG, 0, 0, ("django stage: " + text).encode("utf-8", "replace"))

    t0 = time.monotonic()
    try:
        boot.prepare(config)
        a = probe(_setup_like_a_worker)
        if "error" in a:
            log("not used: a worker's django.setup() fails here (%s); the workers report it" % a["error"])
            boot.exit_process(boot.EXIT_OK)
        count, failed = preload_django(config, a["modules"])
        b = probe(_setup_like_a_worker)
        if "error" in b:
            log("not used: django.setup() fails after the preload: %s" % b["error"])
            boot.exit_process(boot.EXIT_OK)
        diff = compare(a["fingerprint"], b["fingerprint"])
        if diff:
            log("not used: the preload would change what the app serves (%s)" % diff)
            boot.exit_process(boot.EXIT_OK)
        if threading.active_count() > 1:
            log("not used: the preload started threads, which forked workers would not have")
            boot.exit_process(boot.EXIT_OK)
    except BaseException as exc:  # noqa: BLE001 - never let the stage break the zygote
        log("not used: %s: %s\n%s" % (type(exc).__name__, exc, traceback.format_exc()))
        boot.exit_process(boot.EXIT_OK)
    text = ("imported %d more modules (settings, third-party apps' models and libraries) in %.2fs, "
            "verified against a fresh setup; a worker's django.setup() and URLconf: %.2fs, was %.2fs") % (
        count, time.monotonic() - t0, b.get("took", 0), a.get("took", 0))
    if failed:
        text += "; not preloaded: " + ", ".join(failed[:5]) + (" and %d more" % (len(failed) - 5) if len(failed) > 5 else "")
    log(text)
    gc.collect()
    gc.freeze()
    conn.send_json(READY, {"pid": os.getpid(), "modules": len(sys.modules)})
    from .zygote import Zygote
    z = Zygote(config, conn)
    z.check_sub = lambda info: standby_valid(config, info)
    z.make_sub = lambda: z.start_sub(run_standby)
    z.sub_due = time.monotonic()  # the first standby right away
    z.run()


# ---------------------------------------------------------------- standby
#
# A standby is a child of the stage that has run the project's part of
# django.setup() too: it imported the WSGI module, as a worker does, but not
# the URLconf. Workers forked from it import only the URLconf and what it
# imports, from disk. That is exactly what a fresh worker would do as long
# as no file the standby executed has changed and no Python file has been
# added that setup could discover (an admin.py, a wagtail_hooks.py), which
# the stage checks, by each file's size and modification time, before
# every fork (standby_valid). A save of views.py or urls.py then costs the
# URLconf and the warm-up only; a save of models.py, apps.py or admin.py
# makes the stage fork the worker itself and start a new standby a moment
# later.


def run_standby(config, conn):
    """run_standby is the standby's main; it never returns."""
    t0_ns = time.time_ns()
    was_enabled = gc.isenabled()
    try:
        boot.prepare(config)
        gc.disable()
        __import__(config.module)
    except BaseException:  # noqa: BLE001 - the workers import it themselves and say why
        boot.exit_process(boot.EXIT_OK)
    finally:
        if was_enabled:
            gc.enable()
    files = imported_files(config)
    tree = py_files(config)
    # A file changed while the standby imported it may be imported in its
    # old version but recorded in its new one: not trusted.
    fresh = t0_ns - 1_000_000_000
    if files is None or tree is None or any(mt >= fresh for mt, _ in files.values()) \
            or any(mt >= fresh for mt in tree.values()):
        boot.exit_process(boot.EXIT_OK)
    gc.collect()
    gc.freeze()
    conn.send_frame(LOG, 0, 0, ("django stage: standby ready in %.2fs: until a file it imported changes, "
                                "a new generation imports only the URLconf" % ((time.time_ns() - t0_ns) / 1e9)).encode())
    conn.send_json(READY, {"pid": os.getpid(), "files": files, "tree": sorted(tree)})
    from .zygote import Zygote
    Zygote(config, conn).run()


def _library_dirs():
    import sysconfig
    dirs = list(boot.site_dirs())
    dirs += [os.path.abspath(p) for p in (sysconfig.get_path("stdlib"), sysconfig.get_path("platstdlib")) if p]
    return dirs


def imported_files(config):
    """imported_files maps every imported module's file outside the
    standard library and site-packages to [mtime_ns, size]; None when one
    cannot be read.
    """
    libs = _library_dirs()
    out = {}
    for mod in list(sys.modules.values()):
        f = getattr(mod, "__file__", None)
        if not f or not isinstance(f, str):
            continue
        f = os.path.abspath(f)
        if boot.is_under(f, libs) or f.startswith(boot.RUNTIME_DIR + os.sep):
            continue
        try:
            st = os.stat(f)
        except OSError:
            return None
        out[f] = [st.st_mtime_ns, st.st_size]
    return out


def py_files(config):
    """py_files maps the project's .py files (its directories walked as the
    site preload walks them) to their mtime_ns; None past the walk's bounds.
    """
    out = {}
    for root in [config.chdir] + list(config.pythonpath):
        root = os.path.abspath(root).rstrip(os.sep) or os.sep
        base_depth = root.count(os.sep)
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in STANDBY_SKIP_DIRS
                           and not os.path.exists(os.path.join(dirpath, d, "pyvenv.cfg"))]
            if dirpath.count(os.sep) - base_depth >= preload.MAX_DEPTH:
                dirnames[:] = []
            for fn in filenames:
                if fn.endswith(".py"):
                    if len(out) >= preload.MAX_FILES:
                        return None
                    p = os.path.join(dirpath, fn)
                    try:
                        out[p] = os.stat(p).st_mtime_ns
                    except OSError:
                        pass
    return out


# Directories whose new .py files setup never imports: migrations run only
# in manage.py migrate, tests in the test runner.
STANDBY_SKIP_DIRS = preload.SKIP_DIRS


def standby_valid(config, info):
    """standby_valid says whether a standby's state is still what a fresh
    worker's django.setup() would make from the files on disk now.
    """
    for f, (mtime, size) in info.get("files", {}).items():
        try:
            st = os.stat(f)
        except OSError:
            return False
        if st.st_mtime_ns != mtime or st.st_size != size:
            return False
    tree = py_files(config)
    if tree is None:
        return False
    known = set(info.get("tree", ()))
    return all(p in known for p in tree)


def probe(fn):
    """probe runs fn() in a forked child and returns what it returned (a
    JSON-able dict), or {"error": "..."}.
    """
    r, w = os.pipe()
    for f in (sys.stdout, sys.stderr):
        f.flush()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(r)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            try:
                out = fn()
            except BaseException as exc:  # noqa: BLE001
                out = {"error": "%s: %s" % (type(exc).__name__, str(exc).splitlines()[0][:200] if str(exc) else "")}
            data = json.dumps(out).encode()
            while data:
                n = os.write(w, data)
                data = data[n:]
        except BaseException:  # noqa: BLE001
            code = 1
        os._exit(code)
    os.close(w)
    chunks = []
    while True:
        b = os.read(r, 1 << 20)
        if not b:
            break
        chunks.append(b)
    os.close(r)
    os.waitpid(pid, 0)
    try:
        return json.loads(b"".join(chunks))
    except ValueError:
        return {"error": "the probe died"}


def _setup_like_a_worker():
    t0 = time.monotonic()
    before = set(sys.modules)
    import django
    django.setup(set_prefix=False)
    from django.urls import get_resolver
    get_resolver().url_patterns  # noqa: B018 - as boot.load_app with eager_urlconf
    took = time.monotonic() - t0
    return {"modules": [m for m in sys.modules if m not in before], "fingerprint": fingerprint(), "took": took}


def preload_django(config, modules):
    """preload_django is step 2 of the module doc. It returns how many
    modules it imported and the ones that failed to import.
    """
    from django.apps import AppConfig, apps
    from django.conf import settings
    before = len(sys.modules)
    entries = list(settings.INSTALLED_APPS)  # imports the settings
    project = [os.path.abspath(p) for p in [config.chdir] + list(config.pythonpath)]
    site_dirs = boot.site_dirs()
    third = [e for e in entries if preload._is_library(e, project, site_dirs)]
    saved_path = sys.path[:]
    sys.path[:] = [p for p in sys.path if boot.is_under(os.path.abspath(p), site_dirs)
                   or (p not in ("", ".") and not boot.is_under(os.path.abspath(p), project))]
    failed = []
    try:
        for entry in third:
            ac = AppConfig.create(entry)
            ac.apps = apps
            apps.app_configs[ac.label] = ac
        apps.apps_ready = True
        for ac in list(apps.app_configs.values()):
            ac.import_models()
        app_names = [ac.name for ac in apps.app_configs.values()] + ["django.contrib"]
        for name in modules:
            if name in sys.modules or _under(name, app_names) or not preload._is_library(name, project, site_dirs):
                continue
            try:
                __import__(name)
            except Exception as e:  # noqa: BLE001 - the workers import it as usual
                failed.append("%s (%s)" % (name, type(e).__name__))
    finally:
        sys.path[:] = saved_path
        # Empty the registry: the worker's populate() runs every phase, for
        # every app, in INSTALLED_APPS order, each ready() once.
        apps.app_configs = {}
        apps.apps_ready = apps.models_ready = apps.ready = False
        apps.loading = False
        apps.clear_cache()
    return len(sys.modules) - before, failed


def _under(name, packages):
    return any(name == p or name.startswith(p + ".") for p in packages)


def fingerprint():
    """fingerprint describes what django.setup() and the URLconf made, for
    compare(): probes A and B must agree on all of it.
    """
    from django.apps import apps
    from django.dispatch import Signal
    fp = {}
    fp["modules"] = sorted(k for k, v in sys.modules.items() if v is not None)
    fp["apps"] = ["%s %s %s.%s" % (ac.label, ac.name, type(ac).__module__, type(ac).__qualname__)
                  for ac in apps.get_app_configs()]
    fp["models"] = ["%s: %s" % (m._meta.label, ",".join(
        "%s=%s>%s" % (f.name, type(f).__name__, getattr(f.related_model, "_meta", None) and f.related_model._meta.label)
        for f in m._meta.get_fields(include_hidden=True)))
        for m in apps.get_models(include_auto_created=True, include_swapped=True)]
    urls = []

    def walk(patterns, prefix):
        for p in patterns:
            if hasattr(p, "url_patterns"):
                walk(p.url_patterns, prefix + str(p.pattern))
            else:
                cb = getattr(p, "callback", None)
                urls.append("%s%s name=%s %s.%s" % (prefix, p.pattern, p.name, getattr(cb, "__module__", ""),
                                                    getattr(cb, "__qualname__", type(cb).__name__)))
    from django.urls import get_resolver
    walk(get_resolver().url_patterns, "")
    fp["urls"] = urls
    receivers = []
    for name, mod in list(sys.modules.items()):
        for attr, value in list(getattr(mod, "__dict__", {}).items()):
            if isinstance(value, Signal):
                receivers.append("%s.%s=%d" % (name, attr, len(value.receivers)))
    fp["receivers"] = sorted(set(receivers))
    from django.utils.translation import trans_real
    fp["translations"] = sorted(str(k) for k in trans_real._translations)
    admin = sys.modules.get("django.contrib.admin.sites")
    if admin is not None:
        fp["admin"] = sorted("%s:%s" % (s.name, m._meta.label) for s in admin.all_sites for m in s._registry)
    return fp


def compare(a, b):
    """compare returns "" when the fingerprints agree, else what differs."""
    diffs = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key), b.get(key)
        if va == vb:
            continue
        if isinstance(va, list) and isinstance(vb, list):
            only_a = [x for x in va if x not in set(vb)][:3]
            only_b = [x for x in vb if x not in set(va)][:3]
            diffs.append("%s: fresh has %s, preloaded has %s" % (key, only_a or "the same in another order", only_b or "nothing more"))
        else:
            diffs.append(key)
    return "; ".join(diffs)
