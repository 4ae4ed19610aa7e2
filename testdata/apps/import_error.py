"""import_error: fails at import time with ModuleNotFoundError (an ImportError).

Exercises boot failures: a worker importing this module must report the
error (ModuleNotFoundError: No module named 'this_module_does_not_exist_gowsgi')
to the master instead of serving, and the master must not fork-loop on it.
"""

import this_module_does_not_exist_gowsgi  # noqa: F401  (deliberate)


def application(environ, start_response):  # never reached
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"unreachable"]
