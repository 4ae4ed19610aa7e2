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

// injectWriter passes the response through, holding back only what it
// still needs to decide on: the body's start, until its first tag says
// whether this is a document (<!DOCTYPE, <html, <head or <body) or a
// fragment, and from the last "</body" seen on, where the script goes.
// Everything before is written (and flushed) as it comes, so a streamed
// page still streams.
type injectWriter struct {
	http.ResponseWriter
	script string

	wrote   bool // WriteHeader was called
	active  bool // a text/html answer that may get the script
	decided bool // the first tag has been seen: doc says what it is
	doc     bool
	found   bool   // the page carries a live reload client already
	held    []byte // not yet written
	seen    []byte // the tail of what was written, to find marks across writes
}

func (w *injectWriter) WriteHeader(code int) {
	if w.wrote {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.wrote = true
	h := w.Header()
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	// 200 pages, and error pages (a 500 must reload itself once the code is
	// fixed); never a 304 or a redirect, which have no page to put it in.
	if mt == "text/html" && h.Get("Content-Encoding") == "" && (code == http.StatusOK || code >= 400) {
		// The script makes the body longer: let net/http frame it.
		h.Del("Content-Length")
		w.active = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *injectWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if !w.active {
		return w.ResponseWriter.Write(p)
	}
	w.held = append(w.held, p...)
	if !w.decided {
		doc, known := documentStart(w.held)
		if !known && len(w.held) < maxDocumentStart {
			return len(p), nil
		}
		w.decided, w.doc = true, doc && known
	}
	if !w.doc {
		return len(p), w.release(len(w.held))
	}
	// Keep from the last "</body" on, or the last few bytes, which may be
	// the start of one split across writes.
	cut := lastIndexFold(w.held, "</body")
	if cut < 0 {
		cut = max(0, len(w.held)-len("</body"))
	}
	return len(p), w.release(cut)
}

// release writes held[:n] and keeps the rest.
func (w *injectWriter) release(n int) error {
	if n == 0 {
		return nil
	}
	out := w.held[:n]
	w.note(out)
	_, err := w.ResponseWriter.Write(out)
	w.held = append(w.held[:0], w.held[n:]...)
	return err
}

// note looks for a live reload client in what goes out; seen keeps a tail
// so a mark split between two writes is found too.
func (w *injectWriter) note(b []byte) {
	if w.found {
		return
	}
	w.seen = append(w.seen, b...)
	for _, m := range liveReloadClients {
		if bytes.Contains(w.seen, m) {
			w.found = true
			return
		}
	}
	if keep := 64; len(w.seen) > keep {
		w.seen = append(w.seen[:0], w.seen[len(w.seen)-keep:]...)
	}
}

// finish writes what is held, with the script before the last </body>
// (or at the end of a document that has none) of a document that has no
// live reload client yet.
func (w *injectWriter) finish() {
	if !w.active {
		return
	}
	if !w.decided {
		w.doc, _ = documentStart(w.held)
	}
	if !w.doc {
		w.release(len(w.held))
		return
	}
	w.note(w.held)
	if w.found {
		w.ResponseWriter.Write(w.held)
		return
	}
	cut := lastIndexFold(w.held, "</body")
	if cut < 0 {
		cut = len(w.held)
	}
	out := make([]byte, 0, len(w.held)+len(w.script)+1)
	out = append(out, w.held[:cut]...)
	out = append(out, w.script...)
	out = append(out, '\n')
	out = append(out, w.held[cut:]...)
	w.ResponseWriter.Write(out)
}

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
