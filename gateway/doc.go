// Package gateway turns client requests into worker requests: it builds
// the PEP 3333 environ, streams request bodies to the worker and responses
// back, serves static mounts, writes the access log and chooses the error
// page when something fails.
//
// # Model
//
// Every request, from either listener, takes one pipeline (pipeline.go):
// refusals, limit-post, static mounts, the body read ahead, the environ,
// one dispatch to a worker with a retry of what no worker received
// (dispatch.go), the error page, the access log and the metrics. A wire
// format only parses its framing into an exchange and writes the answers
// the pipeline hands its wire: HTTP through net/http (server.go, guard.go,
// handler.go), the uwsgi protocol by itself (uwsgi.go, uwsgi_server.go,
// uwsgi_conn.go, uwsgi_environ.go).
//
// Files by role:
//
//	pipeline.go     the request path both wire formats feed; the wire interface
//	dispatch.go     acquire a slot, run, retry what no worker received, map the outcome to a status
//	response.go     PEP 3333 checks of the app's status and headers, error pages
//	body.go         the body read ahead: 64 KiB in memory, the rest in an unlinked temporary file
//	environ.go      the environ of an HTTP request; proxy.go: whose X-Forwarded-* count
//	shutdown.go     how both servers stop, in one order
//	server.go       the HTTP server: net/http behind the framing guard (guard.go)
//	handler.go      the HTTP wire: a net/http request into the pipeline, its answers through ResponseWriter
//	uwsgi.go        the uwsgi packet format, declared once
//	uwsgi_server.go the uwsgi server: accept, read a packet, hand it to the pipeline
//	uwsgi_conn.go   the uwsgi wire: the body after the packet, the answer as nginx reads it
//	accesslog.go, logformat.go, metrics.go, static.go, errorpage.go, livereload.go
//
// The in-worker engine (issue 14; Linux) runs the same pipeline inside a
// Python worker, driven by the worker's own threads (see engine_linux.go):
//
//	engine_linux.go      Engine: epoll, accept with balancing, stop, timeouts
//	engine_conn_linux.go one connection: what arrived, the framing guard's count of whole requests, a step per request
//	engine_spool_linux.go a body over 1 MiB, written to a temporary file as it arrives
//	engine_http_linux.go the HTTP/1.1 wire (answers framed as net/http frames them); the uwsgi wire is uwsgi_conn.go's
//	engine_fd_linux.go   fdConn: a socket read and written on the calling thread, an answer kept within a bound
//	engine_app_linux.go  the Backend whose one slot is the calling thread (EngineApp), sendfile
//	engine_settings.go   what the master tells a worker's engine (JSON)
//	scoreboard_linux.go  the shared page: balancing, each thread's request, the request metrics
//
// net/http parses HTTP; hop-by-hop headers and header names with
// underscores are dropped before the environ is built; the whole body is
// read before a worker is taken (up to 64 KiB in memory, the rest in an
// unlinked temporary file, so a slow client never holds a Python thread);
// then pyworker streams the response through the pipeline's responder.
// Python never sees the socket.
//
// # Stopping
//
// Server and UwsgiServer stop through the same code (shutdown.go): stop
// accepting; give idle keep-alive connections the idle grace (Drain; none
// for Shutdown), answering their next request with "Connection: close";
// let requests in flight run until the caller's context ends; then close
// as Close does at once: requests waiting for a worker give up, requests
// still in a worker are abandoned (pyworker.Slot.Do closes the worker's
// connection; the worker is replaced), every connection is closed, and
// Close returns within half a second even with a request stuck in the app.
//
// # Hostile clients
//
// Server puts a framing guard (guard.go) between each connection and
// net/http: it follows the request line, headers, chunk sizes and trailers
// byte by byte, and refuses what net/http would accept but a proxy in
// front may frame differently (request smuggling): Content-Length with
// Transfer-Encoding, Content-Length or Content-Type or Transfer-Encoding
// twice, Transfer-Encoding on HTTP/1.0 or with chunked before another
// coding, Content-Length, Transfer-Encoding, Trailer or Host in a chunked
// body's trailer, obs-fold, bare LF line ends; and it answers a transfer
// coding other than chunked with 501. On https listeners the guard sits
// between TLS and net/http: it reads the decrypted bytes and does the
// handshake net/http would do, and net/http still fills in Request.TLS
// (server.go, guardTLSConn), so https gets the same checks as http. The
// corpus of testdata/hostile pins every case on the http and https
// listeners, and its uwsgi part on the uwsgi listener.
//
// Timeouts (socket-timeout, Handler.Timeout and UwsgiServer.Timeout, 30s
// by default) bound the request headers, from their first byte, and each
// read of a body and each write of a response: a client that stops
// sending or reading is cut off and frees its worker.
//
// Reading bodies ahead costs disk for large ones ($TMPDIR, unlinked at
// once, so df shows it but ls does not): set limit-post, as nginx's
// client_max_body_size does by default, or a client can fill the disk.
//
// # The uwsgi listener
//
// UwsgiServer reads the binary packet nginx sends with uwsgi_pass (the
// format is declared once, in uwsgi.go), turns its CGI variables into the
// same environ (uwsgi_environ.go) and writes the answer back as an
// HTTP/1.1 response, one request per connection (uwsgi_conn.go). The
// pipeline is the HTTP listener's: static-map, limit-post, the error pages,
// the access log line and the metrics are the same. Its doc comment quotes
// the errors gowsgi and nginx print and what to do about them.
//
// # What the client sees when things fail
//
//   - 400: the request is malformed or ambiguous: refused by net/http or
//     by the framing guard (the log names why: "gowsgi: http: refused a
//     request from ADDR: both Content-Length and Transfer-Encoding (request
//     smuggling?); answered 400"), a target that is not an absolute path
//     (CONNECT, "*" but for OPTIONS), NUL in the path, a malformed chunked
//     body, or one the client cut before its end. The connection is
//     closed, and nothing the client sent after the fault is read as a
//     request.
//   - 400, without gowsgi's headers: plain HTTP sent to an https listener
//     (net/http's answer; the log says "TLS handshake error from ADDR:
//     client sent an HTTP request to an HTTPS server"). Closed.
//   - 408: the client sent nothing of its body for socket-timeout. Closed.
//   - 413: the body is larger than limit-post, said by its Content-Length
//     (answered before any of it is read) or found while reading a chunked
//     one. The app never runs. Closed.
//   - 431: the request line and headers are larger than buffer-size (when
//     set; 64 KiB otherwise, and net/http reads up to 4 KiB more before it
//     answers), or there are more than 100 header lines. Closed.
//   - 501: a Transfer-Encoding with a coding other than chunked (gzip,
//     deflate, identity, an unknown one; gowsgi reads chunked only), with
//     chunked last or absent; "chunked, gzip" is 400. net/http's answer,
//     chosen by the framing guard ("refused a request from ADDR: a
//     transfer coding other than chunked (Transfer-Encoding: gzip);
//     answered 501"). Closed.
//   - 505: an HTTP version other than 1.x (net/http's answer). Closed.
//   - No answer, connection closed: the request headers took longer than
//     socket-timeout (slowloris).
//   - 500: the app raised before sending headers, or sent an invalid status
//     or header (CR/LF, hop-by-hop, not latin-1). The log has the traceback
//     or names the header.
//   - 502: the worker died during the request (the log says how).
//   - 503: no worker became free within the queue timeout, or gowsgi is
//     stopping, or a large body could not be kept in a temporary file (the
//     log names the file error: a full disk). A request still in the app
//     when the server closes is abandoned with a 503 (or a cut, if its
//     headers were sent), which its client mostly never reads: its
//     connection is closed too.
//   - 504: harakiri killed the request's worker.
//   - A cut connection: the response failed after its headers were sent;
//     nothing else can tell the client its body is incomplete. A client
//     that reads nothing of its response for socket-timeout is cut too; the
//     app's iterable is closed and the worker serves the next request.
//
// # Troubleshooting
//
//	gowsgi: GET /items/: invalid response from the app: header X-Foo has a CR, LF or NUL in its value (PEP 3333 forbids control characters)
//
// The app (or a middleware) put a newline in a header value. Find where the
// header is set; values from user input need sanitising.
//
//	gowsgi: GET /report/: worker died during the request (worker pid 4121)
//
// The worker process ended mid-request; the pyworker log line just above
// classifies how (signal, crash, harakiri).
//
//	gowsgi: no worker free after 1m0s
//
// Every worker thread was busy for the whole queue timeout: the app is too
// slow for the load, or a few requests hold every thread (the status page
// lists what each thread runs). Add processes or threads, or find the slow
// view.
//
//	gowsgi: POST /upload/: reading the request body: keeping the request body in a temporary file: write /tmp/gowsgi-body-1234: no space left on device
//
//	gowsgi: http: 127.0.0.1:51234: keeping the request body in a temporary file: write /tmp/gowsgi-body-1234: no space left on device; answered 503
//
// Bodies past 64 KiB wait in $TMPDIR before a worker is taken (the
// in-worker engine's second line: past 1 MiB, as they arrive), and the
// disk is full: free it, point TMPDIR elsewhere, or set limit-post.
//
//	gowsgi: GET /slow/: request abandoned while it ran in the worker (worker pid 4121): context canceled (gowsgi is stopping)
//
// The server closed (a second CONTROL-C, or the grace period of a stop
// ran out) while the request was still in the app: gowsgi stopped waiting
// for it, and its worker is replaced (or killed with the rest). Raise the
// grace period if such requests should finish.
package gateway
