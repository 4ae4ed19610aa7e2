package gateway

// This file writes a worker's response on a uwsgi connection the way nginx's
// uwsgi module reads it: an HTTP/1.1 status line, the headers, a blank line
// and the body, which ends with the app's Content-Length or, without one,
// when the connection closes.

import (
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strconv"
	"strings"
)

// uwsgiPending is how much response is held back for one write: the
// status line and headers wait for the first body chunk, and small chunks
// queued by the worker go out together when it has nothing more queued
// (Flush). A chunk that does not fit is written with what is pending in one
// writev; a bufio.Writer would split a header block and a 64 KiB chunk
// into two writes.
const uwsgiPending = 32 << 10

// errPastContentLength is returned by Write when the app sends more than
// its Content-Length; the extra bytes are not sent (net/http does the same).
var errPastContentLength = errors.New("the app sent more body than its Content-Length")

// uwsgiResponder adapts a uwsgi connection to pyworker.Responder.
type uwsgiResponder struct {
	conn    *uwsgiConn
	head    bool // a HEAD request: headers only
	noBody  bool // HEAD, 1xx, 204 or 304: the body is dropped
	started bool // a status line is out (the app's, or an error page)
	// appStarted says the app's status and headers were accepted: from then
	// on a failure can only cut the connection.
	appStarted bool
	status     int
	declared   int64 // the app's Content-Length; -1 without one
	written    int64 // body bytes accepted
	pending    []byte
	pid, gen   int
}

// Start implements pyworker.Responder. The status line and headers are
// checked as the HTTP listener checks them, then held until the first
// body chunk.
func (rw *uwsgiResponder) Start(status string, headers [][2]string) error {
	code, err := parseStatus(status)
	if err != nil {
		return err
	}
	if strings.ContainsAny(status, "\r\n\x00") {
		// The HTTP listener sends only the code; here the app's own line
		// goes out, so it must not carry a line break.
		return fmt.Errorf("status %q has a CR, LF or NUL (PEP 3333 forbids control characters)", status)
	}
	rw.declared = -1
	b := rw.pending[:0]
	b = append(b, "HTTP/1.1 "...)
	b = append(b, status...)
	b = append(b, "\r\n"...)
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
		if key == "Content-Length" {
			n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
			if err != nil || n < 0 || (rw.declared >= 0 && n != rw.declared) {
				return fmt.Errorf("header Content-Length %q is not one length", value)
			}
			rw.declared = n
		}
		b = append(b, name...)
		b = append(b, ": "...)
		b = append(b, value...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	rw.pending = b
	rw.noBody = rw.head || code < 200 || code == 204 || code == 304
	rw.started, rw.appStarted, rw.status = true, true, code
	return nil
}

// Write implements pyworker.Responder.
func (rw *uwsgiResponder) Write(p []byte) error {
	if rw.noBody {
		return nil // as net/http drops a body on HEAD, 204 and 304
	}
	var over error
	if rw.declared >= 0 && rw.written+int64(len(p)) > rw.declared {
		p, over = p[:rw.declared-rw.written], errPastContentLength
	}
	rw.written += int64(len(p))
	if len(rw.pending)+len(p) <= uwsgiPending {
		rw.pending = append(rw.pending, p...)
		return over
	}
	bufs := net.Buffers{rw.pending, p}
	_, err := bufs.WriteTo(rw.conn.c)
	rw.pending = rw.pending[:0]
	if err != nil {
		return err
	}
	return over
}

// Flush implements pyworker.Responder: the worker has nothing more queued.
func (rw *uwsgiResponder) Flush() { rw.flush() }

func (rw *uwsgiResponder) flush() error {
	if len(rw.pending) == 0 {
		return nil
	}
	_, err := rw.conn.c.Write(rw.pending)
	rw.pending = rw.pending[:0]
	return err
}

// complete reports whether the body sent matches the app's Content-Length.
func (rw *uwsgiResponder) complete() bool {
	return rw.noBody || rw.declared < 0 || rw.written == rw.declared
}
