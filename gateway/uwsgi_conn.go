package gateway

// This file is one uwsgi connection as the request pipeline's wire: the
// body that follows the packet, the peer watch while the request waits for
// a worker, and the answer written the way nginx's uwsgi module reads it
// (an HTTP/1.1 status line, the headers, a blank line and the body, which
// ends with the app's Content-Length or, without one, when the connection
// closes).

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// uwsgiPending is how much response is held back for one write: the
// status line and headers wait for the first body chunk, and small chunks
// queued by the worker go out together when it has nothing more queued
// (Flush). A chunk that does not fit is written with what is pending in one
// writev; a bufio.Writer would split a header block and a 64 KiB chunk
// into two writes.
const uwsgiPending = 32 << 10

// errPastContentLength is returned by writeBody when the app sends more
// than its Content-Length; the extra bytes are not sent (net/http does the
// same).
var errPastContentLength = errors.New("the app sent more body than its Content-Length")

// withinLength cuts p to what a body of declared bytes (-1: no
// Content-Length) has room for after written; over is
// errPastContentLength when it cut.
func withinLength(p []byte, written, declared int64) ([]byte, error) {
	if declared >= 0 && written+int64(len(p)) > declared {
		return p[:declared-written], errPastContentLength
	}
	return p, nil
}

// aLongTimeAgo is a deadline in the past: it unblocks a pending Read.
var aLongTimeAgo = time.Unix(1, 0)

// uwsgiConn is one accepted connection, its request and its answer.
type uwsgiConn struct {
	c       net.Conn
	br      *bufio.Reader
	timeout time.Duration // for each write (UwsgiServer.Timeout)
	env     []byte        // the request's environ, encoded from the packet
	body    *io.LimitedReader
	cut     bool // end with a reset: the response is broken
	gone    bool // watchPeer saw the connection close
	// noWatch: the engine's connection, whose request never waits for a
	// worker (the thread that reads it runs it).
	noWatch bool

	head     bool  // a HEAD request: headers only
	noBody   bool  // HEAD, 1xx, 204 or 304: the body is dropped
	declared int64 // the answer's Content-Length; -1 without one
	written  int64 // body bytes accepted
	pending  []byte
	flushErr error
}

func (uc *uwsgiConn) environ(int64) ([]byte, error)     { return uc.env, nil }
func (uc *uwsgiConn) setReadDeadline(t time.Time) error { return uc.c.SetReadDeadline(t) }

// stopReading does nothing: close drains what is left of the body (see
// drainBody), and nothing follows it on a uwsgi connection.
func (uc *uwsgiConn) stopReading() {}

// watchPeer notices nginx closing the connection while the request waits
// for a worker (nginx closes it when its client goes away), so the wait is
// cancelled, as net/http's background read does for HTTP. It only watches
// once the body is read in full: until then reading would eat the body.
// The returned function stops the watch.
func (uc *uwsgiConn) watchPeer(cancel context.CancelFunc) (stop func()) {
	if (uc.body != nil && uc.body.N > 0) || uc.br.Buffered() > 0 || uc.noWatch {
		return nil
	}
	done := make(chan struct{})
	go uc.peerWatch(cancel, done)
	return func() {
		uc.c.SetReadDeadline(aLongTimeAgo)
		<-done
		uc.c.SetReadDeadline(time.Time{})
	}
}

func (uc *uwsgiConn) peerWatch(cancel context.CancelFunc, done chan<- struct{}) {
	defer close(done)
	var b [1]byte
	// nginx sends nothing after the body, so any return but our own
	// deadline means the connection is closed (or unusable).
	_, err := uc.c.Read(b[:])
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		uc.gone = true
		cancel()
	}
}

func (uc *uwsgiConn) peerGone() bool { return uc.gone }

// writeHead holds the status line and headers until the first body chunk.
// The app's status line goes out as it is (the HTTP listener sends only
// the code).
func (uc *uwsgiConn) writeHead(code int, status string, headers [][2]string) error {
	if status == "" {
		status = strconv.Itoa(code) + " " + http.StatusText(code)
	}
	declared := int64(-1)
	b := uc.pending[:0]
	b = append(b, "HTTP/1.1 "...)
	b = append(b, status...)
	b = append(b, "\r\n"...)
	for _, kv := range headers {
		name, value := kv[0], kv[1]
		if strings.EqualFold(name, "Content-Length") {
			n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
			if err != nil || n < 0 || (declared >= 0 && n != declared) {
				return errors.New("header Content-Length " + strconv.Quote(value) + " is not one length")
			}
			declared = n
		}
		b = append(b, name...)
		b = append(b, ": "...)
		b = append(b, value...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	uc.pending, uc.declared = b, declared
	uc.noBody = uc.head || code < 200 || code == 204 || code == 304
	return nil
}

// writeBody gives each write to nginx the timeout, as the HTTP listener
// does: a peer that reads nothing for that long fails the write and so
// frees the worker. A failed flush fails the next write: a streaming app's
// small chunks are written by flush alone, and the worker must hear that
// nginx is gone at its next chunk, not once 32 KiB of them have piled up.
func (uc *uwsgiConn) writeBody(p []byte) (int, error) {
	if uc.flushErr != nil {
		return 0, uc.flushErr
	}
	if uc.noBody {
		return 0, nil // as net/http drops a body on HEAD, 204 and 304
	}
	p, over := withinLength(p, uc.written, uc.declared)
	uc.written += int64(len(p))
	if len(uc.pending)+len(p) <= uwsgiPending {
		uc.pending = append(uc.pending, p...)
		return len(p), over
	}
	uc.c.SetWriteDeadline(time.Now().Add(uc.timeout))
	bufs := net.Buffers{uc.pending, p}
	_, err := bufs.WriteTo(uc.c)
	uc.pending = uc.pending[:0]
	if err != nil {
		return len(p), err
	}
	return len(p), over
}

// flush implements wire: the worker has nothing more queued.
func (uc *uwsgiConn) flush() {
	if err := uc.flushPending(); err != nil && uc.flushErr == nil {
		uc.flushErr = err
	}
}

func (uc *uwsgiConn) flushPending() error {
	if len(uc.pending) == 0 {
		return nil
	}
	uc.c.SetWriteDeadline(time.Now().Add(uc.timeout))
	_, err := uc.c.Write(uc.pending)
	uc.pending = uc.pending[:0]
	return err
}

// closeAfter does nothing: every uwsgi connection ends after its answer.
func (uc *uwsgiConn) closeAfter() {}

func (uc *uwsgiConn) responseWriter() http.ResponseWriter { return &answerWriter{w: uc} }

// complete reports whether the body sent matches the app's Content-Length.
func (uc *uwsgiConn) complete() bool {
	return uc.noBody || uc.declared < 0 || uc.written == uc.declared
}

// close ends the connection. A cut one is reset (SO_LINGER 0), so that nginx
// logs "Connection reset by peer" and ends its response to the client
// without its final chunk, instead of taking EOF for the end of a response
// delimited by the close. Otherwise the rest of an unread body is drained
// first (see drainBody).
func (uc *uwsgiConn) close() {
	if uc.cut {
		if tc, ok := uc.c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		uc.c.Close()
		return
	}
	if uc.body != nil && uc.body.N > 0 {
		// The response is complete: say so now, then drain.
		if cw, ok := uc.c.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		uc.drainBody()
	}
	uc.c.Close()
}

// How long a body answered before it was read is drained (drainBody): at
// most drainFor, and while no pause is longer than drainIdle.
const (
	drainFor  = time.Minute
	drainIdle = 5 * time.Second
)

// drainBody reads and discards what is left of the request body, for at
// most a minute and while it keeps coming. nginx sends the whole body before
// it reads the response, and a connection closed under that send is a failed
// upstream to it, whatever answer is waiting: without the drain, an app that
// answers an upload without reading it (a 403, a 413, an exception) shows
// the client a 502 and nginx logs "writev() failed (32: Broken pipe) while
// sending request to upstream" (or "Connection reset by peer": closing a
// socket with unread data resets it).
//
// The engine drains a body that is still arriving in its loop instead
// (engineConn.drain), within the same bounds.
func (uc *uwsgiConn) drainBody() {
	end := time.Now().Add(drainFor)
	buf := make([]byte, 32<<10)
	for uc.body.N > 0 {
		idle := time.Now().Add(drainIdle)
		if idle.After(end) {
			idle = end
		}
		uc.c.SetReadDeadline(idle)
		if _, err := uc.body.Read(buf); err != nil {
			return
		}
	}
}
