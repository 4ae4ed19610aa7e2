"""Finding the gowsgi executable that the wheel installed, and running it.

pip puts the wheel's ``<dist>.data/scripts/gowsgi`` into the install scheme's
scripts directory, which is not always beside ``sys.executable``: a ``--user``
install puts it in ``~/.local/bin``, a ``--target DIR`` install in
``DIR/bin``, a ``--prefix P`` install in ``P/bin``. The candidates below cover
those in the order pip would have chosen them.
"""

import os
import sys
import sysconfig

DISTRIBUTION = "gowsgi-server"
EXE = "gowsgi.exe" if os.name == "nt" else "gowsgi"


class GowsgiNotFound(RuntimeError):
    """The gowsgi executable is not where the wheel installs it (a broken or
    partial install, or the package was copied without its scripts)."""


def _candidates():
    """Directories that may hold the executable, most likely first."""
    seen = []

    def add(d):
        if d and d not in seen:
            seen.append(d)

    add(sysconfig.get_path("scripts"))
    # pip install --user: the user scheme's scripts directory.
    user_scheme = {"posix": "posix_user", "nt": "nt_user"}.get(os.name)
    if sys.platform == "darwin" and getattr(sys, "_framework", None):
        user_scheme = "osx_framework_user"
    if user_scheme and user_scheme in sysconfig.get_scheme_names():
        add(sysconfig.get_path("scripts", scheme=user_scheme))
    # pip install --target DIR (DIR/gowsgi/ is this package, DIR/bin its
    # scripts) and --prefix P (P/lib/pythonX.Y/site-packages/gowsgi/).
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    add(os.path.join(pkg_parent, "bin"))
    lib_python = os.path.dirname(pkg_parent)
    if os.path.basename(pkg_parent) == "site-packages" and os.path.basename(lib_python).startswith("python"):
        add(os.path.join(os.path.dirname(os.path.dirname(lib_python)), "bin"))
    # The interpreter's own bin/ (a virtualenv whose scheme was overridden).
    add(os.path.dirname(os.path.abspath(sys.executable)))
    return seen


def find_gowsgi_bin():
    """Return the path of the gowsgi executable installed with this package.

    Raises GowsgiNotFound, whose message says where it looked and how to
    reinstall, when there is none.
    """
    dirs = _candidates()
    for d in dirs:
        p = os.path.join(d, EXE)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    raise GowsgiNotFound(missing_message(dirs))


def missing_message(dirs):
    """The message for a missing executable: what is missing, where it was
    looked for, and the next action."""
    return (
        "gowsgi: the gowsgi executable is missing: the %s package is installed "
        "(%s) but its %s program is not in %s.\n"
        "hint: reinstall it: %s -m pip install --force-reinstall %s\n"
        "hint: if pip found no wheel for this platform (%s), build gowsgi from "
        "source with Go 1.26+: see 'Building from source' in the README." % (
            DISTRIBUTION,
            os.path.dirname(os.path.abspath(__file__)),
            EXE,
            " or ".join(dirs),
            sys.executable,
            DISTRIBUTION,
            sysconfig.get_platform(),
        )
    )


def exec_gowsgi(args):
    """Replace this process with ``gowsgi ARGS``. Signals (^C, SIGTERM,
    SIGHUP) then reach gowsgi itself, as they would from the shell; on
    platforms without exec the exit status is passed on instead."""
    exe = find_gowsgi_bin()
    argv = [exe] + list(args)
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "nt":
        import subprocess

        sys.exit(subprocess.call(argv))
    os.execv(exe, argv)
