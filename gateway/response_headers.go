package gateway

// This file adds configured headers to every answer (uWSGI's add-header =
// Name: value), on both wire formats: the app's answers, error pages and
// static files.

import (
	"errors"
	"net/http"
	"net/textproto"
	"strings"
)

// ResponseHeaders are extra headers for every response, in order.
type ResponseHeaders [][2]string

// ParseResponseHeaders reads add-header values, "Name: value" each.
func ParseResponseHeaders(lines []string) (ResponseHeaders, error) {
	var h ResponseHeaders
	for _, l := range lines {
		name, value, ok := strings.Cut(l, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || !validHeaderName(name) || strings.ContainsAny(value, "\r\n\x00") {
			return nil, errors.New("add-header " + l + ": not Name: value")
		}
		h = append(h, [2]string{name, value})
	}
	return h, nil
}

// headerWire is a wire whose every answer also carries extra: the app's,
// an error page, a static file. Hop-by-hop headers are left out of what
// the wire writes itself (nginx drops them from a uwsgi response anyway);
// Connection: close still makes the wire close the connection.
type headerWire struct {
	wire
	extra ResponseHeaders
}

func (hw *headerWire) writeHead(code int, status string, headers [][2]string) error {
	all := append([][2]string(nil), headers...)
	for _, kv := range hw.extra {
		name := textproto.CanonicalMIMEHeaderKey(kv[0])
		if name == "Connection" && strings.EqualFold(kv[1], "close") {
			hw.wire.closeAfter()
		}
		if !hopByHop[name] {
			all = append(all, kv)
		}
	}
	return hw.wire.writeHead(code, status, all)
}

// responseWriter adds extra to what a static file or the Unavailable hook
// writes, once it writes.
func (hw *headerWire) responseWriter() http.ResponseWriter {
	return &headerWriter{ResponseWriter: hw.wire.responseWriter(), hw: hw}
}

type headerWriter struct {
	http.ResponseWriter
	hw    *headerWire
	added bool
}

func (w *headerWriter) add() {
	if w.added {
		return
	}
	w.added = true
	for _, kv := range w.hw.extra {
		w.Header().Add(kv[0], kv[1])
	}
}

func (w *headerWriter) WriteHeader(code int) {
	w.add()
	w.ResponseWriter.WriteHeader(code)
}

func (w *headerWriter) Write(p []byte) (int, error) {
	w.add()
	return w.ResponseWriter.Write(p)
}

func (w *headerWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
