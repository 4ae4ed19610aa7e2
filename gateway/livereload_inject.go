package gateway

// This file decides where the live reload script goes: into full HTML
// documents only, once, before </body>.
//
// Issue 15: the script used to be appended to every text/html answer, after
// </html>. htmx (and Turbo, and any fetch() that swaps HTML in) runs the
// scripts of the fragments it inserts, so each swap opened one more
// EventSource; after five swaps Chromium's six connections per host were
// all held by event streams and the next click never got an answer.

import (
	"bytes"
	"mime"
	"net/http"
)

// wantsDocument reports whether r may be answered with a page the browser
// shows as a whole. Requests made by scripts are not: htmx sends
// HX-Request, Turbo Turbo-Frame, jQuery and most XHR libraries
// X-Requested-With, and every current browser says Sec-Fetch-Dest: empty
// for fetch() and XMLHttpRequest.
func wantsDocument(r *http.Request) bool {
	if r.Method == http.MethodHead {
		return false
	}
	h := r.Header
	if h.Get("HX-Request") != "" || h.Get("Turbo-Frame") != "" || h.Get("X-Requested-With") != "" {
		return false
	}
	switch h.Get("Sec-Fetch-Dest") {
	case "", "document", "iframe", "frame":
		return true
	}
	return false
}

// liveReloadClients are marks of a page that already reloads itself: our
// own script, django-browser-reload's, and LiveReload's livereload.js.
var liveReloadClients = [][]byte{
	[]byte(LiveReloadPath), []byte("django-browser-reload"), []byte("data-worker-script-path"), []byte("livereload.js"),
}

// maxDocumentStart is how far into a body the first tag is looked for; a
// body whose first tag is further (a long comment) is left alone.
const maxDocumentStart = 1024

// injector passes a response body through, holding back only what it
// still needs to decide on: the body's start, until its first tag says
// whether this is a document (<!DOCTYPE, <html, <head or <body) or a
// fragment, and from the last "</body" seen on, where the script goes.
// Everything before is written (and flushed) as it comes, so a streamed
// page still streams. injectWriter (the proxy path's dev front, an
// http.ResponseWriter) and injectWire (the engine's) share it.
type injector struct {
	script string
	out    func([]byte) error // where the body goes

	active  bool // a text/html answer that may get the script
	decided bool // the first tag has been seen: doc says what it is
	doc     bool
	found   bool   // the page carries a live reload client already
	held    []byte // not yet written
	seen    []byte // the tail of what was written, to find marks across writes
	added   int    // bytes the script added, once finish put it in
}

// begin looks at the answer's head and says whether its body may get the
// script: 200 pages, and error pages (a 500 must reload itself once the
// code is fixed); never a 304 or a redirect, which have no page to put it
// in. The caller drops the Content-Length then: the script makes the body
// longer.
func (j *injector) begin(code int, contentType, contentEncoding string) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	j.active = mt == "text/html" && contentEncoding == "" && (code == http.StatusOK || code >= 400)
	return j.active
}

func (j *injector) write(p []byte) error {
	if !j.active {
		return j.out(p)
	}
	j.held = append(j.held, p...)
	if !j.decided {
		doc, known := documentStart(j.held)
		if !known && len(j.held) < maxDocumentStart {
			return nil
		}
		j.decided, j.doc = true, doc && known
	}
	if !j.doc {
		return j.release(len(j.held))
	}
	// Keep from the last "</body" on, or the last few bytes, which may be
	// the start of one split across writes.
	cut := lastIndexFold(j.held, "</body")
	if cut < 0 {
		cut = max(0, len(j.held)-len("</body"))
	}
	return j.release(cut)
}

// release writes held[:n] and keeps the rest.
func (j *injector) release(n int) error {
	if n == 0 {
		return nil
	}
	out := j.held[:n]
	j.note(out)
	err := j.out(out)
	j.held = append(j.held[:0], j.held[n:]...)
	return err
}

// note looks for a live reload client in what goes out; seen keeps a tail
// so a mark split between two writes is found too.
func (j *injector) note(b []byte) {
	if j.found {
		return
	}
	j.seen = append(j.seen, b...)
	for _, m := range liveReloadClients {
		if bytes.Contains(j.seen, m) {
			j.found = true
			return
		}
	}
	if keep := 64; len(j.seen) > keep {
		j.seen = append(j.seen[:0], j.seen[len(j.seen)-keep:]...)
	}
}

// finish writes what is held, with the script before the last </body>
// (or at the end of a document that has none) of a document that has no
// live reload client yet.
func (j *injector) finish() error {
	if !j.active {
		return nil
	}
	j.active = false // once
	if !j.decided {
		j.doc, _ = documentStart(j.held)
	}
	if !j.doc {
		return j.release(len(j.held))
	}
	j.note(j.held)
	if j.found {
		return j.out(j.held)
	}
	cut := lastIndexFold(j.held, "</body")
	if cut < 0 {
		cut = len(j.held)
	}
	out := make([]byte, 0, len(j.held)+len(j.script)+1)
	out = append(out, j.held[:cut]...)
	out = append(out, j.script...)
	out = append(out, '\n')
	out = append(out, j.held[cut:]...)
	j.added = len(j.script) + 1
	return j.out(out)
}

// injectWriter is the injector over an http.ResponseWriter.
type injectWriter struct {
	http.ResponseWriter
	j     injector
	wrote bool // WriteHeader was called
}

func newInjectWriter(w http.ResponseWriter, script string) *injectWriter {
	iw := &injectWriter{ResponseWriter: w}
	iw.j = injector{script: script, out: func(p []byte) error { _, err := w.Write(p); return err }}
	return iw
}

func (w *injectWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		h := w.Header()
		if w.j.begin(code, h.Get("Content-Type"), h.Get("Content-Encoding")) {
			h.Del("Content-Length")
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *injectWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return len(p), w.j.write(p)
}

func (w *injectWriter) finish() { w.j.finish() }

func (w *injectWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// documentStart says whether b, the start of an HTML body, is a whole
// document: its first tag, past a BOM, white space and comments, is
// <!DOCTYPE, <html, <head or <body. known is false while b ends before
// that tag.
func documentStart(b []byte) (doc, known bool) {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	for {
		b = bytes.TrimLeft(b, " \t\r\n\f")
		if len(b) == 0 {
			return false, false
		}
		if bytes.HasPrefix(b, []byte("<!--")) {
			end := bytes.Index(b, []byte("-->"))
			if end < 0 {
				return false, false
			}
			b = b[end+3:]
			continue
		}
		for _, tag := range []string{"<!doctype", "<html", "<head", "<body"} {
			if len(b) < len(tag)+1 && bytes.HasPrefix([]byte(tag), bytes.ToLower(b)) {
				return false, false // "<htm": not yet known
			}
			if len(b) > len(tag) && bytes.EqualFold(b[:len(tag)], []byte(tag)) && isTagEnd(b[len(tag)]) {
				return true, true
			}
		}
		return false, true
	}
}

func isTagEnd(c byte) bool {
	return c == '>' || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '/'
}

// lastIndexFold is bytes.LastIndex for an ASCII needle, ignoring case.
func lastIndexFold(b []byte, needle string) int {
	for i := len(b) - len(needle); i >= 0; i-- {
		if b[i] == '<' && bytes.EqualFold(b[i:i+len(needle)], []byte(needle)) {
			return i
		}
	}
	return -1
}
