package master

// This file is what dev mode puts in front of the app: static and media
// files, the import-error page, and live reload, with runserver's request
// log for the requests answered here.

import (
	"context"
	"log"
	"math"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/gowsgi/gowsgi/gateway"
)

// devFront puts the dev mounts, the error page and live reload in front of
// app. Static files and the error page are answered and logged here: the
// app's handler logs only what the app answered (issue 15: the log left
// out static files and logged the 2.8 KB error page as "500 0").
func (m *Master) devFront(app http.Handler) http.Handler {
	mounts := m.cfg.Dev.Static
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		cw := &countingWriter{ResponseWriter: w}
		for _, st := range mounts {
			if st.Match(r.URL.Path) && st.Serve(cw, r) {
				m.logAnswered(r, cw, start)
				return
			}
		}
		if m.serveBroken(cw, r) {
			m.logAnswered(r, cw, start)
			return
		}
		app.ServeHTTP(w, r)
	})
	if live := m.cfg.Dev.Live; live != nil {
		h = live.Wrap(h)
	}
	return h
}

// logAnswered writes the access log line of a request answered here.
func (m *Master) logAnswered(r *http.Request, cw *countingWriter, start time.Time) {
	if m.alog == nil {
		return
	}
	status := cw.status
	if status == 0 {
		status = http.StatusOK
	}
	m.alog.Request(r, status, cw.n, time.Since(start), 0, 0)
}

// countingWriter records the status and the body bytes written.
type countingWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (w *countingWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *countingWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

func (w *countingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// With the engine the workers answer everything in dev mode, the dev
// mounts and live reload too (gateway/livereload_engine_linux.go), and
// the master only while no generation imports: at a start whose app does
// not import, and from a failed save (whose old generation it retires,
// so that every request gets the error page) to the save that fixes it.
// Then it serves devFront on duplicates of the sockets the workers
// inherited, and stops once the fixed generation is live, before the
// browsers are told to reload, so that their reload reaches the new
// workers. The scoreboard tells the engines who serves (publishLive):
// those of an older generation end their event streams, and the
// browsers reconnect to whoever serves now.

// startFront starts the master answering on the HTTP sockets.
func (m *Master) startFront() {
	if m.engine == nil || m.front != nil {
		return
	}
	cfg := &m.cfg
	h := m.devFront(http.HandlerFunc(m.frontGap))
	for i := range m.listeners {
		// The HTTP sockets come first in the engine's files.
		ln, err := net.FileListener(m.engine.httpFile(i))
		if err != nil {
			m.logf("answering the error page on %s: %v", m.listeners[i].Addr(), err)
			continue
		}
		srv := gateway.NewServer(h, log.New(m.msgs, "gowsgi: http: ", 0), cfg.MaxHeaderBytes, cfg.SocketTimeout)
		srv.Serve(ln)
		m.front = append(m.front, srv)
		m.servers = append(m.servers, srv)
	}
}

// stopFront stops the master answering: at once for new connections and
// idle ones, after their request for the others.
func (m *Master) stopFront() {
	if len(m.front) == 0 {
		m.front = nil
		return
	}
	front := m.front
	m.front = nil
	m.servers = slices.DeleteFunc(m.servers, func(s *gateway.Server) bool { return slices.Contains(front, s) })
	for _, srv := range front {
		srv.Quiesce()
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			srv.Drain(ctx, 0) // an event stream ends when its browser reloads
		}()
	}
}

// frontGap answers a request the master's front got after the app was
// fixed and before the front stopped: the workers serve it.
func (m *Master) frontGap(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Connection", "close")
	w.Header().Set("Retry-After", "0")
	http.Error(w, "the app was just fixed and its workers take over: reload", http.StatusServiceUnavailable)
}

// publishLive tells the engines the live reload version, and which
// generation serves (none while the master answers).
func (m *Master) publishLive() {
	if m.engine == nil || m.dev == nil {
		return
	}
	version := 0
	if live := m.cfg.Dev.Live; live != nil {
		version = live.Version()
	}
	gen := m.mgr.Generation()
	if m.front != nil {
		gen = math.MaxInt
	}
	m.engine.setLive(version, gen)
}

// liveReload tells every open page to reload (the master's streams and
// the engines').
func (m *Master) liveReload(why string) {
	if live := m.cfg.Dev.Live; live != nil {
		live.Reload(why)
	}
	m.publishLive()
}
