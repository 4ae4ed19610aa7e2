"""gowsgi's Python runtime: the side of the Go master's workers that runs the app.

The Go master owns the sockets and parses HTTP; this package, embedded in the
gowsgi binary and run by the user's own interpreter (CPython 3.9+, standard
library only), imports the WSGI app and serves the requests the master sends
as frames over unix sockets.

    boot.py      entry point (main), configuration, loading the app, exit codes
    protocol.py  the frame codec, mirror of pyworker/protocol.go
    worker.py    a worker process: connections, threads, Stop/Dump, signals
    handler.py   one thread connection: environ, call the app, stream the response
    wsgi.py      wsgi.input, wsgi.errors, wsgi.file_wrapper, start_response's rules
    zygote.py    preload once, then fork workers on the master's request
    preload.py   what a zygote imports before forking

Tests: python -m unittest discover -s pyworker/python/tests -t pyworker/python
(from the repository root; they also run under pytest).

Troubleshooting (the messages are printed on the worker's stderr, which is
the gowsgi master's console):

    gowsgi: cannot start the python runtime: GOWSGI_CONFIG is not set; this module is started by gowsgi

        boot.main() was run by hand. gowsgi passes the configuration in the
        environment; run the app with gowsgi serve (exit code 3).

    gowsgi: cannot connect to the master at /tmp/.../master.sock: Connection refused (has the gowsgi master exited?)

        The master stopped (or was killed) while this worker started. The
        worker exits 3 and a running master starts another one.

    gowsgi: worker 3 thread 0: protocol error: ... (is the master the same gowsgi version?)

        The bytes on a connection are not frames of this protocol: a runtime
        extracted by another gowsgi version. Delete ~/.cache/gowsgi.
"""
