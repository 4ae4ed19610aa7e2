"""Describe a Django project for `gowsgi dev`, as JSON on stdout.

Run by the master with the project's interpreter, in the project directory,
with DJANGO_SETTINGS_MODULE set. It imports the settings and the installed
apps (django.setup()) but not the URLconf or any view, and prints:

    {"django": "5.2.19", "settings": "mysite.settings", "debug": true,
     "wsgi_application": "mysite.wsgi.application",
     "static_url": "/static/", "static_dirs": [["", "/abs/dir"], ["prefix", "/abs/dir"]],
     "staticfiles": true, "media_url": "/media/", "media_root": "/abs/media",
     "template_dirs": ["/abs/templates", ...]}

With the argument {"checks": true} it also runs what runserver runs before
it serves, in runserver's words: the system checks (unless "skip_checks") and
the unapplied-migrations warning, and adds

    "checks": {"output": "Performing system checks...\n\n...", "errors": false}

("errors" true when a check at ERROR level or above failed: runserver does
not start then). "pythonpath" adds sys.path entries as the workers have them;
"color" colours the output as runserver does on a terminal.

"settings_files" lists the project's own files that importing the settings
imported (the settings module and what it imports): the zygote that holds the
settings must be restarted when one of them changes.

On failure it prints {"error": "...", "missing": "django" (for a module that
is not installed), "traceback": "..."} and exits 4.
"""
import json
import os
import sys
import traceback


def _static_dirs():
    # The finders' own order decides which file wins, as runserver does.
    from django.contrib.staticfiles import finders
    from django.core.files.storage import FileSystemStorage
    out = []
    for finder in finders.get_finders():
        storages = getattr(finder, "storages", None)
        if storages is None:
            continue
        if hasattr(finder, "locations"):  # FileSystemFinder: STATICFILES_DIRS with prefixes
            for prefix, root in finder.locations:
                out.append([prefix or "", os.path.abspath(root)])
            continue
        for app in getattr(finder, "apps", list(storages)):  # AppDirectoriesFinder
            storage = storages.get(app)
            if isinstance(storage, FileSystemStorage):
                out.append([getattr(storage, "prefix", None) or "", os.path.abspath(storage.location)])
    return out


def _site_dirs():
    # Where pip installs: a change here (an upgraded package) means the
    # zygote's preloaded modules are stale.
    import site
    import sysconfig
    dirs = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    try:
        dirs.update(site.getsitepackages())
    except AttributeError:  # some virtualenv versions
        pass
    return sorted(d for d in dirs if d and os.path.isdir(d))


def _template_dirs():
    from django.template import engines
    dirs = []
    for engine in engines.all():
        for d in getattr(engine, "template_dirs", ()):
            dirs.append(os.path.abspath(str(d)))
    return dirs


def _run_checks(skip_checks, color):
    """_run_checks runs runserver's checks and returns their output, as
    runserver prints it, and whether an error stops the start.
    """
    import io
    from django.core.management.base import SystemCheckError
    from django.core.management.commands.runserver import Command
    out = io.StringIO()
    cmd = Command(stdout=out, stderr=out, no_color=not color, force_color=color)
    errors = False
    if not skip_checks:
        out.write("Performing system checks...\n\n")
        try:
            cmd.check(display_num_errors=True)
        except SystemCheckError as e:
            # What manage.py prints when runserver refuses to start (the
            # message starts with "SystemCheckError: " already).
            out.write("%s\n" % e)
            errors = True
    if not errors:
        from django.db import connections
        try:
            cmd.check_migrations()
        except Exception as e:  # noqa: BLE001 - a database that is down must not stop dev
            out.write("\nCould not check for unapplied migrations: %s: %s\n" % (type(e).__name__, e))
        for conn in connections.all(initialized_only=True):
            conn.close()
    return {"output": out.getvalue(), "errors": errors}


def _project_files(before, project):
    site = [d + os.sep for d in _site_dirs()]
    files = []
    for name, mod in list(sys.modules.items()):
        if name in before or mod is None:
            continue
        f = getattr(mod, "__file__", None)
        f = f and os.path.abspath(f)
        if f and f.startswith(project + os.sep) and not any(f.startswith(d) for d in site):
            files.append(f)
    return sorted(files)


def main():
    args = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    for i, p in enumerate(args.get("pythonpath") or []):
        sys.path.insert(1 + i, p)
    try:
        import django
        from django.conf import settings
        before = set(sys.modules)
        settings.INSTALLED_APPS  # imports the settings module
        settings_files = _project_files(before, os.path.abspath(os.getcwd()))
        django.setup()
        info = {
            "django": django.get_version(),
            "settings": os.environ.get("DJANGO_SETTINGS_MODULE", ""),
            "debug": bool(settings.DEBUG),
            "wsgi_application": getattr(settings, "WSGI_APPLICATION", None) or "",
            "static_url": settings.STATIC_URL or "",
            "staticfiles": "django.contrib.staticfiles" in settings.INSTALLED_APPS,
            "static_dirs": [],
            "media_url": settings.MEDIA_URL or "",
            "media_root": os.path.abspath(str(settings.MEDIA_ROOT)) if settings.MEDIA_ROOT else "",
            "template_dirs": [],
            "site_dirs": _site_dirs(),
            "settings_files": settings_files,
        }
        if info["staticfiles"]:
            info["static_dirs"] = _static_dirs()
        info["template_dirs"] = _template_dirs()
        if args.get("checks"):
            info["checks"] = _run_checks(args.get("skip_checks", False), args.get("color", False))
    except BaseException as exc:  # noqa: BLE001 - report anything, including SystemExit
        err = {"error": "%s: %s" % (type(exc).__name__, exc), "traceback": traceback.format_exc()}
        if isinstance(exc, ModuleNotFoundError) and exc.name:
            err["missing"] = exc.name.split(".")[0]
        json.dump(err, sys.stdout)
        sys.stdout.flush()
        os._exit(4)
    json.dump(info, sys.stdout)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
