// Package gateway turns client requests into worker requests: it builds
// the PEP 3333 environ, streams request bodies to the worker and responses
// back, writes the access log and chooses the error page when something
// fails.
//
// # Model
//
// net/http parses HTTP; Handler.ServeHTTP encodes the environ (hop-by-hop
// headers and header names with underscores are dropped first), reads up to
// 64 KiB of the body before it takes a worker (so a slow client never holds
// a Python thread for a small body), then takes a slot from the Backend and
// lets pyworker stream the response through a responder. Python never sees
// the socket.
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
//   - 400: the request cannot be turned into an environ (NUL in the path,
//     malformed chunked body). The connection is closed.
//   - 500: the app raised before sending headers, or sent an invalid status
//     or header (CR/LF, hop-by-hop, not latin-1). The log has the traceback
//     or names the header.
//   - 502: the worker died during the request (the log says how).
//   - 503: no worker became free within the queue timeout, or gowsgi is
//     stopping.
//   - 504: harakiri killed the request's worker.
//   - A cut connection: the response failed after its headers were sent;
//     nothing else can tell the client its body is incomplete.
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
