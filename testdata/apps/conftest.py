# testdata/apps holds WSGI fixtures for gowsgi, not tests. Keep pytest (e.g.
# with --doctest-modules) from importing the ones that fail on purpose.
collect_ignore = ["syntax_error.py", "import_error.py"]
