"""System checks for the Django app.

Django runs the ``runserver`` command of the first app in INSTALLED_APPS that
has one. django.contrib.staticfiles has one too, so when it stands before
"gowsgi", ``manage.py runserver`` silently runs Django's development server
instead of gowsgi. gowsgi.E001 says so, in ``manage.py check`` and in that
runserver's own start-up checks.
"""

from django.core import checks

STATICFILES = "django.contrib.staticfiles"


@checks.register()
def check_app_order(app_configs, **kwargs):
    from django.apps import apps

    names = [a.name for a in apps.get_app_configs()]
    if "gowsgi" not in names or STATICFILES not in names:
        return []
    if names.index(STATICFILES) < names.index("gowsgi"):
        return [
            checks.Error(
                "gowsgi must be listed before django.contrib.staticfiles in INSTALLED_APPS.",
                hint="Move \"gowsgi\" to the top of INSTALLED_APPS, so that "
                "`manage.py runserver` starts gowsgi dev instead of "
                "staticfiles' runserver.",
                id="gowsgi.E001",
            )
        ]
    return []
