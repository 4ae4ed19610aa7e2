"""``python -m gowsgi ARGS``: run the gowsgi executable with ARGS, for when the
environment's scripts directory is not on PATH."""

import sys

from gowsgi.executable import GowsgiNotFound, exec_gowsgi


def main():
    try:
        exec_gowsgi(sys.argv[1:])
    except GowsgiNotFound as e:
        sys.stderr.write(str(e) + "\n")
        return 3  # gowsgi's own exit code for "cannot start"
    except OSError as e:
        sys.stderr.write("gowsgi: cannot run the gowsgi executable: %s\n" % e)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
