package gateway

import (
	"context"
	"errors"
	"log"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server serves HTTP on any number of listeners with one handler.
type Server struct {
	srv *http.Server
	wg  sync.WaitGroup
}

// NewServer returns a Server for h. errorLog receives net/http's own
// complaints (TLS handshake errors, panics other than ErrAbortHandler).
func NewServer(h http.Handler, errorLog *log.Logger, maxHeaderBytes int) *Server {
	if maxHeaderBytes <= 0 {
		maxHeaderBytes = 64 << 10
	}
	return &Server{srv: &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          errorLog,
	}}
}

// Serve accepts connections on ln in a goroutine until Shutdown.
func (s *Server) Serve(ln net.Listener) {
	s.wg.Add(1)
	go s.serveListener(ln)
}

func (s *Server) serveListener(ln net.Listener) {
	defer s.wg.Done()
	if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.srv.ErrorLog.Printf("serving %s: %v", ln.Addr(), err)
	}
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
