"""
WSGI config for mysite project.

It exposes the WSGI callable as a module-level variable named ``application``.
Serve it with the project directory (testdata/mysite) on sys.path, e.g.
``gowsgi --chdir testdata/mysite mysite.wsgi:application``.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")

application = get_wsgi_application()
