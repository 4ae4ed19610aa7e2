"""environ: dumps the WSGI environ as JSON.

Exercises what the server puts in the environ. The body is one JSON object
(keys sorted, ASCII-escaped, no spaces: separators "," and ":") holding
every environ key whose value is a str, int, bool or tuple (tuples become
lists, e.g. "wsgi.version": [1, 0]), plus, for "wsgi.input", "wsgi.errors"
and "wsgi.file_wrapper", the type name of the object ("module.QualName"; for
a class such as wsgiref's FileWrapper, the class's own name). Other values
(None, other objects) are left out. The body is not read.

    GET /x?a=1  ->  200 OK, Content-Type: application/json, Content-Length set,
                    body e.g. {"PATH_INFO":"/x","QUERY_STRING":"a=1",...}
"""

import json

TYPE_KEYS = ("wsgi.input", "wsgi.errors", "wsgi.file_wrapper")


def _type_name(value):
    cls = value if isinstance(value, type) else type(value)
    return "%s.%s" % (cls.__module__, cls.__qualname__)


def application(environ, start_response):
    data = {}
    for key, value in environ.items():
        if key in TYPE_KEYS:
            data[key] = _type_name(value)
        elif isinstance(value, (str, int, bool)):  # bool is an int
            data[key] = value
        elif isinstance(value, tuple):
            data[key] = list(value)
    body = json.dumps(data, sort_keys=True, separators=(",", ":"), default=repr).encode("ascii")
    start_response(
        "200 OK",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]
