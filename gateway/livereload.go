package gateway

// This file implements browser live reload for dev mode: a tiny script is
// injected into full HTML documents (livereload_inject.go); it listens on a
// server-sent event stream and reloads the page when the master says
// something changed.

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// LiveReloadPath is where the event stream and the script are served.
const LiveReloadPath = "/__gowsgi__/livereload"

const liveReloadScript = `(function () {
  if (!window.EventSource) return;
  var me = document.currentScript && document.currentScript.src || "";
  var since = (me.match(/[?&]v=(\d+)/) || [0, "0"])[1];
  var es = new EventSource(%q + "?since=" + since);
  es.addEventListener("reload", function () { es.close(); location.reload(); });
})();
`

// liveRetry is the reconnection delay a stream tells the browser, in ms:
// longer than a stopping dev engine takes to close its idle connections
// (the engine's stopIdleQuiet and a sweep), so the page's next requests find the new
// workers.
const liveRetry = 300

// LiveReload broadcasts reload events to every open page.
//
// Every reload bumps a version that the injected script carries (?v=N) and
// sends back when it connects (?since=N): a page that was between two loads
// when a change happened (its old stream closed, the new one not open yet)
// learns of it as soon as it connects.
type LiveReload struct {
	mu      sync.Mutex
	clients map[chan string]struct{}
	version int
	done    chan struct{}
	once    sync.Once
}

// NewLiveReload returns an empty hub.
func NewLiveReload() *LiveReload {
	return &LiveReload{clients: map[chan string]struct{}{}, done: make(chan struct{})}
}

// Close ends every open event stream, so a stopping server need not wait
// for the browsers.
func (l *LiveReload) Close() { l.once.Do(func() { close(l.done) }) }

// Reload tells every connected page to reload; why is sent along for the
// browser console.
func (l *LiveReload) Reload(why string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.version++
	for c := range l.clients {
		select {
		case c <- why:
		default: // that page has a reload pending already
		}
	}
}

// Version is the version of the last reload (0 before any).
func (l *LiveReload) Version() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.version
}

// Clients returns how many pages listen.
func (l *LiveReload) Clients() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}

// Wrap serves the live reload endpoints and injects the script into the
// full HTML documents next answers (see injectWriter for which ones).
func (l *LiveReload) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case LiveReloadPath:
			l.serveEvents(w, r)
			return
		case LiveReloadPath + ".js":
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			io.WriteString(w, liveReloadJS())
			return
		}
		if !wantsDocument(r) {
			next.ServeHTTP(w, r)
			return
		}
		l.mu.Lock()
		v := l.version
		l.mu.Unlock()
		iw := newInjectWriter(w, liveReloadTag(v))
		next.ServeHTTP(iw, r)
		iw.finish()
	})
}

// liveReloadJS is the script's text.
func liveReloadJS() string { return fmt.Sprintf(liveReloadScript, LiveReloadPath) }

// liveReloadTag is the script element a page of version v gets.
func liveReloadTag(v int) string {
	return fmt.Sprintf("<script src=\"%s.js?v=%d\"></script>", LiveReloadPath, v)
}

func (l *LiveReload) serveEvents(w http.ResponseWriter, r *http.Request) {
	f, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	c := make(chan string, 1)
	since, _ := strconv.Atoi(r.URL.Query().Get("since"))
	l.mu.Lock()
	l.clients[c] = struct{}{}
	if l.version > since {
		c <- "changed while the page loaded"
	}
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		delete(l.clients, c)
		l.mu.Unlock()
	}()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, ": gowsgi live reload\nretry: %d\n\n", liveRetry)
	f.Flush()
	// A comment every 15s keeps proxies and the browser from timing out.
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	for {
		select {
		case why := <-c:
			fmt.Fprintf(w, "event: reload\ndata: %s\n\n", strings.ReplaceAll(why, "\n", " "))
			f.Flush()
		case <-ping.C:
			fmt.Fprintf(w, ": ping\n\n")
			f.Flush()
		case <-r.Context().Done():
			return
		case <-l.done:
			return
		}
	}
}
