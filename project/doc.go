// Package project asks a Django project's own interpreter about the
// project: which settings manage.py names, what WSGI_APPLICATION, the
// static and media directories and the settings' own files are, what
// runserver's system checks say (dev), and what `manage.py check
// [--deploy]` finds (check). Nothing of Django runs in gowsgi itself: each
// question is one python process running the embedded runtime's
// djangoinfo.py, or a short script, with the project's environment.
//
// # Troubleshooting
//
//	gowsgi: /srv/site is not a Django project: no manage.py in it (looked for /srv/site/manage.py)
//
// dev and check find the settings through manage.py. Point them at the
// directory that holds it, or name the app with --wsgi-file or --module.
//
//	gowsgi: SettingsError: No module named 'django'
//	hint: /usr/bin/python3 has no module "django": it is not the project's virtualenv? ...
//
// The interpreter gowsgi found is not the project's. Activate the
// virtualenv, or pass --python path/to/venv/bin/python.
package project
