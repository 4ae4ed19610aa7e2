// Package gateway turns client requests into worker requests: it builds
// the PEP 3333 environ, streams request bodies to the worker and responses
// back, writes the access log and chooses the error page when something
// fails.
//
// # Model
//
// net/http parses HTTP; Handler.ServeHTTP encodes the environ (hop-by-hop
// headers and header names with underscores are dropped first), reads the
// whole body before it takes a worker (up to 64 KiB in memory, the rest in
// an unlinked temporary file, so a slow client never holds a Python
// thread), then takes a slot from the Backend and lets pyworker stream the
// response through a responder (dispatch.go, shared with the uwsgi
// listener, also retries on another worker a request no worker received).
// Python never sees the socket.
//
// # Hostile clients
//
// Server puts a framing guard (guard.go) between each plain-HTTP
// connection and net/http: it follows the request line, headers, chunk
// sizes and trailers byte by byte, and refuses what net/http would accept
// but a proxy in front may frame differently (request smuggling):
// Content-Length with Transfer-Encoding, Content-Length twice,
// Transfer-Encoding other than chunked or on HTTP/1.0, obs-fold, bare LF
// line ends. On https listeners net/http reads the *tls.Conn itself and
// the guard is not in the way: only net/http's own checks apply there.
// The corpus of testdata/hostile pins every case, on both listeners.
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
// UwsgiServer (uwsgi.go: wire format; uwsgi_server.go: behaviour) reads the
// binary packet nginx sends with uwsgi_pass, turns its CGI variables into
// the same environ (uwsgi_environ.go) and writes the answer back as an
// HTTP/1.1 response, one request per connection. Its doc comment quotes
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
//   - 408: the client sent nothing of its body for socket-timeout. Closed.
//   - 413: the body is larger than limit-post, said by its Content-Length
//     (answered before any of it is read) or found while reading a chunked
//     one. The app never runs. Closed.
//   - 431: the request line and headers are larger than buffer-size (when
//     set; 64 KiB otherwise, and net/http reads up to 4 KiB more before it
//     answers), or there are more than 100 header lines. Closed.
//   - 505: an HTTP version other than 1.x (net/http's answer). Closed.
//   - No answer, connection closed: the request headers took longer than
//     socket-timeout (slowloris).
//   - 500: the app raised before sending headers, or sent an invalid status
//     or header (CR/LF, hop-by-hop, not latin-1). The log has the traceback
//     or names the header.
//   - 502: the worker died during the request (the log says how).
//   - 503: no worker became free within the queue timeout, or gowsgi is
//     stopping, or a large body could not be kept in a temporary file (the
//     log names the file error: a full disk).
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
package gateway
