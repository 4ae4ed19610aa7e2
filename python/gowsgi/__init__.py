"""gowsgi for Python: the wheel's import package.

The server is the Go executable ``gowsgi`` that pip installs into the
environment's scripts directory (``VENV/bin/gowsgi``). This package only finds
and runs it:

* ``python -m gowsgi ARGS`` runs ``gowsgi ARGS`` (see ``__main__``);
* ``"gowsgi"`` in ``INSTALLED_APPS`` (before ``django.contrib.staticfiles``)
  makes ``manage.py runserver`` start ``gowsgi dev`` (see
  ``management/commands/runserver.py``).

Django imports this package in every worker of a project that lists it, so it
imports nothing here but the standard library, and nothing at all until asked.
"""

from gowsgi.executable import GowsgiNotFound, find_gowsgi_bin

__all__ = ["GowsgiNotFound", "find_gowsgi_bin"]
