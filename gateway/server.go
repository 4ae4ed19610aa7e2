package gateway

// This file is the HTTP listener's server: net/http accepts and parses, the
// framing guard (guard.go) stands between each connection and net/http
// (on https listeners, between the TLS layer and net/http: guardTLSConn),
// and Handler (handler.go) feeds the request pipeline. Stopping is
// shutdown.go's, shared with the uwsgi listener.

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// defaultMaxHeaderBytes bounds a request's line and headers when
// buffer-size is not set, on both paths.
const defaultMaxHeaderBytes = 64 << 10

// Server serves HTTP on any number of listeners with one handler.
type Server struct {
	srv      *http.Server
	stop     stopper
	wg       sync.WaitGroup // serveListener goroutines
	mu       sync.Mutex
	lns      []net.Listener
	conns    map[net.Conn]struct{} // open connections, as ConnState reports them
	stopping bool                  // under mu: Serve closes a new listener at once
	draining atomic.Bool           // answer with "Connection: close"
}

// NewServer returns a Server for h. errorLog receives net/http's own
// complaints (panics other than ErrAbortHandler), failed TLS handshakes and
// the requests the framing guard refuses. maxHeaderBytes bounds the request
// line and headers (net/http reads up to 4 KiB more before it answers 431);
// 0 means 64 KiB. headerTimeout is how long a client may take to send them,
// from its first byte; 0 means 30s.
func NewServer(h http.Handler, errorLog *log.Logger, maxHeaderBytes int, headerTimeout time.Duration) *Server {
	if maxHeaderBytes <= 0 {
		maxHeaderBytes = defaultMaxHeaderBytes
	}
	if headerTimeout <= 0 {
		headerTimeout = DefaultTimeout
	}
	s := &Server{conns: map[net.Conn]struct{}{}}
	// Requests' contexts end when the server closes, as a uwsgi request's
	// does (whatever net/http's background read has seen), and carry the
	// closing context for the pipeline (closingFrom).
	closing := s.stop.closingContext()
	base := context.WithValue(closing, closingKey{}, closing)
	s.srv = &http.Server{
		Handler:           s.wrap(h),
		ReadHeaderTimeout: headerTimeout,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          errorLog,
		ConnState:         s.connState,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	return s
}

// wrap marks every response "Connection: close" while draining, so each
// keep-alive client is answered once more and then reconnects elsewhere
// (to the new process after a HUP) instead of having an idle connection
// closed under a request it is just sending.
func (s *Server) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.draining.Load() {
			w.Header().Set("Connection", "close")
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) connState(c net.Conn, st http.ConnState) {
	s.mu.Lock()
	switch st {
	case http.StateClosed, http.StateHijacked:
		delete(s.conns, c)
		s.mu.Unlock()
		s.stop.connEnded()
		return
	default:
		s.conns[c] = struct{}{}
	}
	s.mu.Unlock()
}

// Serve accepts connections on ln in a goroutine until Shutdown, Drain or
// Close.
func (s *Server) Serve(ln net.Listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		ln.Close()
		return
	}
	s.lns = append(s.lns, ln)
	s.wg.Add(1)
	go s.serveListener(ln)
}

func (s *Server) serveListener(ln net.Listener) {
	defer s.wg.Done()
	var logf func(string, ...any)
	if s.srv.ErrorLog != nil {
		logf = s.srv.ErrorLog.Printf
	}
	err := s.srv.Serve(guardListener{Listener: ln, logf: logf, handshakeTimeout: s.srv.ReadHeaderTimeout})
	s.mu.Lock()
	stopping := s.stopping
	s.mu.Unlock()
	if err != nil && !errors.Is(err, http.ErrServerClosed) && !stopping && s.srv.ErrorLog != nil {
		s.srv.ErrorLog.Printf("serving %s: %v", ln.Addr(), err)
	}
}

// Drain stops accepting, answers each open connection's next request with
// "Connection: close", gives idle keep-alive connections idleGrace to send
// one, and waits until the connections are gone or ctx ends; then it
// closes what is left, as Close does. It is the old process's half of a
// zero-downtime restart. See shutdown.go for the order.
func (s *Server) Drain(ctx context.Context, idleGrace time.Duration) error {
	s.draining.Store(true)
	return s.stop.drain(ctx, s, idleGrace)
}

// Shutdown stops accepting, closes idle connections, waits for in-flight
// requests until ctx ends, then closes what is left as Close does, and
// returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error { return s.Drain(ctx, 0) }

// Close closes every listener and connection at once; a request still in
// a worker is abandoned (its worker is replaced). It returns within
// closeWait.
func (s *Server) Close() error { return s.stop.close(s) }

// Quiesce stops accepting and closes the idle connections now; requests in
// flight go on and are answered with "Connection: close". Drain or Close
// ends the stop. (Dev mode on the engine: the master stops answering
// before it tells the browsers to reload, so that the reload reaches the
// workers, not an idle connection to the master.)
func (s *Server) Quiesce() {
	s.draining.Store(true)
	s.stopAccepting()
	s.closeIdle(true)
}

func (s *Server) stopAccepting() {
	s.mu.Lock()
	s.stopping = true
	for _, ln := range s.lns {
		ln.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// closeIdle leaves the closing of idle connections to net/http's
// Shutdown, given a context that has already ended so that it only does
// that and returns: it closes each one only if it is still idle, so a
// request that arrives at that moment is not cut, and it counts a
// connection that has sent nothing for 5 seconds as idle.
func (s *Server) closeIdle(graceOver bool) int {
	if graceOver {
		s.srv.Shutdown(doneContext)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// doneContext is a context that has ended.
var doneContext = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

func (s *Server) closeConns() { s.srv.Close() }

// guardTLSConn is a guarded https connection. net/http serves a *tls.Conn
// itself (handshake, ALPN, Request.TLS) but would read it past the guard;
// given this wrapper instead, it reads the decrypted bytes through the
// guard, and fills in Request.TLS from ConnectionState, which net/http asks
// a connection that is not a *tls.Conn for before it reads (Go issue 56104,
// Go 1.20). So ConnectionState does the handshake, as net/http does for a
// *tls.Conn: within the header timeout, a failure logged, and a plain HTTP
// request answered in plain HTTP. ALPN is not looked at: an https listener
// offers http/1.1 only (master/tls.go), and net/http serves HTTP/1.x on
// anything that is not a *tls.Conn.
type guardTLSConn struct {
	*guardConn
	tls     *tls.Conn
	timeout time.Duration
	once    sync.Once
}

// ConnectionState completes the handshake, if it has not been done, and
// returns the connection's TLS state.
func (c *guardTLSConn) ConnectionState() tls.ConnectionState {
	c.once.Do(c.handshake)
	return c.tls.ConnectionState()
}

func (c *guardTLSConn) handshake() {
	if c.timeout > 0 {
		c.tls.SetDeadline(time.Now().Add(c.timeout))
		defer c.tls.SetDeadline(time.Time{})
	}
	err := c.tls.Handshake()
	if err == nil {
		return
	}
	// net/http then reads the failed handshake's error and closes the
	// connection without an answer (none could be encrypted).
	// The line is logged before the answer goes out: once the client has
	// its 400, the log already says why.
	reason := err.Error()
	var re tls.RecordHeaderError
	plain := errors.As(err, &re) && re.Conn != nil && looksLikeHTTP(re.RecordHeader)
	if plain {
		reason = "client sent an HTTP request to an HTTPS server"
	}
	if c.logf != nil {
		c.logf("TLS handshake error from %s: %s", c.RemoteAddr(), reason)
	}
	if plain {
		io.WriteString(re.Conn, "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
		re.Conn.Close()
	}
}

// looksLikeHTTP reports whether the first 5 bytes of what was to be a TLS
// record look like a plain HTTP request's, as net/http judges them.
func looksLikeHTTP(hdr [5]byte) bool {
	switch string(hdr[:]) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO":
		return true
	}
	return false
}
