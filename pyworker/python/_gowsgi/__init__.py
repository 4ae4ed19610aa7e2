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
"""
