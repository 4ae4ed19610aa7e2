"""Describe a Django project for `gowsgi dev`, as JSON on stdout.

Run by the master with the project's interpreter, in the project directory,
with DJANGO_SETTINGS_MODULE set. It imports the settings and the installed
apps (django.setup()) but not the URLconf or any view, and prints:

    {"django": "5.2.19", "settings": "mysite.settings", "debug": true,
     "wsgi_application": "mysite.wsgi.application",
     "static_url": "/static/", "static_dirs": [["", "/abs/dir"], ["prefix", "/abs/dir"]],
     "staticfiles": true, "media_url": "/media/", "media_root": "/abs/media",
     "template_dirs": ["/abs/templates", ...]}

On failure it prints {"error": "...", "traceback": "..."} and exits 4.
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


def main():
    try:
        import django
        from django.conf import settings
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
        }
        if info["staticfiles"]:
            info["static_dirs"] = _static_dirs()
        info["template_dirs"] = _template_dirs()
    except BaseException as exc:  # noqa: BLE001 - report anything, including SystemExit
        json.dump({"error": "%s: %s" % (type(exc).__name__, exc), "traceback": traceback.format_exc()}, sys.stdout)
        sys.stdout.flush()
        os._exit(4)
    json.dump(info, sys.stdout)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
