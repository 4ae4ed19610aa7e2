#!/usr/bin/env python3
"""Build gowsgi's platform wheel: the Go executable plus the small `gowsgi`
import package (python/gowsgi), for one GOOS/GOARCH.

    scripts/build-wheel.py                       # this machine's platform, into dist/
    scripts/build-wheel.py --goos darwin --goarch arm64 --out dist

Standard library only (zipfile and hashlib), following the wheel format
(PEP 427, PEP 491) by hand, so building needs Go and any Python 3.8+, nothing
from outside a registry. The executable is built with CGO_ENABLED=0: it links
no C library at all, which is what makes the platform tags below honest (a
manylinux_2_17 wheel promises to need no more than glibc 2.17; this one needs
no glibc). The version is the `version` variable of cmd/gowsgi/main.go, read
here, so `gowsgi --version` and the wheel's version cannot differ.

The output is reproducible: entries are sorted and dated SOURCE_DATE_EPOCH
(default 1980-01-01), and the Go build is -trimpath with an empty build id.
Prints the wheel's path on stdout.
"""

import argparse
import base64
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import time
import zipfile

GO = os.environ.get("GO", "go")  # the Makefile passes its $(GO)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DISTRIBUTION = "gowsgi-server"  # on PyPI, `gowsgi` is an unrelated 2019 package
SUMMARY = "One Go binary that serves Python WSGI apps (Django first), in development and production"

# (GOOS, GOARCH) -> wheel platform tag. macOS 12 is the oldest macOS that Go
# 1.25+ supports; glibc 2.17 (manylinux2014) is the oldest manylinux tag pip
# still looks for, and the static executable needs nothing newer.
PLATFORMS = {
    ("linux", "amd64"): "manylinux_2_17_x86_64.manylinux2014_x86_64",
    ("linux", "arm64"): "manylinux_2_17_aarch64.manylinux2014_aarch64",
    ("darwin", "amd64"): "macosx_12_0_x86_64",
    ("darwin", "arm64"): "macosx_12_0_arm64",
}

# PEP 440 versions only: a wheel with another version cannot be installed.
VERSION_RE = re.compile(r"^\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?$")


def die(msg):
    sys.stderr.write("build-wheel: error: %s\n" % msg)
    sys.exit(1)


def read_version():
    path = os.path.join(ROOT, "cmd", "gowsgi", "main.go")
    with open(path) as f:
        m = re.search(r'^var version = "([^"]+)"', f.read(), re.M)
    if not m:
        die('%s has no line `var version = "..."`' % path)
    v = m.group(1)
    if not VERSION_RE.match(v):
        die("version %r in %s is not a PEP 440 version (e.g. 0.2.0, 0.2.0rc1)" % (v, path))
    return v


def go_env(name):
    return subprocess.check_output([GO, "env", name], cwd=ROOT, text=True).strip()


ENGINE_LIB = os.path.join(ROOT, "master", "enginelib", "libgowsgi-engine.so")


def build_engine(goos, goarch):
    """build_engine builds the in-worker engine (a cgo c-shared library,
    which the executable embeds) when the wheel is for this machine's
    platform, and returns False when it is not: a cross-built wheel has no
    engine (there is no cross C compiler here) and its gowsgi serves
    through the master, saying so at start.
    """
    if goos != "linux" or (goos, goarch) != (go_env("GOHOSTOS"), go_env("GOHOSTARCH")):
        return False
    cmd = [GO, "build", "-trimpath", "-buildmode=c-shared", "-ldflags=-s -w -buildid=", "-o", ENGINE_LIB, "./engine"]
    sys.stderr.write("build-wheel: CGO_ENABLED=1 %s\n" % " ".join(cmd))
    if subprocess.call(cmd, cwd=ROOT, env=dict(os.environ, CGO_ENABLED="1")) != 0:
        die("building the engine failed (it needs a C compiler: scripts/setup-system.sh installs gcc)")
    header = ENGINE_LIB[:-3] + ".h"
    if os.path.exists(header):
        os.remove(header)
    # The hash the master names its cached copy after (as `make engine`
    # writes it): one left by make would name another build's library.
    with open(ENGINE_LIB, "rb") as f:
        data = f.read()
    with open(ENGINE_LIB + ".sha256", "w") as f:
        f.write("%s %d %s\n" % (hashlib.sha256(data).hexdigest(), len(data), hashlib.sha256(data[:4096]).hexdigest()))
    return True


def build_binary(goos, goarch, out):
    aside = None
    if not build_engine(goos, goarch) and os.path.exists(ENGINE_LIB):
        # This machine's engine must not be embedded in another platform's
        # executable.
        aside = ENGINE_LIB + ".aside"
        os.rename(ENGINE_LIB, aside)
    try:
        env = dict(os.environ, CGO_ENABLED="0", GOOS=goos, GOARCH=goarch)
        cmd = [GO, "build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", out, "./cmd/gowsgi"]
        sys.stderr.write("build-wheel: CGO_ENABLED=0 GOOS=%s GOARCH=%s %s\n" % (goos, goarch, " ".join(cmd)))
        if subprocess.call(cmd, cwd=ROOT, env=env) != 0:
            die("go build failed")
    finally:
        if aside:
            os.rename(aside, ENGINE_LIB)


def record_hash(data):
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def metadata(version):
    readme = os.path.join(ROOT, "python", "README.md")
    with open(readme) as f:
        description = f.read()
    return (
        "Metadata-Version: 2.1\n"
        "Name: %s\n"
        "Version: %s\n"
        "Summary: %s\n"
        "Requires-Python: >=3.9\n"
        "Provides-Extra: django\n"
        'Requires-Dist: Django>=4.2; extra == "django"\n'
        "Classifier: Framework :: Django\n"
        "Classifier: Programming Language :: Go\n"
        "Classifier: Programming Language :: Python :: 3\n"
        "Classifier: Topic :: Internet :: WWW/HTTP :: WSGI :: Server\n"
        "Description-Content-Type: text/markdown\n"
        "\n%s" % (DISTRIBUTION, version, SUMMARY, description)
    )


def package_files():
    """(archive name, path) of the import package's source files."""
    base = os.path.join(ROOT, "python")
    out = []
    for dirpath, dirnames, filenames in os.walk(os.path.join(base, "gowsgi")):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for fn in sorted(filenames):
            if fn.endswith(".py"):
                p = os.path.join(dirpath, fn)
                out.append((os.path.relpath(p, base).replace(os.sep, "/"), p))
    return out


def build(goos, goarch, out_dir):
    plat = PLATFORMS.get((goos, goarch))
    if plat is None:
        die("no wheel platform for GOOS=%s GOARCH=%s (known: %s); build from source instead" % (
            goos, goarch, ", ".join("%s/%s" % k for k in sorted(PLATFORMS))))
    version = read_version()
    dist = DISTRIBUTION.replace("-", "_")
    tag = "py3-none-" + plat
    data_dir = "%s-%s.data" % (dist, version)
    info_dir = "%s-%s.dist-info" % (dist, version)
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))
    date_time = time.gmtime(max(epoch, 315532800))[:6]

    with tempfile.TemporaryDirectory() as tmp:
        exe = os.path.join(tmp, "gowsgi")
        build_binary(goos, goarch, exe)
        with open(exe, "rb") as f:
            exe_data = f.read()

        # (archive name, bytes, unix mode). pip keeps the exec bit only when
        # the zip entry says "regular file, 0755" (0o100755 in the high 16 bits
        # of external_attr); a bare 0o755 installs a program that cannot run.
        entries = [(name, open(p, "rb").read(), 0o100644) for name, p in package_files()]
        entries.append((data_dir + "/scripts/gowsgi", exe_data, 0o100755))
        entries.append((info_dir + "/METADATA", metadata(version).encode(), 0o100644))
        wheel_meta = "Wheel-Version: 1.0\nGenerator: gowsgi scripts/build-wheel.py\nRoot-Is-Purelib: false\nTag: %s\n" % tag
        entries.append((info_dir + "/WHEEL", wheel_meta.encode(), 0o100644))
        record = "".join("%s,%s,%d\n" % (n, record_hash(d), len(d)) for n, d, _ in entries)
        record += "%s/RECORD,,\n" % info_dir
        entries.append((info_dir + "/RECORD", record.encode(), 0o100644))

        os.makedirs(out_dir, exist_ok=True)
        path = os.path.join(out_dir, "%s-%s-%s.whl" % (dist, version, tag))
        part = path + ".part"
        with zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data, mode in entries:
                zi = zipfile.ZipInfo(name, date_time)
                zi.external_attr = mode << 16
                zi.compress_type = zipfile.ZIP_DEFLATED
                zi.create_system = 3  # unix, so the mode above is read
                z.writestr(zi, data)
        os.replace(part, path)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--goos", default=None, help="target OS (default: go env GOOS)")
    ap.add_argument("--goarch", default=None, help="target architecture (default: go env GOARCH)")
    ap.add_argument("--out", default=os.path.join(ROOT, "dist"), help="output directory (default: dist)")
    ap.add_argument("--print-version", action="store_true", help="print the version and exit")
    a = ap.parse_args()
    if a.print_version:
        print(read_version())
        return
    print(build(a.goos or go_env("GOOS"), a.goarch or go_env("GOARCH"), a.out))


if __name__ == "__main__":
    main()
