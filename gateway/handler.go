package gateway

// This file implements the HTTP side of a request: it turns a net/http
// request into a worker request and the worker's frames back into the
// response, and decides what the client sees when something fails.

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	Acquire(ctx context.Context) (*pyworker.Slot, error)
	Release(s *pyworker.Slot)
}

// firstBodyChunk is how much of a request body is read before a worker is
// taken: bodies up to this size never hold a worker while they arrive.
const firstBodyChunk = 64 << 10

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
	rw := &responder{w: w, head: r.Method == http.MethodHead}
	status, err := h.serve(rw, r)
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
	req := &pyworker.Request{Path: r.URL.Path}
	if h.LimitPost > 0 && r.ContentLength != 0 {
		if r.ContentLength > h.LimitPost {
			return h.fail(rw, http.StatusRequestEntityTooLarge, nil)
		}
		r.Body = http.MaxBytesReader(rw.w, r.Body, h.LimitPost)
	}
	if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
		if code, err := h.readBody(req, r); err != nil {
			if code == 0 {
				return 0, err
			}
			return h.fail(rw, code, err)
		}
		defer closeSpool(req)
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
	qt := h.QueueTimeout
	if qt == 0 {
		qt = 60 * time.Second
	}
	actx, cancel := context.WithTimeout(ctx, qt)
	slot, err := h.Backend.Acquire(actx)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return 499, err // the client gave up while queued
		}
		if errors.Is(err, pyworker.ErrStopping) {
			return h.fail(rw, http.StatusServiceUnavailable, errors.New("gowsgi is shutting down"))
		}
		return h.fail(rw, http.StatusServiceUnavailable, fmt.Errorf("no worker free after %s", qt))
	}
	rw.pid, rw.gen = slot.Worker()
	err = slot.Do(req, rw)
	h.Backend.Release(slot)
	if err == nil {
		return rw.status, nil
	}
	var appErr *pyworker.AppError
	var badResp *pyworker.BadResponseError
	switch {
	case errors.As(err, &appErr):
		h.logf("%s %s: %s", r.Method, r.URL.Path, strings.TrimRight(appErr.Traceback, "\n"))
		return h.fail(rw, http.StatusInternalServerError, nil)
	case errors.As(err, &badResp):
		h.logf("%s %s: %v", r.Method, r.URL.Path, badResp)
		return h.fail(rw, http.StatusInternalServerError, nil)
	case errors.Is(err, pyworker.ErrHarakiri):
		return h.fail(rw, http.StatusGatewayTimeout, fmt.Errorf("%s %s: %w", r.Method, r.URL.Path, err))
	case errors.Is(err, pyworker.ErrWorkerDied):
		h.logf("%s %s: %v", r.Method, r.URL.Path, err)
		return h.fail(rw, http.StatusBadGateway, nil)
	case errors.Is(err, pyworker.ErrClientGone):
		return 499, err
	case errors.Is(err, pyworker.ErrResponseBroken):
		h.logf("%s %s: the response broke after its headers were sent (traceback above)", r.Method, r.URL.Path)
		return rw.status, err
	}
	h.logf("%s %s: %v", r.Method, r.URL.Path, err)
	return h.fail(rw, http.StatusBadGateway, nil)
}

// readBody reads the start of the body before a worker is taken. A
// chunked body (no Content-Length) is read whole, to a temporary file past
// firstBodyChunk, so that CONTENT_LENGTH can be set: Django and most WSGI
// apps read nothing without it. It returns the status to answer on error
// (0: the client is gone, answer nothing).
func (h *Handler) readBody(req *pyworker.Request, r *http.Request) (int, error) {
	req.HasBody = true
	n := firstBodyChunk
	if r.ContentLength > 0 && r.ContentLength < int64(n) {
		n = int(r.ContentLength)
	}
	first := make([]byte, n)
	got, err := io.ReadFull(r.Body, first)
	req.First = first[:got]
	switch {
	case err == nil && int64(got) == r.ContentLength:
		req.FirstEOF = true
	case err == nil && r.ContentLength > 0:
		req.Body = r.Body
	case err == nil: // chunked and larger than firstBodyChunk
		size, err := spoolBody(req, r)
		if err != nil {
			return bodyErrorStatus(err), fmt.Errorf("reading the request body: %w", err)
		}
		r.ContentLength = size
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		if r.ContentLength > 0 && int64(got) < r.ContentLength {
			return 0, fmt.Errorf("reading the request body: %w", err)
		}
		req.FirstEOF = true
		r.ContentLength = int64(got)
	default:
		return bodyErrorStatus(err), fmt.Errorf("reading the request body: %w", err)
	}
	return 0, nil
}

func bodyErrorStatus(err error) int {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge
	}
	// Malformed chunked encoding, or a client that went away (then the
	// 400 reaches nobody, which is fine).
	return http.StatusBadRequest
}

// spoolBody copies the rest of a chunked body to an unlinked temporary
// file and makes it the request's Body; it returns the body's full size.
func spoolBody(req *pyworker.Request, r *http.Request) (int64, error) {
	f, err := os.CreateTemp("", "gowsgi-body-")
	if err != nil {
		return 0, err
	}
	os.Remove(f.Name())
	rest, err := io.Copy(f, r.Body)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return 0, err
	}
	req.Body = f
	return int64(len(req.First)) + rest, nil
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
	if code == http.StatusBadRequest || code == http.StatusRequestEntityTooLarge {
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
	http.StatusBadRequest:            "400 Bad Request\n",
	http.StatusRequestEntityTooLarge: "413 Request Entity Too Large\n",
	http.StatusInternalServerError:   "500 Internal Server Error\n\nThe application raised an exception; the traceback is in the gowsgi log.\n",
	http.StatusBadGateway:            "502 Bad Gateway\n\nThe worker handling this request died; the gowsgi log says why.\n",
	http.StatusServiceUnavailable:    "503 Service Unavailable\n\nNo worker could take this request.\n",
	http.StatusGatewayTimeout:        "504 Gateway Timeout\n\nThe request ran past the harakiri limit and its worker was replaced.\n",
}

func (h *Handler) logf(format string, a ...any) {
	if h.Logf != nil {
		h.Logf(format, a...)
	}
}

// responder adapts an http.ResponseWriter to pyworker.Responder.
type responder struct {
	w          http.ResponseWriter
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

// Write implements pyworker.Responder.
func (rw *responder) Write(p []byte) error {
	n, err := rw.w.Write(p)
	rw.written += int64(n)
	if errors.Is(err, http.ErrBodyNotAllowed) {
		return nil // a body on a 204/304: drop it, as net/http does
	}
	return err
}

// Flush implements pyworker.Responder.
func (rw *responder) Flush() {
	if f, ok := rw.w.(http.Flusher); ok {
		f.Flush()
	}
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
