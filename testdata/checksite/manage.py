#!/usr/bin/env python
"""manage.py of gowsgi's system-checks test project (see checksite/settings.py)."""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "checksite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
