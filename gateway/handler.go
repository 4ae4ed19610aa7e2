package gateway

// This file is the HTTP wire format: net/http parses the request (behind
// the framing guard, guard.go) and Handler hands it to the request
// pipeline (pipeline.go); httpWire writes the pipeline's answers through
// net/http's ResponseWriter.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"strings"
	"sync"
	"time"

	"github.com/gowsgi/gowsgi/pyworker"
)

// Backend hands out worker slots: Workers(*pyworker.Manager) on the proxy
// path, the calling thread's app in the in-worker engine (engine_app.go).
type Backend interface {
	// Acquire takes a slot for req (see pyworker.Manager.Acquire).
	Acquire(ctx context.Context, req *pyworker.Request) (Slot, error)
	Release(s Slot)
}

// Slot runs one request on a Python thread: *pyworker.Slot over a thread
// connection, or the engine's thread itself.
type Slot interface {
	// Do runs req and streams its response to out (see pyworker.Slot.Do).
	Do(ctx context.Context, req *pyworker.Request, out pyworker.Responder) error
	// Worker names the process that runs it, for the access log.
	Worker() (pid, generation int)
}

// Workers is the Backend of the proxy path: the slots of m's live
// generation.
func Workers(m *pyworker.Manager) Backend { return managerBackend{m} }

type managerBackend struct{ m *pyworker.Manager }

func (b managerBackend) Acquire(ctx context.Context, req *pyworker.Request) (Slot, error) {
	s, err := b.m.Acquire(ctx, req)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (b managerBackend) Release(s Slot) { b.m.Release(s.(*pyworker.Slot)) }

// DefaultTimeout is how long a client may send nothing while it sends a
// request, or read nothing while it is sent a response, when no timeout is
// set (uWSGI's socket-timeout).
const DefaultTimeout = 30 * time.Second

// MaxHeaders is the most header lines a request may have; more get 431.
// (Apache's LimitRequestFields has the same default.)
const MaxHeaders = 100

// Handler serves HTTP requests with Python workers.
type Handler struct {
	Backend Backend
	Environ Environ
	// Static are the static mounts (uWSGI's static-map) served before the
	// app; a path no directory has goes to the app.
	Static []*Static
	// ResponseHeaders are added to every response (add-header).
	ResponseHeaders ResponseHeaders
	// Log receives one line per request; nil turns the access log off.
	Log *AccessLog
	// Logf reports server-side problems (an app error, a dead worker).
	Logf func(format string, a ...any)
	// LimitPost is the largest request body accepted (uWSGI's
	// limit-post); a larger one gets 413 before the app runs. 0: no limit.
	LimitPost int64
	// Timeout bounds each read of a request body and each write of a
	// response: a client that sends (or reads) nothing for this long is cut
	// off, with 408 while it sends, so that it holds neither a worker nor a
	// connection forever. 0 means DefaultTimeout.
	Timeout time.Duration
	// QueueTimeout is how long a request waits for a free worker before a
	// 503; default 60s.
	QueueTimeout time.Duration
	// Unavailable, when set, answers requests while no generation of the app
	// is live (dev mode shows the import error there). Return false to fall
	// back to waiting.
	Unavailable func(w http.ResponseWriter, r *http.Request) bool
	// Metrics, when set, observes every request (metrics.go).
	Metrics *Metrics
}

func (h *Handler) pipeline() pipeline {
	return pipeline{backend: h.Backend, static: h.Static, headers: h.ResponseHeaders, limitPost: h.LimitPost, timeout: timeoutOr(h.Timeout),
		queueTimeout: h.QueueTimeout, unavailable: h.Unavailable, log: h.Log, metrics: h.Metrics, logFn: h.Logf}
}

func timeoutOr(d time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return DefaultTimeout
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	p := h.pipeline()
	// One allocation for both.
	xw := &struct {
		x  exchange
		hw httpWire
	}{
		x:  exchange{r: r, path: r.URL.Path, abandon: closingFrom(r.Context())},
		hw: httpWire{w: w, r: r, rc: http.NewResponseController(w), timeout: p.timeout, env: &h.Environ, bp: bufPool.Get().(*[]byte)},
	}
	x, hw := &xw.x, &xw.hw
	x.w = hw
	defer bufPool.Put(hw.bp)
	hasBody := r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody
	if hasBody {
		x.contentLength, x.body = r.ContentLength, r.Body
	}
	x.refuse, x.refuseErr = checkRequest(r)
	cut := p.serve(r.Context(), x, start)
	// net/http writes what is buffered after ServeHTTP returns: that write,
	// too, must not wait forever on a client that reads nothing. And it
	// reads what is left of an unread body (up to 256 KiB) to keep the
	// connection: a client that stops sending must not hold it forever.
	hw.rc.SetWriteDeadline(time.Now().Add(hw.timeout))
	if hasBody && !x.bodyDone {
		hw.rc.SetReadDeadline(time.Now().Add(hw.timeout))
	}
	if cut {
		// The app's headers are out: the only honest signal left is to cut
		// the connection so the client sees a truncated response. What was
		// written goes out first.
		hw.rc.Flush()
		panic(http.ErrAbortHandler)
	}
}

// checkRequest refuses what net/http lets through but gowsgi does not
// serve (the framing guard in guard.go refuses the rest): a request target
// that is not an absolute path (CONNECT's authority form, "*" with another
// method than OPTIONS) and more than MaxHeaders header lines. It returns
// the status to answer, 0 to serve the request.
func checkRequest(r *http.Request) (int, error) {
	p := r.URL.Path
	if !strings.HasPrefix(p, "/") && !(p == "*" && r.Method == http.MethodOptions) && !(p == "" && r.URL.IsAbs()) {
		return http.StatusBadRequest, fmt.Errorf("%w: request target %q is not an absolute path", ErrBadRequest, r.RequestURI)
	}
	n := 0
	for _, v := range r.Header {
		n += len(v)
	}
	return checkHeaderLines(n)
}

// checkHeaderLines refuses a request with more than MaxHeaders header
// lines (431), on either listener.
func checkHeaderLines(n int) (int, error) {
	if n > MaxHeaders {
		return http.StatusRequestHeaderFieldsTooLarge, fmt.Errorf("%w: %d header lines (at most %d)", ErrBadRequest, n, MaxHeaders)
	}
	return 0, nil
}

// httpWire is the wire of one HTTP request, over net/http.
type httpWire struct {
	w       http.ResponseWriter
	r       *http.Request
	rc      *http.ResponseController
	timeout time.Duration // for each write (Handler.Timeout)
	env     *Environ
	bp      *[]byte // the environ's buffer, from bufPool
}

func (hw *httpWire) environ(bodySize int64) ([]byte, error) {
	if hw.r.ContentLength != 0 {
		hw.r.ContentLength = bodySize // a chunked body's, once read
	}
	env, err := hw.env.AppendEnviron((*hw.bp)[:0], hw.r)
	if err == nil {
		*hw.bp = env
	}
	return env, err
}

func (hw *httpWire) setReadDeadline(t time.Time) error { return hw.rc.SetReadDeadline(t) }

// stopReading keeps net/http from reading on (to keep the connection)
// until the timeout.
func (hw *httpWire) stopReading() { hw.rc.SetReadDeadline(aLongTimeAgo) }

// watchPeer watches nothing: net/http's background read ends the
// request's context when the client goes away.
func (hw *httpWire) watchPeer(context.CancelFunc) func() { return nil }
func (hw *httpWire) peerGone() bool                      { return false }

func (hw *httpWire) writeHead(code int, _ string, headers [][2]string) error {
	hd := hw.w.Header()
	hasType := false
	for _, kv := range headers {
		key := textproto.CanonicalMIMEHeaderKey(kv[0])
		if key == "Content-Type" {
			hasType = true
		}
		hd[key] = append(hd[key], kv[1])
	}
	if !hasType {
		// Keep net/http from sniffing a Content-Type the app did not set.
		hd["Content-Type"] = nil
	}
	hw.w.WriteHeader(code)
	return nil
}

func (hw *httpWire) writeBody(p []byte) (int, error) {
	hw.setWriteDeadline()
	n, err := hw.w.Write(p)
	if errors.Is(err, http.ErrBodyNotAllowed) {
		return n, nil // a body on a 204/304: drop it, as net/http does
	}
	return n, err
}

func (hw *httpWire) flush() {
	hw.setWriteDeadline()
	hw.rc.Flush()
}

func (hw *httpWire) closeAfter() { hw.w.Header().Set("Connection", "close") }

func (hw *httpWire) responseWriter() http.ResponseWriter { return hw.w }

// setWriteDeadline gives the next write to the client the timeout. It is
// set before each write, not once per response, so that a response
// streamed slowly by the app is not cut: only a client that stops reading
// is. (A writer that cannot set deadlines, such as a dev-mode wrapper, is
// left without one.)
func (hw *httpWire) setWriteDeadline() {
	hw.rc.SetWriteDeadline(time.Now().Add(hw.timeout))
}
