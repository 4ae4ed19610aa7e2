package master

// This file is what dev mode puts in front of the app: static and media
// files, the import-error page, and live reload, with runserver's request
// log for the requests answered here.

import (
	"net/http"
	"time"
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
