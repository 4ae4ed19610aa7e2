package gateway

import (
	"context"
	"errors"
	"log"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Server serves HTTP on any number of listeners with one handler.
type Server struct {
	srv      *http.Server
	wg       sync.WaitGroup
	mu       sync.Mutex
	lns      []net.Listener
	conns    map[net.Conn]http.ConnState
	draining atomic.Bool
	idle     chan struct{} // signalled when a connection closes while draining
}

// NewServer returns a Server for h. errorLog receives net/http's own
// complaints (TLS handshake errors, panics other than ErrAbortHandler) and
// the requests the framing guard refuses. maxHeaderBytes bounds the request
// line and headers (net/http reads up to 4 KiB more before it answers 431);
// 0 means 64 KiB. headerTimeout is how long a client may take to send them,
// from its first byte; 0 means 30s.
func NewServer(h http.Handler, errorLog *log.Logger, maxHeaderBytes int, headerTimeout time.Duration) *Server {
	if maxHeaderBytes <= 0 {
		maxHeaderBytes = 64 << 10
	}
	if headerTimeout <= 0 {
		headerTimeout = DefaultTimeout
	}
	s := &Server{conns: map[net.Conn]http.ConnState{}, idle: make(chan struct{}, 1)}
	s.srv = &http.Server{
		Handler:           s.wrap(h),
		ReadHeaderTimeout: headerTimeout,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          errorLog,
		ConnState:         s.connState,
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
	defer s.mu.Unlock()
	switch st {
	case http.StateClosed, http.StateHijacked:
		delete(s.conns, c)
		if s.draining.Load() {
			select {
			case s.idle <- struct{}{}:
			default:
			}
		}
	default:
		s.conns[c] = st
	}
}

// Serve accepts connections on ln in a goroutine until Shutdown or Drain.
func (s *Server) Serve(ln net.Listener) {
	s.mu.Lock()
	s.lns = append(s.lns, ln)
	s.mu.Unlock()
	s.wg.Add(1)
	go s.serveListener(ln)
}

func (s *Server) serveListener(ln net.Listener) {
	defer s.wg.Done()
	var logf func(string, ...any)
	if s.srv.ErrorLog != nil {
		logf = s.srv.ErrorLog.Printf
	}
	if err := s.srv.Serve(guardListener{Listener: ln, logf: logf}); err != nil && !errors.Is(err, http.ErrServerClosed) && !s.draining.Load() {
		s.srv.ErrorLog.Printf("serving %s: %v", ln.Addr(), err)
	}
}

// Drain stops accepting, answers each open connection's next request with
// "Connection: close", and waits until the connections are gone or ctx
// ends; then it shuts down what is left. It is the old process's half of a
// zero-downtime restart.
func (s *Server) Drain(ctx context.Context, idleGrace time.Duration) error {
	s.draining.Store(true)
	s.mu.Lock()
	for _, ln := range s.lns {
		ln.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	// Idle keep-alive connections get idleGrace to send one more request;
	// busy ones get until ctx ends.
	graceEnd := time.Now().Add(idleGrace)
	for {
		s.mu.Lock()
		total, busy := len(s.conns), 0
		for _, st := range s.conns {
			if st == http.StateActive || st == http.StateNew {
				busy++
			}
		}
		s.mu.Unlock()
		if total == 0 || (busy == 0 && time.Now().After(graceEnd)) {
			break
		}
		select {
		case <-s.idle:
		case <-time.After(25 * time.Millisecond):
		case <-ctx.Done():
			return s.Shutdown(ctx)
		}
	}
	return s.Shutdown(ctx)
}

// Shutdown stops accepting, waits for in-flight requests until ctx ends,
// then closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	s.wg.Wait()
	return err
}

// Close closes every listener and connection at once.
func (s *Server) Close() error { return s.srv.Close() }
