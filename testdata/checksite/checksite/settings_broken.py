"""checksite with an admin.E108 error (catalog/admin_broken.py)."""

from .settings import *  # noqa: F401,F403

CATALOG_BROKEN_ADMIN = True
