package main

// This file is what `gowsgi dev` puts in front of the app: static and media
// files, the import-error page, and live reload, with runserver's request
// log for the requests answered here.

import (
	"net/http"
	"strings"
	"time"

	"github.com/gowsgi/gowsgi/gateway"
	"github.com/gowsgi/gowsgi/master"
)

// wrap puts static files, the error page and live reload in front of the
// app. Static files and the error page are answered and logged here: the
// app's handler logs only what the app answered (issue 15: the log left
// out static files and logged the 2.8 KB error page as "500 0").
func (d *devProject) wrap(live *gateway.LiveReload, static, insecure bool) func(*master.Master, http.Handler) http.Handler {
	return func(m *master.Master, app http.Handler) http.Handler {
		var mounts []*gateway.Static
		if info := d.info; info != nil && static && info.StaticFiles && (info.Debug || insecure) && strings.HasPrefix(info.StaticURL, "/") {
			st := &gateway.Static{URL: info.StaticURL, Revalidate: true}
			for _, sd := range info.StaticDirs {
				st.Dirs = append(st.Dirs, gateway.StaticDir{Prefix: sd[0], Root: sd[1]})
			}
			mounts = append(mounts, st)
		}
		if info := d.info; info != nil && static && strings.HasPrefix(info.MediaURL, "/") && info.MediaURL != "/" && info.MediaRoot != "" {
			mounts = append(mounts, &gateway.Static{URL: info.MediaURL, Dirs: []gateway.StaticDir{{Root: info.MediaRoot}}, Revalidate: true})
		}
		var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			cw := &countingWriter{ResponseWriter: w}
			for _, st := range mounts {
				if st.Match(r.URL.Path) && st.Serve(cw, r) {
					logRequest(m, r, cw, start)
					return
				}
			}
			if m.ServeBroken(cw, r) {
				logRequest(m, r, cw, start)
				return
			}
			app.ServeHTTP(w, r)
		})
		if live != nil {
			h = live.Wrap(h)
		}
		return h
	}
}

// logRequest logs a request answered here in the access log.
func logRequest(m *master.Master, r *http.Request, cw *countingWriter, start time.Time) {
	status := cw.status
	if status == 0 {
		status = http.StatusOK
	}
	m.LogRequest(r, status, cw.n, time.Since(start))
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
