"""The Django app: ``"gowsgi"`` first in INSTALLED_APPS."""

from django.apps import AppConfig


class GowsgiConfig(AppConfig):
    name = "gowsgi"
    verbose_name = "gowsgi"

    def ready(self):
        # Registering here, not at import, so that importing the package in
        # a worker (Django imports every INSTALLED_APPS entry) costs nothing.
        from gowsgi import checks  # noqa: F401 (registers the checks)
