"""Finding another Go runtime in this process, before the engine loads.

The engine (engine.py) is a Go c-shared library, and a process holds one Go
runtime: a second one, loaded next to the first, breaks both (their signal
handlers and thread state collide; golang/go#18976). An app may already
hold one: a Python extension built with `go build -buildmode=c-shared`, or
a module that loads such a library with ctypes at import. So a process that
would load the engine first looks, once, after the app is imported (the
zygote for preload "app", else the worker), through the ELF objects it has
mapped, and reports the first one built with Go in its Ready frame; the
master then serves through the proxy path (master/engine.go).

The test: the object has a section named ".go.buildinfo". Go's linker
writes it into every binary and shared library it links since Go 1.13 (it
is what `go version FILE` reads, and what runtime/debug.ReadBuildInfo reads
at run time), so it is there in every build mode, and neither
`-ldflags=-s -w` nor strip(1) removes it, where they remove the symbol
table that holds runtime.buildVersion; `_cgo_init` is not exported by a
c-shared library at all. ".gopclntab" is checked too, for Go before 1.13.
Reading a section name table is three small reads per mapped object, once
(measured on testdata/mysite, Django imported: 3.5-6 ms for its 45
objects, against 0.7 s to import it).
"""

import os
import struct

_GO_SECTIONS = (b".go.buildinfo\x00", b"gopclntab\x00")

# A section name table larger than this is not one a linker wrote.
_MAX_NAMES = 1 << 20


def mapped_objects(maps="/proc/self/maps"):
    """mapped_objects lists, once each and in order, the files this process
    has mapped executable: the interpreter, its libraries and the
    extension modules. Outside Linux (no /proc) it is empty.
    """
    seen, out = set(), []
    try:
        with open(maps, "rb") as f:
            for line in f:
                fields = line.split(None, 5)
                if len(fields) < 6 or b"x" not in fields[1]:
                    continue
                path = fields[5].rstrip(b"\n")
                if not path.startswith(b"/") or path.endswith(b" (deleted)") or path in seen:
                    continue
                seen.add(path)
                out.append(path.decode("utf-8", "surrogateescape"))
    except OSError:
        return []
    return out


def built_with_go(path):
    """built_with_go reports whether the ELF file at path was linked by Go's
    linker (see the module doc); False for anything it cannot read.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if len(head) < 52 or head[:4] != b"\x7fELF":
                return False
            end = "<" if head[5] == 1 else ">"
            if head[4] == 2:  # ELF64
                if len(head) < 64:
                    return False
                (shoff,) = struct.unpack_from(end + "Q", head, 0x28)
                shentsize, shnum, shstrndx = struct.unpack_from(end + "HHH", head, 0x3A)
                name_at, name_fmt = 0x18, end + "QQ"
            elif head[4] == 1:  # ELF32
                (shoff,) = struct.unpack_from(end + "I", head, 0x20)
                shentsize, shnum, shstrndx = struct.unpack_from(end + "HHH", head, 0x2E)
                name_at, name_fmt = 0x10, end + "II"
            else:
                return False
            if shoff == 0 or not 0 < shstrndx < shnum:
                return False
            f.seek(shoff + shstrndx * shentsize)
            sh = f.read(shentsize)
            if len(sh) < name_at + struct.calcsize(name_fmt):
                return False
            offset, size = struct.unpack_from(name_fmt, sh, name_at)
            if size > _MAX_NAMES:
                return False
            f.seek(offset)
            names = f.read(size)
    except (OSError, ValueError, struct.error):
        return False
    return any(s in names for s in _GO_SECTIONS)


def foreign_go(exclude=()):
    """foreign_go returns the path of the first mapped object built with Go
    that is not in exclude (the engine itself), or "" when there is none.
    """
    skip = set()
    for p in exclude:
        if p:
            skip.add(os.path.realpath(p))
    for path in mapped_objects():
        if os.path.realpath(path) in skip:
            continue
        if built_with_go(path):
            return path
    return ""
