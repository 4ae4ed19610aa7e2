package gateway

// This file is the engine's HTTP/1.1 wire: the pipeline's answers written
// as net/http writes them on the proxy path (the same status lines, a Date,
// the body framed by the app's Content-Length, by one the engine counts when
// the whole body was written before the app returned, or chunked), so that
// a client cannot tell which path served it. The request itself is parsed
// by net/http's ReadRequest from the bytes the engine received, behind the
// same framing guard (guard.go).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// errUnsupportedVersion is a request in an HTTP version other than 1.x.
var errUnsupportedVersion = errors.New("unsupported protocol version")

// checkEngineRequest is checkRequest with what net/http's server checks
// before a handler runs and ReadRequest does not: the version (505), and
// a valid Host on HTTP/1.1 (ReadRequest drops the Host field from the
// header, so hosts, the Host lines of the raw head, tells whether there
// was one).
func checkEngineRequest(r *http.Request, hosts int) (int, error) {
	if r.ProtoMajor != 1 {
		return http.StatusHTTPVersionNotSupported, errUnsupportedVersion
	}
	switch {
	case r.ProtoAtLeast(1, 1) && hosts == 0 && r.Method != http.MethodConnect:
		return http.StatusBadRequest, fmt.Errorf("%w: missing required Host header", ErrBadRequest)
	case hosts > 1:
		return http.StatusBadRequest, fmt.Errorf("%w: too many Host headers", ErrBadRequest)
	case !validHost(r.Host):
		return http.StatusBadRequest, fmt.Errorf("%w: malformed Host header", ErrBadRequest)
	}
	return checkRequest(r)
}

// hostLines counts the Host fields of the head at the start of b.
func hostLines(b []byte) int {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		end = len(b)
	}
	n := 0
	for i := bytes.IndexByte(b[:end], '\n'); i >= 0 && i+6 <= end; {
		if line := b[i+1:]; len(line) >= 5 && (line[0]|0x20) == 'h' && (line[1]|0x20) == 'o' && (line[2]|0x20) == 's' && (line[3]|0x20) == 't' && line[4] == ':' {
			n++
		}
		j := bytes.IndexByte(b[i+1:end], '\n')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return n
}

// validHost accepts the bytes a Host header may hold (RFC 3986's
// reg-name, IP literals and a port), as net/http's httpguts does.
func validHost(h string) bool {
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!$%&'()*+,-.:;=[]_~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// wantsKeepAlive reports whether the client lets the connection carry
// another request after this one.
func wantsKeepAlive(r *http.Request) bool {
	if r.Close {
		return false
	}
	if r.ProtoAtLeast(1, 1) {
		return true
	}
	return hasToken(r.Header["Connection"], "keep-alive")
}

// hasToken reports whether a comma-separated header holds token.
func hasToken(values []string, token string) bool {
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// engineHTTPWire is the wire of one HTTP request in the engine.
type engineHTTPWire struct {
	c         *fdConn
	r         *http.Request
	timeout   time.Duration
	env       *Environ
	keepAlive bool         // the connection may carry another request
	stopping  *atomic.Bool // the engine's: once set, this answer closes the connection

	head     []byte // the status line and headers, until the body is framed
	body     []byte // body bytes written, not yet sent
	code     int
	started  bool // writeHead was called
	sent     bool // the head was sent
	noBody   bool // HEAD, 1xx, 204, 304
	chunked  bool
	declared int64 // the app's Content-Length; -1 without one
	written  int64
	err      error
	envBuf   []byte
	// closeEnds: the body has no length and no chunks; the close ends it.
	closeEnds bool
}

// engineHold is how much body is held back before the head goes out: a
// body written in full before the app returns gets a Content-Length.
const engineHold = 32 << 10

func (w *engineHTTPWire) environ(bodySize int64) ([]byte, error) {
	if w.r.ContentLength != 0 {
		w.r.ContentLength = bodySize
	}
	env, err := w.env.AppendEnviron(w.envBuf[:0], w.r)
	w.envBuf = env
	return env, err
}

func (w *engineHTTPWire) setReadDeadline(t time.Time) error   { return w.c.SetReadDeadline(t) }
func (w *engineHTTPWire) stopReading()                        { w.keepAlive = false }
func (w *engineHTTPWire) watchPeer(context.CancelFunc) func() { return nil }
func (w *engineHTTPWire) peerGone() bool                      { return false }
func (w *engineHTTPWire) closeAfter()                         { w.keepAlive = false }

func (w *engineHTTPWire) responseWriter() http.ResponseWriter { return &answerWriter{w: w} }

func (w *engineHTTPWire) writeHead(code int, _ string, headers [][2]string) error {
	w.code, w.started, w.declared = code, true, -1
	w.noBody = w.r.Method == http.MethodHead || code < 200 || code == 204 || code == 304
	b := w.head[:0]
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	if t := http.StatusText(code); t != "" {
		b = append(b, t...)
	} else {
		b = append(b, "status code "...)
		b = strconv.AppendInt(b, int64(code), 10)
	}
	b = append(b, "\r\n"...)
	hasDate := false
	for _, kv := range headers {
		name := textproto.CanonicalMIMEHeaderKey(kv[0])
		switch name {
		case "Content-Length":
			n, err := strconv.ParseInt(strings.TrimSpace(kv[1]), 10, 64)
			if err != nil || n < 0 || (w.declared >= 0 && n != w.declared) {
				return errors.New("header Content-Length " + strconv.Quote(kv[1]) + " is not one length")
			}
			w.declared = n
			continue // sendHead writes it, once
		case "Date":
			hasDate = true
		case "Connection":
			if hasToken([]string{kv[1]}, "close") {
				w.keepAlive = false
			}
			continue // the engine says what the connection does
		case "Transfer-Encoding":
			continue // hop-by-hop: the engine frames the body
		}
		b = append(b, name...)
		b = append(b, ": "...)
		b = append(b, kv[1]...)
		b = append(b, "\r\n"...)
	}
	if !hasDate {
		b = append(b, "Date: "...)
		b = append(b, httpDate()...)
		b = append(b, "\r\n"...)
	}
	w.head = b
	return nil
}

func (w *engineHTTPWire) writeBody(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.noBody {
		return 0, nil // as net/http drops a body on HEAD, 204 and 304
	}
	p, over := withinLength(p, w.written, w.declared)
	w.written += int64(len(p))
	if !w.sent && len(w.body)+len(p) <= engineHold {
		w.body = append(w.body, p...)
		return len(p), over
	}
	if !w.sent {
		w.sendHead(false)
	}
	w.appendBody(p)
	if len(w.body) >= engineHold {
		w.send()
	}
	if w.err != nil {
		return len(p), w.err
	}
	return len(p), over
}

// appendBody adds p to what is to be sent, as a chunk when chunked.
func (w *engineHTTPWire) appendBody(p []byte) {
	if len(p) == 0 {
		return
	}
	if w.chunked {
		w.body = strconv.AppendInt(w.body, int64(len(p)), 16)
		w.body = append(w.body, "\r\n"...)
		w.body = append(w.body, p...)
		w.body = append(w.body, "\r\n"...)
		return
	}
	w.body = append(w.body, p...)
}

// sendHead frames the body and queues the head in front of what is held:
// complete says the whole body is held (the app returned).
func (w *engineHTTPWire) sendHead(complete bool) {
	held := w.body
	b := w.head
	switch {
	case w.noBody || w.declared >= 0:
		if w.declared >= 0 {
			b = append(b, "Content-Length: "...)
			b = strconv.AppendInt(b, w.declared, 10)
			b = append(b, "\r\n"...)
		}
	case complete:
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(held)), 10)
		b = append(b, "\r\n"...)
	case w.r.ProtoAtLeast(1, 1):
		w.chunked = true
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	default:
		w.keepAlive = false // HTTP/1.0: the close ends the body
		w.closeEnds = true
	}
	if w.stopping != nil && w.stopping.Load() {
		w.keepAlive = false
	}
	switch {
	case !w.keepAlive:
		b = append(b, "Connection: close\r\n"...)
	case !w.r.ProtoAtLeast(1, 1):
		b = append(b, "Connection: keep-alive\r\n"...)
	}
	b = append(b, "\r\n"...)
	w.sent = true
	w.body = b
	w.head = held[:0]
	if w.chunked {
		w.appendBody(held)
	} else {
		w.body = append(w.body, held...)
	}
}

// send writes what is queued, with the timeout for a client that reads
// nothing.
func (w *engineHTTPWire) send() {
	if len(w.body) == 0 || w.err != nil {
		return
	}
	w.c.SetWriteDeadline(time.Now().Add(w.timeout))
	_, w.err = w.c.Write(w.body)
	w.body = w.body[:0]
}

func (w *engineHTTPWire) flush() {
	if !w.started {
		return
	}
	if !w.sent {
		w.sendHead(false)
	}
	w.send()
}

// sendFile sends n bytes of f from off with sendfile(2) (wsgi.file_wrapper).
func (w *engineHTTPWire) sendFile(fd int, off, n int64) (int64, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.noBody {
		return n, nil
	}
	if w.declared >= 0 && w.written+n > w.declared {
		n = w.declared - w.written
	}
	if !w.sent {
		w.sendHead(false)
	}
	if w.chunked {
		// A chunk header, the file, the chunk's CRLF (queued for after).
		w.body = strconv.AppendInt(w.body, n, 16)
		w.body = append(w.body, "\r\n"...)
	}
	w.send()
	if w.err != nil {
		return 0, w.err
	}
	w.c.SetWriteDeadline(time.Now().Add(w.timeout))
	sent, err := w.c.sendFile(fd, off, n)
	w.written += sent
	if err != nil {
		w.err = err
		return sent, err
	}
	if w.chunked {
		w.body = append(w.body, "\r\n"...)
	}
	return sent, nil
}

// finish sends the rest of the answer after the pipeline is done with it;
// it returns false when the connection must be cut: the body is shorter
// than its Content-Length, or the client is gone.
func (w *engineHTTPWire) finish() bool {
	if !w.started {
		return false
	}
	if !w.sent {
		w.sendHead(true)
	} else if w.chunked {
		w.body = append(w.body, "0\r\n\r\n"...)
	}
	w.send()
	if w.err != nil {
		return false
	}
	return w.noBody || w.declared < 0 || w.written == w.declared
}

// httpDate is the Date header's value, formatted once a second.
func httpDate() string {
	now := time.Now().Unix()
	if d := dateCache.Load(); d != nil && d.unix == now {
		return d.text
	}
	d := &cachedDate{unix: now, text: time.Unix(now, 0).UTC().Format(http.TimeFormat)}
	dateCache.Store(d)
	return d.text
}

type cachedDate struct {
	unix int64
	text string
}

var dateCache atomic.Pointer[cachedDate]

var _ net.Conn = (*fdConn)(nil)
