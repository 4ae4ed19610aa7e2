"""``manage.py runserver [addrport]`` starts ``gowsgi dev`` for this project.

It takes runserver's arguments exactly (it subclasses staticfiles'
runserver, which adds --nostatic and --insecure to Django's), then replaces
the process with ``gowsgi dev``, passing each option by its runserver name.
Only options the user set are passed, so a gowsgi that lacks one of them
still starts for every other command line.
"""

import os
import sys

from django.conf import settings
from django.contrib.staticfiles.management.commands.runserver import Command as StaticfilesRunserver
from django.core.management.base import CommandError

from gowsgi.executable import GowsgiNotFound, exec_gowsgi


class Command(StaticfilesRunserver):
    help = "Starts gowsgi dev (a Go development server with reload that fails no request) for this project."

    def handle(self, *args, **options):
        if options.get("pythonpath"):
            # --pythonpath put it on this process's sys.path only; the
            # workers get it through the environment gowsgi passes on.
            extra = [os.path.abspath(options["pythonpath"]), os.environ.get("PYTHONPATH", "")]
            os.environ["PYTHONPATH"] = os.pathsep.join(p for p in extra if p)
        try:
            exec_gowsgi(dev_args(options, project_dir(), settings.SETTINGS_MODULE, sys.executable))
        except GowsgiNotFound as e:
            raise CommandError(str(e))
        except OSError as e:
            raise CommandError("cannot run the gowsgi executable: %s" % e)


def project_dir():
    """The directory of manage.py when run through it, else the current one
    (django-admin runserver --settings=...)."""
    argv0 = sys.argv[0] if sys.argv else ""
    if os.path.basename(argv0) == "manage.py":
        return os.path.dirname(os.path.abspath(argv0))
    return os.getcwd()


# runserver's options whose non-default value becomes a gowsgi dev flag of
# the same name: (options key, value that means "passed", flag).
_FLAGS = [
    ("use_ipv6", True, "--ipv6"),
    ("use_threading", False, "--nothreading"),
    ("use_reloader", False, "--noreload"),
    ("skip_checks", True, "--skip-checks"),
    ("use_static_handler", False, "--nostatic"),
    ("insecure_serving", True, "--insecure"),
    ("force_color", True, "--color"),
]


def dev_args(options, directory, settings_module, python):
    """The arguments of ``gowsgi dev`` for runserver's parsed options."""
    args = ["dev", "--python", python]
    if settings_module:
        args += ["--settings", settings_module]
    for key, passed, flag in _FLAGS:
        if key in options and options[key] == passed:
            args.append(flag)
    args.append(directory)
    if options.get("addrport"):
        args.append(options["addrport"])
    return args
