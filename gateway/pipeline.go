package gateway

// This file is the request pipeline, the one path every request takes
// whatever its wire format: refuse what the wire format found unfit, apply
// limit-post, serve static mounts, read the body ahead, take the environ,
// run the request on a worker (dispatch.go), choose the error page
// (response.go), log and count the request. Each wire format encodes its
// own request's environ, with the rules both share written once in
// environ.go (the mount point, the SERVER_NAME fallback, hop-by-hop
// headers).
//
// A wire format only parses its framing into an exchange and writes what
// the pipeline hands its wire: handler.go does it for HTTP (net/http
// parses), uwsgi_conn.go for the uwsgi protocol. A new wire format (the
// in-worker engine of issue 14) implements wire and calls serve; it writes
// none of the above again.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/gowsgi/gowsgi/pyworker"
)

// wire is one request's connection as its wire format handles it: the
// pipeline reads the request's body and environ through it and writes the
// answer to it. Its methods are called from the request's goroutine only.
type wire interface {
	// environ encodes the request's PEP 3333 environ (the CGI keys and
	// wsgi.url_scheme). bodySize is the body's length as read, so that a
	// chunked body gets a CONTENT_LENGTH. Errors wrap ErrBadRequest.
	environ(bodySize int64) ([]byte, error)
	// setReadDeadline bounds the next read of the body.
	setReadDeadline(t time.Time) error
	// stopReading is called when the body is abandoned before its end:
	// what follows on the connection cannot frame another request.
	stopReading()
	// watchPeer watches the connection while the request waits for its
	// first worker and calls cancel if the peer goes away; it returns the
	// function that stops watching, nil for none. peerGone reports whether
	// the peer went.
	watchPeer(cancel context.CancelFunc) (stop func())
	peerGone() bool

	// writeHead sends the status and headers: the app's, checked against
	// PEP 3333 already (checkAppResponse), or an error page's. status is
	// the app's status line ("200 OK"), "" for the pipeline's own answers.
	writeHead(code int, status string, headers [][2]string) error
	// writeBody sends part of the body and returns how much of it counts
	// as sent; an error means the client is gone.
	writeBody(p []byte) (int, error)
	// flush pushes what was written to the client.
	flush()
	// closeAfter says the connection must end after this answer.
	closeAfter()
	// responseWriter is the answer as an http.ResponseWriter, for static
	// files and the Unavailable hook (answerWriter adapts any wire).
	responseWriter() http.ResponseWriter
}

// pipeline is a server's settings, as the pipeline reads them.
type pipeline struct {
	backend      Backend
	static       []*Static
	headers      ResponseHeaders // add-header, on every answer
	limitPost    int64
	timeout      time.Duration
	queueTimeout time.Duration
	unavailable  func(w http.ResponseWriter, r *http.Request) bool
	log          *AccessLog
	metrics      *Metrics
	logFn        func(format string, a ...any)
}

// exchange is one request in the pipeline: what its wire format parsed of
// it, and what the pipeline did with it.
type exchange struct {
	w wire
	// r is the request as static mounts, the Unavailable hook and the
	// access log read it: method, RequestURI, Proto, Host, RemoteAddr,
	// URL.Path, the headers they use. The uwsgi wire format builds a
	// minimal one from the packet (uwsgi_environ.go).
	r *http.Request
	// path is the request path, SCRIPT_NAME included, for logs and the
	// status page.
	path string
	// refuse, when not 0, is the status to answer at once: the wire
	// format found the request unfit (refuseErr says why).
	refuse    int
	refuseErr error
	// contentLength is the body's declared length: 0 without a body, -1
	// when only its end will tell (HTTP's chunked encoding).
	contentLength int64
	body          io.Reader
	// spool, when not nil, holds the whole body, contentLength bytes from
	// its start: the engine kept it in a temporary file as it arrived,
	// and the pipeline reads it from there instead of copying it (body
	// keeps the same bytes, for a wire format that skips an unread body).
	// The wire format closes it.
	spool *os.File
	// bodyCutIsGone: a body that ends before its length means the peer
	// went away, and is not answered (uwsgi: nginx's client did; HTTP
	// answers such a body 400).
	bodyCutIsGone bool
	// finish, when set, writes what the wire still holds (the live reload
	// injector) before the request is logged; it returns the bytes it
	// added to the body.
	finish func() int
	// abandon ends when the server closes (see dispatch.runContext); nil
	// for never.
	abandon context.Context

	// What the pipeline did, for the wire format and the access log.
	bodyDone   bool // the body was read to its end, or given up
	started    bool // a status was sent (the app's, a file's or an error page)
	appStarted bool // the app's status was sent: a failure can only cut
	status     int
	written    int64 // body bytes sent
	pid, gen   int

	// preq is the request as the backend gets it (run): here, not an
	// allocation of its own.
	preq pyworker.Request
}

// serve runs x through the pipeline; start is when its request began
// (its first byte, for the access log's duration). It returns true when
// the wire format must cut the connection: the response failed after the
// app's headers went out, and only a cut tells the client its body is
// incomplete.
func (p *pipeline) serve(ctx context.Context, x *exchange, start time.Time) (cut bool) {
	if len(p.headers) > 0 {
		x.w = &headerWire{wire: x.w, extra: p.headers}
	}
	p.metrics.begin()
	status, err := p.run(ctx, x)
	if x.finish != nil {
		x.written += int64(x.finish())
	}
	d := time.Since(start)
	p.metrics.done(status, d)
	if p.log != nil {
		p.log.Request(x.r, status, x.written, d, x.pid, x.gen)
	}
	return err != nil && x.appStarted && !errors.Is(err, pyworker.ErrClientGone)
}

// run returns the status for the access log, and the error that ended
// the request.
func (p *pipeline) run(ctx context.Context, x *exchange) (int, error) {
	method := x.r.Method
	if x.refuse != 0 {
		return p.fail(x, x.refuse, x.refuseErr)
	}
	if p.limitPost > 0 && x.contentLength > p.limitPost {
		// Answered before any of the body is read.
		return p.fail(x, http.StatusRequestEntityTooLarge, nil)
	}
	if len(p.static) > 0 && (method == http.MethodGet || method == http.MethodHead) {
		for _, st := range p.static {
			if !st.Match(x.path) {
				continue
			}
			sw := &statusWriter{ResponseWriter: x.w.responseWriter(), x: x}
			if st.Serve(sw, x.r) {
				return x.status, nil
			}
		}
	}

	req := &x.preq
	*req = pyworker.Request{Path: x.path, Method: method}
	var size int64
	if x.spool != nil {
		size, x.bodyDone = takeSpool(req, x.spool, x.contentLength), true
	} else if x.body != nil {
		body := x.body
		if p.limitPost > 0 && x.contentLength < 0 {
			body = &limitedBody{r: body, left: p.limitPost, limit: p.limitPost}
		}
		var err error
		size, err = readBody(req, &idleReader{r: body, timeout: p.timeout, setDeadline: x.w.setReadDeadline}, x.contentLength)
		defer closeSpool(req)
		x.bodyDone = true
		if err != nil {
			// What is left of the body is not worth waiting for.
			x.w.stopReading()
			code := bodyErrorStatus(err)
			if code == http.StatusBadRequest && x.bodyCutIsGone {
				return 499, err
			}
			return p.fail(x, code, fmt.Errorf("%s %s: %w", method, x.path, err))
		}
		x.w.setReadDeadline(time.Time{})
	}
	env, err := x.w.environ(size)
	if err != nil {
		return p.fail(x, http.StatusBadRequest, err)
	}
	req.Environ = env

	if p.unavailable != nil {
		sw := &statusWriter{ResponseWriter: x.w.responseWriter(), x: x}
		if p.unavailable(sw, x.r) {
			return x.status, nil
		}
	}
	d := dispatch{backend: p.backend, req: req, queue: p.queueTimeout, x: x}
	err = d.run(ctx)
	if err == nil {
		return x.status, nil
	}
	v := judge(method, x.path, err, ctx.Err() != nil || x.w.peerGone())
	if v.log != "" {
		p.logf("%s", v.log)
	}
	switch v.status {
	case 0:
		return x.status, err
	case 499:
		return 499, err
	}
	return p.fail(x, v.status, v.failErr)
}

// errCutAfterHeaders stands for a failure (a dead worker, say) that came
// after the app's headers were sent: the response can only be cut.
var errCutAfterHeaders = errors.New("response cut after its headers were sent")

// fail answers with a plain error page (errorPages) when nothing was sent
// yet. err is logged when not nil and the status is a server error.
func (p *pipeline) fail(x *exchange, code int, err error) (int, error) {
	if err != nil && code >= 500 {
		p.logf("%v", err)
	}
	if x.started {
		// Too late for an error page: the wire format must cut the
		// connection, so the error may never be nil here.
		if err == nil {
			err = errCutAfterHeaders
		}
		return x.status, err
	}
	if closesConnection(code) {
		x.w.closeAfter()
	}
	msg := errorPages[code]
	x.started, x.status = true, code
	if werr := x.w.writeHead(code, "", errorPageHeaders(msg)); werr == nil && x.r.Method != http.MethodHead {
		n, _ := x.w.writeBody([]byte(msg))
		x.written += int64(n)
	}
	return code, err
}

func (p *pipeline) logf(format string, a ...any) {
	if p.logFn != nil {
		p.logFn(format, a...)
	}
}

// appResponse is the pyworker.Responder of every wire format: what the app
// sends is checked here (PEP 3333) and handed to the wire.
type appResponse struct{ x *exchange }

// Start implements pyworker.Responder.
func (a appResponse) Start(status string, headers [][2]string) error {
	code, err := checkAppResponse(status, headers)
	if err != nil {
		return err
	}
	if err := a.x.w.writeHead(code, status, headers); err != nil {
		return err
	}
	a.x.started, a.x.appStarted, a.x.status = true, true, code
	return nil
}

// Write implements pyworker.Responder. A client that reads nothing for
// the timeout fails the write, and so frees the worker.
func (a appResponse) Write(p []byte) error {
	n, err := a.x.w.writeBody(p)
	a.x.written += int64(n)
	return err
}

// Flush implements pyworker.Responder.
func (a appResponse) Flush() { a.x.w.flush() }

// statusWriter notes what a static file or the Unavailable hook answered.
type statusWriter struct {
	http.ResponseWriter
	x *exchange
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.x.started {
		w.x.started, w.x.status = true, code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if !w.x.started {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(p)
	w.x.written += int64(n)
	return n, err
}
