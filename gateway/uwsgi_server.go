package gateway

// This file implements the uwsgi listener from the perspective of the
// application server behind nginx's `uwsgi_pass`: accept a connection, read
// one packet (uwsgi.go), run the request on a worker exactly as the HTTP
// handler does, write the response back, close.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gowsgi/gowsgi/pyworker"
)

// UwsgiServer serves the uwsgi protocol on any number of listeners: one
// request per connection, as nginx's uwsgi module expects. Set the exported
// fields, then call Serve for each listener.
//
// What the client sees when something fails is what the HTTP listener
// shows (see the package doc), passed on by nginx; a packet gowsgi refuses
// is left unanswered, which nginx turns into a 502.
//
// Troubleshooting (the gowsgi line, then nginx's error log):
//
//	gowsgi: uwsgi 127.0.0.1:35552: invalid request block size: 9430 (max 8192)...skip; the request headers are too large for --buffer-size 8192: raise it (at most 65535), as with uWSGI's buffer-size
//	[error] recv() failed (104: Connection reset by peer) while reading response header from upstream
//
// nginx puts every request header in the packet: big cookies or many
// headers outgrow the buffer. Raise --buffer-size (nginx's own limit is
// large_client_header_buffers).
//
//	gowsgi: uwsgi 127.0.0.1:35552: unavailable modifier requested: modifier1 30 (gowsgi serves WSGI, modifier1 0; remove uwsgi_modifier1 from the nginx config)
//
// Old configs set `uwsgi_modifier1 30` so that uWSGI strips SCRIPT_NAME from
// PATH_INFO. Remove it; mount the app with uwsgi_param SCRIPT_NAME and a
// PATH_INFO without the prefix instead.
//
//	gowsgi: GET /report/: the response broke after its headers were sent (traceback above)
//	[error] readv() failed (104: Connection reset by peer) while reading upstream
//
// The app failed while streaming its body. gowsgi resets the connection so
// that nginx cuts the client's response instead of ending it as if it were
// complete; the traceback is just above in the gowsgi log.
type UwsgiServer struct {
	// Backend hands out worker slots; required.
	Backend Backend
	// Environ supplies what a packet may lack. Scheme is wsgi.url_scheme when
	// the packet names none (nginx's uwsgi_params always sends
	// REQUEST_SCHEME). ScriptName is stripped from PATH_INFO when the packet
	// has no SCRIPT_NAME. LocalAddr is not used: each connection's own local
	// address stands in for a missing SERVER_NAME/SERVER_PORT.
	Environ Environ
	// BufferSize is the largest vars block accepted, uWSGI's buffer-size:
	// nginx sends every request header in it, so big cookies need more.
	// 0 means DefaultUwsgiBufferSize (4096); at most MaxUwsgiBufferSize.
	BufferSize int
	// Log receives one line per request; nil turns the access log off.
	Log *AccessLog
	// Metrics, when set, observes every request (metrics.go).
	Metrics *Metrics
	// Logf reports server-side problems (an app error, a dead worker, a
	// refused packet); nil discards them.
	Logf func(format string, a ...any)
	// QueueTimeout is how long a request waits for a free worker before a
	// 503; 0 means 60s.
	QueueTimeout time.Duration
	// HeaderTimeout is how long a new connection may take to send its
	// packet (header and vars) before it is closed; 0 means Timeout.
	HeaderTimeout time.Duration
	// Timeout bounds each read of a request body and each write of the
	// response, as Handler.Timeout does; 0 means DefaultTimeout.
	Timeout time.Duration
	// LimitPost is the largest request body accepted (uWSGI's limit-post);
	// a larger CONTENT_LENGTH gets 413 before the body is read. 0: no limit.
	LimitPost int64
	// ResponseHeaders are added to every app response (add-header).
	ResponseHeaders ResponseHeaders

	mu       sync.Mutex
	lns      []net.Listener
	conns    map[net.Conn]context.CancelFunc
	closing  bool
	quit     chan struct{} // closed when the server stops accepting
	acceptWG sync.WaitGroup
	connWG   sync.WaitGroup
}

// Serve accepts connections on ln in a goroutine until Shutdown or Close.
func (s *UwsgiServer) Serve(ln net.Listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		ln.Close()
		return
	}
	if s.conns == nil {
		s.conns = map[net.Conn]context.CancelFunc{}
		s.quit = make(chan struct{})
	}
	s.lns = append(s.lns, ln)
	s.acceptWG.Add(1)
	go s.acceptLoop(ln)
}

// Shutdown stops accepting, waits for in-flight requests until ctx ends,
// then closes what is left and returns ctx's error.
func (s *UwsgiServer) Shutdown(ctx context.Context) error {
	s.stopAccepting()
	done := make(chan struct{})
	go func() { s.connWG.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.closeConns()
		<-done
		return ctx.Err()
	}
}

// Drain is Shutdown: with one request per connection there are no idle
// keep-alive connections to give a grace period to. It exists so that
// cmd/gowsgi treats Server and UwsgiServer alike.
func (s *UwsgiServer) Drain(ctx context.Context, idleGrace time.Duration) error {
	return s.Shutdown(ctx)
}

// Close closes every listener and connection at once.
func (s *UwsgiServer) Close() error {
	s.stopAccepting()
	s.closeConns()
	s.connWG.Wait()
	return nil
}

func (s *UwsgiServer) stopAccepting() {
	s.mu.Lock()
	if !s.closing {
		s.closing = true
		if s.quit != nil {
			close(s.quit)
		}
		for _, ln := range s.lns {
			ln.Close()
		}
	}
	s.mu.Unlock()
	// After this no accept loop can add to connWG, so waiting on it is safe.
	s.acceptWG.Wait()
}

func (s *UwsgiServer) closeConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c, cancel := range s.conns {
		cancel() // a request still queued for a worker gives up
		c.Close()
	}
}

// acceptLoop accepts until the listener is closed. Temporary errors (out
// of file descriptors, above all) are retried with a backoff, as net/http
// does, instead of ending the listener or spinning.
func (s *UwsgiServer) acceptLoop(ln net.Listener) {
	defer s.acceptWG.Done()
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			select {
			case <-s.quit:
				return
			default:
			}
			if !temporaryAcceptError(err) {
				s.logf("uwsgi: accepting on %s: %v; this listener is stopped", ln.Addr(), err)
				return
			}
			if delay == 0 {
				delay = 5 * time.Millisecond
				hint := ""
				if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
					hint = " (raise the open-file limit, `ulimit -n`, or lower nginx's concurrency)"
				}
				s.logf("uwsgi: accepting on %s: %v%s; retrying", ln.Addr(), err, hint)
			} else if delay *= 2; delay > time.Second {
				delay = time.Second
			}
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-s.quit:
				t.Stop()
				return
			}
			continue
		}
		delay = 0
		ctx, cancel := context.WithCancel(context.Background())
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			cancel()
			c.Close()
			return
		}
		s.conns[c] = cancel
		s.connWG.Add(1)
		s.mu.Unlock()
		go s.serveConn(ctx, c)
	}
}

func temporaryAcceptError(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.EINTR} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

var uwsgiReaderPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 8<<10) }}

// serveConn serves the one request of connection c.
func (s *UwsgiServer) serveConn(ctx context.Context, c net.Conn) {
	br := uwsgiReaderPool.Get().(*bufio.Reader)
	br.Reset(c)
	uc := &uwsgiConn{c: c, br: br}
	defer func() {
		uc.close() // may drain the body through br
		br.Reset(nil)
		uwsgiReaderPool.Put(br)
		s.mu.Lock()
		if cancel, ok := s.conns[c]; ok {
			cancel()
			delete(s.conns, c)
		}
		s.mu.Unlock()
		s.connWG.Done()
	}()

	start := time.Now()
	ht := s.HeaderTimeout
	if ht == 0 {
		ht = s.timeout()
	}
	c.SetReadDeadline(start.Add(ht))

	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	pkt, err := readUwsgiPacket(br, min(s.BufferSize, MaxUwsgiBufferSize), (*bp)[:0])
	if err != nil {
		s.refuse(uc, err)
		return
	}
	c.SetReadDeadline(time.Time{})

	rw := &uwsgiResponder{conn: uc}
	var req uwsgiRequest
	s.Metrics.begin()
	status, err := s.serve(ctx, uc, rw, pkt, &req, bp)
	s.Metrics.done(status, time.Since(start))
	if s.Log != nil {
		s.Log.Request(req.httpRequest(), status, rw.written, time.Since(start), rw.pid, rw.gen)
	}
	switch {
	case errors.Is(err, pyworker.ErrResponseBroken), err != nil && rw.appStarted && !errors.Is(err, pyworker.ErrClientGone):
		// Headers are out: the only honest signal left is to cut the
		// connection so nginx sees a truncated response.
		uc.cut = true
	case rw.appStarted && !rw.complete():
		// The app sent less than its Content-Length.
		uc.cut = true
	}
	if !uc.cut {
		c.SetWriteDeadline(time.Now().Add(s.timeout()))
		rw.flush()
	}
}

func (s *UwsgiServer) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return DefaultTimeout
}

// timedUwsgiResponder gives each write to nginx the timeout, as the HTTP
// responder does: a peer that reads nothing for that long fails the write
// and so frees the worker. A failed Flush fails the next Write: a
// streaming app's small chunks are written by Flush alone, and the worker
// must hear that nginx is gone at its next chunk, not once 32 KiB of them
// have piled up.
type timedUwsgiResponder struct {
	*uwsgiResponder
	timeout  time.Duration
	flushErr error
}

func (t *timedUwsgiResponder) Write(p []byte) error {
	if t.flushErr != nil {
		return t.flushErr
	}
	t.conn.c.SetWriteDeadline(time.Now().Add(t.timeout))
	return t.uwsgiResponder.Write(p)
}

func (t *timedUwsgiResponder) Flush() {
	t.conn.c.SetWriteDeadline(time.Now().Add(t.timeout))
	if err := t.uwsgiResponder.flush(); err != nil && t.flushErr == nil {
		t.flushErr = err
	}
}

// refuse handles a packet that could not be read. A too-large packet or a
// wrong modifier is a configuration mismatch with the frontend: it is
// logged and the connection closed unanswered, as uWSGI does (nginx then
// answers 502 and logs "upstream prematurely closed connection"). Malformed
// vars get a 400.
func (s *UwsgiServer) refuse(uc *uwsgiConn, err error) {
	peer := uc.c.RemoteAddr().String()
	if peer == "" || peer == "@" {
		peer = uc.c.LocalAddr().String()
	}
	var tle *uwsgiTooLargeError
	switch {
	case errors.As(err, &tle):
		s.logf("uwsgi %s: %v...skip; the request headers are too large for --buffer-size %d: raise it (at most %d), as with uWSGI's buffer-size",
			peer, err, tle.max, MaxUwsgiBufferSize)
	case errors.Is(err, errUwsgiModifier):
		s.logf("uwsgi %s: %v", peer, err)
	case errors.Is(err, errUwsgiMalformed):
		s.logf("uwsgi %s: %v; answered 400", peer, err)
		writeUwsgiError(uc.c, http.StatusBadRequest, false)
	}
	// EOF before a packet (a health check, nginx probing), a truncated packet
	// or the header timeout: nothing to answer, nothing worth a log line.
}

// serve runs one request and returns the status for the access log.
func (s *UwsgiServer) serve(ctx context.Context, uc *uwsgiConn, rw *uwsgiResponder, pkt *uwsgiPacket, r *uwsgiRequest, bp *[]byte) (int, error) {
	env, err := s.Environ.appendUwsgiEnviron((*bp)[:0], pkt.vars, uc.c.LocalAddr(), uc.c.RemoteAddr(), r)
	if err != nil {
		return s.fail(rw, http.StatusBadRequest, err)
	}
	*bp = env
	rw.head = r.method == http.MethodHead
	headers := 0
	for _, v := range pkt.vars {
		if strings.HasPrefix(v.key, "HTTP_") {
			headers++
		}
	}
	if headers > MaxHeaders {
		return s.fail(rw, http.StatusRequestHeaderFieldsTooLarge, nil)
	}
	req := &pyworker.Request{Environ: env, Path: r.path, Method: r.method}
	if r.contentLength > 0 {
		// The body is CONTENT_LENGTH bytes after the packet: the limit keeps
		// anyone from reading past it.
		uc.body = &io.LimitedReader{R: uc.br, N: r.contentLength}
		if s.LimitPost > 0 && r.contentLength > s.LimitPost {
			return s.fail(rw, http.StatusRequestEntityTooLarge, nil)
		}
		// The whole body is read before a worker is taken, as on the HTTP
		// listener (readBody).
		body := &idleReader{r: uc.body, timeout: s.timeout(), setDeadline: uc.c.SetReadDeadline}
		_, err := readBody(req, body, r.contentLength)
		defer closeSpool(req)
		uc.c.SetReadDeadline(time.Time{})
		switch code := bodyErrorStatus(err); {
		case err == nil:
		case code == http.StatusRequestTimeout, code == http.StatusServiceUnavailable:
			return s.fail(rw, code, fmt.Errorf("%s %s: %w", r.method, r.path, err))
		default:
			// nginx (its client) went away mid-body: nobody to answer.
			return 499, fmt.Errorf("reading the request body: %w", err)
		}
	}

	d := dispatch{backend: s.Backend, req: req, out: s.ResponseHeaders.wrap(&timedUwsgiResponder{uwsgiResponder: rw, timeout: s.timeout()}),
		queue: s.QueueTimeout, ran: func(pid, gen int) { rw.pid, rw.gen = pid, gen }, watch: uc.watchPeer}
	err = d.run(ctx)
	if err == nil {
		return rw.status, nil
	}
	v := judge(r.method, r.path, err, ctx.Err() != nil || uc.peerGone)
	if v.log != "" {
		s.logf("%s", v.log)
	}
	switch v.status {
	case 0:
		return rw.status, err
	case 499:
		return 499, err
	}
	return s.fail(rw, v.status, v.failErr)
}

// fail answers with a plain error page when nothing was sent yet. err is
// logged when not nil and the status is a server error.
func (s *UwsgiServer) fail(rw *uwsgiResponder, code int, err error) (int, error) {
	if err != nil && code >= 500 {
		s.logf("%v", err)
	}
	if rw.started {
		if err == nil {
			err = errCutAfterHeaders // the caller resets the connection
		}
		return rw.status, err
	}
	rw.started, rw.status = true, code
	rw.conn.c.SetWriteDeadline(time.Now().Add(s.timeout()))
	rw.written = writeUwsgiError(rw.conn.c, code, rw.head)
	return code, err
}

// writeUwsgiError writes a complete error response with the HTTP
// listener's text for code, and returns the body bytes written.
func writeUwsgiError(w io.Writer, code int, head bool) int64 {
	msg := errorPages[code]
	resp := fmt.Sprintf("HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n\r\n",
		code, http.StatusText(code), len(msg))
	if !head {
		resp += msg
	}
	if _, err := io.WriteString(w, resp); err != nil || head {
		return 0
	}
	return int64(len(msg))
}

func (s *UwsgiServer) logf(format string, a ...any) {
	if s.Logf != nil {
		s.Logf(format, a...)
	}
}

// uwsgiConn is one accepted connection and what is left of its request body.
type uwsgiConn struct {
	c        net.Conn
	br       *bufio.Reader
	body     *io.LimitedReader // nil without a body
	cut      bool              // end with a reset: the response is broken
	peerGone bool              // watchPeer saw the connection close
}

// aLongTimeAgo is a deadline in the past: it unblocks a pending Read.
var aLongTimeAgo = time.Unix(1, 0)

// watchPeer notices nginx closing the connection while the request waits
// for a worker (nginx closes it when its client goes away), so the wait is
// cancelled, as net/http's background read does for HTTP. It only watches
// once the body is read in full: until then reading would eat the body.
// The returned function stops the watch.
func (uc *uwsgiConn) watchPeer(cancel context.CancelFunc) (stop func()) {
	if (uc.body != nil && uc.body.N > 0) || uc.br.Buffered() > 0 {
		return func() {}
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
		uc.peerGone = true
		cancel()
	}
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

// drainBody reads and discards what is left of the request body, for at
// most a minute and while it keeps coming. nginx sends the whole body before
// it reads the response, and a connection closed under that send is a failed
// upstream to it, whatever answer is waiting: without the drain, an app that
// answers an upload without reading it (a 403, a 413, an exception) shows
// the client a 502 and nginx logs "writev() failed (32: Broken pipe) while
// sending request to upstream" (or "Connection reset by peer": closing a
// socket with unread data resets it).
func (uc *uwsgiConn) drainBody() {
	end := time.Now().Add(time.Minute)
	buf := make([]byte, 32<<10)
	for uc.body.N > 0 {
		idle := time.Now().Add(5 * time.Second)
		if idle.After(end) {
			idle = end
		}
		uc.c.SetReadDeadline(idle)
		if _, err := uc.body.Read(buf); err != nil {
			return
		}
	}
}
