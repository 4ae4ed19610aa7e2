package gateway

// This file implements the uwsgi listener from the perspective of the
// application server behind nginx's `uwsgi_pass`: accept a connection, read
// one packet (uwsgi.go), hand the request to the pipeline every listener
// shares (pipeline.go) with the connection as its wire (uwsgi_conn.go),
// close. Stopping is shutdown.go's, shared with the HTTP listener.

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"
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
	// Static are the static mounts (uWSGI's static-map) served before the
	// app, as on the HTTP listener.
	Static []*Static
	// Unavailable, when set, answers requests while no generation of the
	// app is live, as Handler.Unavailable does.
	Unavailable func(w http.ResponseWriter, r *http.Request) bool
	// ResponseHeaders are added to every response (add-header).
	ResponseHeaders ResponseHeaders

	stop     stopper
	mu       sync.Mutex
	lns      []net.Listener
	conns    map[net.Conn]struct{}
	stopping bool          // no connection is accepted any more
	quit     chan struct{} // closed when the server stops accepting
	acceptWG sync.WaitGroup
}

// Serve accepts connections on ln in a goroutine until Shutdown or Close.
func (s *UwsgiServer) Serve(ln net.Listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initLocked()
	if s.stopping {
		ln.Close()
		return
	}
	s.lns = append(s.lns, ln)
	s.acceptWG.Add(1)
	go s.acceptLoop(ln)
}

func (s *UwsgiServer) initLocked() {
	if s.conns == nil {
		s.conns = map[net.Conn]struct{}{}
		s.quit = make(chan struct{})
	}
}

// Shutdown stops accepting, waits for in-flight requests until ctx ends,
// then closes what is left as Close does, and returns ctx's error. See
// shutdown.go for the order, the same as the HTTP listener's.
func (s *UwsgiServer) Shutdown(ctx context.Context) error {
	// One request per connection: no idle keep-alive connection to give
	// a grace period to.
	return s.stop.drain(ctx, s, 0)
}

// Close closes every listener and connection at once; a request still in
// a worker is abandoned (its worker is replaced). It returns within
// closeWait.
func (s *UwsgiServer) Close() error { return s.stop.close(s) }

func (s *UwsgiServer) stopAccepting() {
	s.mu.Lock()
	s.initLocked()
	if !s.stopping {
		s.stopping = true
		close(s.quit)
		for _, ln := range s.lns {
			ln.Close()
		}
	}
	s.mu.Unlock()
	// After this no accept loop can add a connection.
	s.acceptWG.Wait()
}

// closeIdle closes nothing: a connection still sending its packet is
// bounded by HeaderTimeout and counts as busy.
func (s *UwsgiServer) closeIdle(bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

func (s *UwsgiServer) closeConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
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
		s.mu.Lock()
		if s.stopping {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		go s.serveConn(c)
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

func (s *UwsgiServer) pipeline() pipeline {
	return pipeline{backend: s.Backend, static: s.Static, headers: s.ResponseHeaders, limitPost: s.LimitPost, timeout: timeoutOr(s.Timeout),
		queueTimeout: s.QueueTimeout, unavailable: s.Unavailable, log: s.Log, metrics: s.Metrics, logFn: s.Logf}
}

// serveConn serves the one request of connection c.
func (s *UwsgiServer) serveConn(c net.Conn) {
	p := s.pipeline()
	br := uwsgiReaderPool.Get().(*bufio.Reader)
	br.Reset(c)
	// The connection and its exchange in one allocation.
	cx := &struct {
		uc uwsgiConn
		x  exchange
	}{uc: uwsgiConn{c: c, br: br, timeout: p.timeout}}
	uc := &cx.uc
	// The request's context: it ends when the server closes (a request
	// waiting for a worker gives up) or when watchPeer sees nginx go.
	ctx, cancel := context.WithCancel(s.stop.closingContext())
	defer func() {
		cancel()
		uc.close() // may drain the body through br
		br.Reset(nil)
		uwsgiReaderPool.Put(br)
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		s.stop.connEnded()
	}()

	start := time.Now()
	ht := s.HeaderTimeout
	if ht == 0 {
		ht = p.timeout
	}
	c.SetReadDeadline(start.Add(ht))

	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	pkt, err := readUwsgiPacket(br, min(s.BufferSize, MaxUwsgiBufferSize), (*bp)[:0], nil)
	if err != nil {
		s.refuse(uc, err)
		return
	}
	c.SetReadDeadline(time.Time{})

	x := &cx.x
	s.exchange(x, uc, pkt, bp)
	if p.serve(ctx, x, start) || x.appStarted && !uc.complete() {
		// The response broke after the app's headers, or the app sent
		// less than its Content-Length: cut, so that nginx sees a truncated
		// response.
		uc.cut = true
		return
	}
	uc.flushPending()
}

// exchange turns a packet into the pipeline's request x; its environ is
// encoded into bp.
func (s *UwsgiServer) exchange(x *exchange, uc *uwsgiConn, pkt *uwsgiPacket, bp *[]byte) {
	uwsgiExchange(&s.Environ, x, uc, pkt, bp, nil)
	x.abandon = s.stop.closingContext()
}

// uwsgiExchange turns a packet into the pipeline's request x, for the
// uwsgi server and the engine; its environ is encoded into bp, its
// http.Request made in into (nil: a new one).
func uwsgiExchange(e *Environ, x *exchange, uc *uwsgiConn, pkt *uwsgiPacket, bp *[]byte, into *uwsgiScratch) {
	var req uwsgiRequest
	*x = exchange{w: uc, bodyCutIsGone: true}
	env, err := e.appendUwsgiEnviron((*bp)[:0], pkt.vars, uc.c.LocalAddr(), uc.c.RemoteAddr(), &req)
	x.r, x.path = req.httpRequest(pkt.vars, into), req.path
	uc.head = req.method == http.MethodHead
	if err != nil {
		x.refuse, x.refuseErr = http.StatusBadRequest, err
		return
	}
	*bp, uc.env = env, env
	headers := 0
	for _, v := range pkt.vars {
		if strings.HasPrefix(v.key, "HTTP_") {
			headers++
		}
	}
	x.refuse, x.refuseErr = checkHeaderLines(headers)
	if req.contentLength > 0 {
		// The body is CONTENT_LENGTH bytes after the packet: the limit keeps
		// anyone from reading past it.
		uc.body = &io.LimitedReader{R: uc.br, N: req.contentLength}
		x.body, x.contentLength = uc.body, req.contentLength
	}
}

// refuse handles a packet that could not be read. A too-large packet or a
// wrong modifier is a configuration mismatch with the frontend: it is
// logged and the connection closed unanswered, as uWSGI does (nginx then
// answers 502 and logs "upstream prematurely closed connection"). Malformed
// vars get a 400.
func (s *UwsgiServer) refuse(uc *uwsgiConn, err error) { refuseUwsgi(s.logf, uc, err) }

// refuseUwsgi is UwsgiServer.refuse, shared with the engine.
func refuseUwsgi(logf func(format string, a ...any), uc *uwsgiConn, err error) {
	peer := uc.c.RemoteAddr().String()
	if peer == "" || peer == "@" {
		peer = uc.c.LocalAddr().String()
	}
	var tle *uwsgiTooLargeError
	switch {
	case errors.As(err, &tle):
		logf("uwsgi %s: %v...skip; the request headers are too large for --buffer-size %d: raise it (at most %d), as with uWSGI's buffer-size",
			peer, err, tle.max, MaxUwsgiBufferSize)
	case errors.Is(err, errUwsgiModifier):
		logf("uwsgi %s: %v", peer, err)
	case errors.Is(err, errUwsgiMalformed):
		logf("uwsgi %s: %v; answered 400", peer, err)
		// The pipeline's error page, but before there is a request to log.
		msg := errorPages[http.StatusBadRequest]
		uc.writeHead(http.StatusBadRequest, "", errorPageHeaders(msg))
		uc.writeBody([]byte(msg))
		uc.flushPending()
	}
	// EOF before a packet (a health check, nginx probing), a truncated packet
	// or the header timeout: nothing to answer, nothing worth a log line.
}

func (s *UwsgiServer) logf(format string, a ...any) {
	if s.Logf != nil {
		s.Logf(format, a...)
	}
}
