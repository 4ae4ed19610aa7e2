package gateway

// This file implements the HTTP side of a request: it turns a net/http
// request into a worker request and the worker's frames back into the
// response, and decides what the client sees when something fails.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gowsgi/gowsgi/pyworker"
)

// Backend hands out worker slots; *pyworker.Manager is the real one.
type Backend interface {
	// Acquire takes a slot for req (see pyworker.Manager.Acquire).
	Acquire(ctx context.Context, req *pyworker.Request) (*pyworker.Slot, error)
	Release(s *pyworker.Slot)
}

// firstBodyChunk is how much of a request body is kept in memory; the
// rest of a larger body waits in a temporary file (see readBody).
const firstBodyChunk = 64 << 10

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

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	h.Metrics.begin()
	rw := &responder{w: w, rc: http.NewResponseController(w), timeout: h.timeout(), head: r.Method == http.MethodHead,
		unreadBody: r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody}
	status, err := h.serve(rw, r)
	// net/http writes what is buffered after ServeHTTP returns: that write,
	// too, must not wait forever on a client that reads nothing. And it
	// reads what is left of an unread body (up to 256 KiB) to keep the
	// connection: a client that stops sending must not hold it forever.
	rw.setWriteDeadline()
	if rw.unreadBody {
		rw.rc.SetReadDeadline(time.Now().Add(rw.timeout))
	}
	h.Metrics.done(status, time.Since(start))
	if h.Log != nil {
		h.Log.Request(r, status, rw.written, time.Since(start), rw.pid, rw.gen)
	}
	if err != nil && rw.appStarted && !errors.Is(err, pyworker.ErrClientGone) {
		// The app's headers are out: the only honest signal left is to cut
		// the connection so the client sees a truncated response. What was
		// written goes out first.
		rw.Flush()
		panic(http.ErrAbortHandler)
	}
}

func (h *Handler) serve(rw *responder, r *http.Request) (int, error) {
	if code, err := checkRequest(r); err != nil {
		return h.fail(rw, code, err)
	}
	req := &pyworker.Request{Path: r.URL.Path, Method: r.Method}
	if h.LimitPost > 0 && r.ContentLength != 0 {
		if r.ContentLength > h.LimitPost {
			return h.fail(rw, http.StatusRequestEntityTooLarge, nil)
		}
		r.Body = http.MaxBytesReader(rw.w, r.Body, h.LimitPost)
	}
	if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
		body := &idleReader{r: r.Body, timeout: rw.timeout, setDeadline: rw.rc.SetReadDeadline}
		size, err := readBody(req, body, r.ContentLength)
		defer closeSpool(req)
		if err != nil {
			// What is left of the body is not worth waiting for: net/http
			// would read on (to keep the connection) until the timeout.
			rw.rc.SetReadDeadline(aLongTimeAgo)
			rw.unreadBody = false
			return h.fail(rw, bodyErrorStatus(err), fmt.Errorf("%s %s: %w", r.Method, r.URL.Path, err))
		}
		// From the body's end on, net/http's own read watches for the
		// client going away; it sets its own deadlines.
		rw.unreadBody = false
		r.ContentLength = size
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	env, err := h.Environ.AppendEnviron((*bp)[:0], r)
	if err != nil {
		return h.fail(rw, http.StatusBadRequest, err)
	}
	*bp = env
	req.Environ = env

	ctx := r.Context()
	if h.Unavailable != nil && h.Unavailable(rw.w, r) {
		return http.StatusInternalServerError, nil
	}
	d := dispatch{backend: h.Backend, req: req, out: rw, queue: h.QueueTimeout,
		ran: func(pid, gen int) { rw.pid, rw.gen = pid, gen }}
	err = d.run(ctx)
	if err == nil {
		return rw.status, nil
	}
	v := judge(r.Method, r.URL.Path, err, ctx.Err() != nil)
	if v.log != "" {
		h.logf("%s", v.log)
	}
	switch v.status {
	case 0:
		return rw.status, err
	case 499:
		return 499, err
	}
	return h.fail(rw, v.status, v.failErr)
}

// checkRequest refuses what net/http lets through but gowsgi does not
// serve (the framing guard in server.go refuses the rest): a request target
// that is not an absolute path (CONNECT's authority form, "*" with another
// method than OPTIONS) and more than MaxHeaders header lines. It returns
// the status to answer.
func checkRequest(r *http.Request) (int, error) {
	p := r.URL.Path
	if !strings.HasPrefix(p, "/") && !(p == "*" && r.Method == http.MethodOptions) && !(p == "" && r.URL.IsAbs()) {
		return http.StatusBadRequest, fmt.Errorf("%w: request target %q is not an absolute path", ErrBadRequest, r.RequestURI)
	}
	n := 0
	for _, v := range r.Header {
		n += len(v)
	}
	if n > MaxHeaders {
		return http.StatusRequestHeaderFieldsTooLarge, fmt.Errorf("%w: %d header lines (at most %d)", ErrBadRequest, n, MaxHeaders)
	}
	return 0, nil
}

func (h *Handler) timeout() time.Duration {
	if h.Timeout > 0 {
		return h.Timeout
	}
	return DefaultTimeout
}

// errSpool marks a failure to keep a request body in a temporary file: a
// problem of this machine (a full disk), not of the request.
var errSpool = errors.New("keeping the request body in a temporary file")

// readBody reads the whole request body before a worker is taken, so that
// a slow client never holds a Python thread: the first firstBodyChunk
// bytes into req.First, the rest of a larger body into an unlinked
// temporary file (req.Body). cl is the declared length, -1 for a chunked
// body; knowing the size lets CONTENT_LENGTH be set even then (Django and
// most WSGI apps read nothing without it). It returns the body's size. A
// body that ends before cl, or a chunked body cut before its last chunk,
// is io.ErrUnexpectedEOF: the app never sees a body the client did not
// finish sending. The caller closes the file with closeSpool, also on
// error.
func readBody(req *pyworker.Request, body io.Reader, cl int64) (int64, error) {
	req.HasBody = true
	n := firstBodyChunk
	if cl >= 0 && cl < int64(n) {
		n = int(cl)
	}
	first := make([]byte, n)
	got, err := fill(body, first)
	req.First = first[:got]
	switch {
	case err == io.EOF && cl >= 0 && int64(got) < cl:
		return 0, fmt.Errorf("reading the request body: %w", io.ErrUnexpectedEOF)
	case err == io.EOF, err == nil && int64(got) == cl:
		req.FirstEOF = true
		return int64(got), nil
	case err != nil:
		return 0, fmt.Errorf("reading the request body: %w", err)
	}
	size, err := spoolBody(req, body)
	if err == nil && cl >= 0 && size < cl {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return 0, fmt.Errorf("reading the request body: %w", err)
	}
	return size, nil
}

// fill reads from r until b is full (nil) or r ends (io.EOF, which a
// truncated chunked body is not: net/http reports it as
// io.ErrUnexpectedEOF, and io.ReadFull would blur the two).
func fill(r io.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// idleReader bounds each read: a client that sends nothing for timeout is
// cut off, however long its whole body takes to arrive.
type idleReader struct {
	r           io.Reader
	timeout     time.Duration
	setDeadline func(time.Time) error
}

func (ir *idleReader) Read(p []byte) (int, error) {
	ir.setDeadline(time.Now().Add(ir.timeout))
	return ir.r.Read(p)
}

func bodyErrorStatus(err error) int {
	var mbe *http.MaxBytesError
	var ne net.Error
	switch {
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, errSpool):
		return http.StatusServiceUnavailable
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return http.StatusRequestTimeout
	}
	// Malformed chunked encoding, a body cut short, or a client that went
	// away (then the 400 reaches nobody, which is fine).
	return http.StatusBadRequest
}

// spoolBody copies the rest of a body to an unlinked temporary file and
// makes it the request's Body; it returns the body's full size.
func spoolBody(req *pyworker.Request, body io.Reader) (int64, error) {
	f, err := os.CreateTemp("", "gowsgi-body-")
	if err != nil {
		return 0, fmt.Errorf("%w: %w", errSpool, err)
	}
	os.Remove(f.Name())
	req.Body = f
	rest, err := io.Copy(spoolWriter{f}, body)
	if err == nil {
		if _, err = f.Seek(0, io.SeekStart); err != nil {
			err = fmt.Errorf("%w: %w", errSpool, err)
		}
	}
	return int64(len(req.First)) + rest, err
}

// spoolWriter tells the file's errors from the client's in io.Copy.
type spoolWriter struct{ f *os.File }

func (w spoolWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		err = fmt.Errorf("%w: %w", errSpool, err)
	}
	return n, err
}

func closeSpool(req *pyworker.Request) {
	if f, ok := req.Body.(*os.File); ok {
		f.Close()
	}
}

// errCutAfterHeaders stands for a failure (a dead worker, say) that came
// after the app's headers were sent: the response can only be cut.
var errCutAfterHeaders = errors.New("response cut after its headers were sent")

// fail answers with a plain error page when nothing was sent yet. err is
// logged when not nil.
func (h *Handler) fail(rw *responder, code int, err error) (int, error) {
	if err != nil && code >= 500 {
		h.logf("%v", err)
	}
	if rw.started {
		// Too late for an error page: the caller must cut the
		// connection, so the error may never be nil here.
		if err == nil {
			err = errCutAfterHeaders
		}
		return rw.status, err
	}
	msg := errorPages[code]
	hd := rw.w.Header()
	hd.Set("Content-Type", "text/plain; charset=utf-8")
	hd.Set("Content-Length", strconv.Itoa(len(msg)))
	switch code {
	case http.StatusBadRequest, http.StatusRequestTimeout, http.StatusRequestEntityTooLarge, http.StatusRequestHeaderFieldsTooLarge:
		// What is left of the request on the connection cannot be trusted
		// to frame the next one.
		hd.Set("Connection", "close")
	}
	rw.w.WriteHeader(code)
	rw.started, rw.status = true, code
	if !rw.head {
		n, _ := io.WriteString(rw.w, msg)
		rw.written += int64(n)
	}
	return code, err
}

var errorPages = map[int]string{
	http.StatusBadRequest:                  "400 Bad Request\n",
	http.StatusRequestTimeout:              "408 Request Timeout\n",
	http.StatusRequestEntityTooLarge:       "413 Request Entity Too Large\n",
	http.StatusRequestHeaderFieldsTooLarge: "431 Request Header Fields Too Large\n",
	http.StatusInternalServerError:         "500 Internal Server Error\n\nThe application raised an exception; the traceback is in the gowsgi log.\n",
	http.StatusBadGateway:                  "502 Bad Gateway\n\nThe worker handling this request died; the gowsgi log says why.\n",
	http.StatusServiceUnavailable:          "503 Service Unavailable\n\nNo worker could take this request.\n",
	http.StatusGatewayTimeout:              "504 Gateway Timeout\n\nThe request ran past the harakiri limit and its worker was replaced.\n",
}

func (h *Handler) logf(format string, a ...any) {
	if h.Logf != nil {
		h.Logf(format, a...)
	}
}

// responder adapts an http.ResponseWriter to pyworker.Responder.
type responder struct {
	w          http.ResponseWriter
	rc         *http.ResponseController
	timeout    time.Duration // for each write (Handler.Timeout)
	unreadBody bool          // the request has a body not read to its end
	head       bool
	started    bool // a status was sent (by the app or an error page)
	appStarted bool // the app's status was sent
	status     int
	written    int64
	pid        int
	gen        int
}

// Start implements pyworker.Responder.
func (rw *responder) Start(status string, headers [][2]string) error {
	code, err := parseStatus(status)
	if err != nil {
		return err
	}
	hd := rw.w.Header()
	hasType := false
	for _, kv := range headers {
		name, value := kv[0], kv[1]
		if !validHeaderName(name) {
			return fmt.Errorf("header name %q is not a valid token (PEP 3333)", name)
		}
		if strings.ContainsAny(value, "\r\n\x00") {
			return fmt.Errorf("header %s has a CR, LF or NUL in its value (PEP 3333 forbids control characters)", name)
		}
		key := textproto.CanonicalMIMEHeaderKey(name)
		if hopByHop[key] {
			return fmt.Errorf("hop-by-hop header %s is not allowed from a WSGI app (PEP 3333)", name)
		}
		if key == "Content-Type" {
			hasType = true
		}
		hd[key] = append(hd[key], value)
	}
	if !hasType {
		// Keep net/http from sniffing a Content-Type the app did not set.
		hd["Content-Type"] = nil
	}
	rw.w.WriteHeader(code)
	rw.started, rw.appStarted, rw.status = true, true, code
	return nil
}

// Write implements pyworker.Responder. A client that reads nothing for
// the timeout fails the write, and so frees the worker.
func (rw *responder) Write(p []byte) error {
	rw.setWriteDeadline()
	n, err := rw.w.Write(p)
	rw.written += int64(n)
	if errors.Is(err, http.ErrBodyNotAllowed) {
		return nil // a body on a 204/304: drop it, as net/http does
	}
	return err
}

// Flush implements pyworker.Responder.
func (rw *responder) Flush() {
	rw.setWriteDeadline()
	rw.rc.Flush()
}

// setWriteDeadline gives the next write to the client the timeout. It is
// set before each write, not once per response, so that a response
// streamed slowly by the app is not cut: only a client that stops reading
// is. (A writer that cannot set deadlines, such as a dev-mode wrapper, is
// left without one.)
func (rw *responder) setWriteDeadline() {
	rw.rc.SetWriteDeadline(time.Now().Add(rw.timeout))
}

func parseStatus(s string) (int, error) {
	if len(s) < 4 || s[3] != ' ' {
		return 0, fmt.Errorf("status %q is not \"NNN Reason\" (PEP 3333)", s)
	}
	code, err := strconv.Atoi(s[:3])
	if err != nil || code < 100 {
		return 0, fmt.Errorf("status %q does not start with a 3-digit code (PEP 3333)", s)
	}
	return code, nil
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}
