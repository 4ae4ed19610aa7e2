package gateway

// This file is dev mode's live reload inside the engine (issue 14): the
// script and its event stream answered without the app, and the script
// put into the pages the app answers (injectWire, the injector of
// livereload_inject.go over the engine's wire).
//
// The master keeps the LiveReload hub; what the engines need of it, the
// version pages carry and which generation serves, it publishes in the
// scoreboard's header (Scoreboard.SetLive). An event stream holds no
// thread: once its head is written the connection waits in epoll, and the
// sweep (every liveSweep in dev mode) ends it with a reload event when
// the version passes the one its page carries.
//
// A stream on an engine whose generation is not the one serving (a dev
// reload's old workers, or every worker while the app does not import and
// the master answers) is ended at once: the browser reconnects after
// liveRetry, to whoever serves now, and learns of the change from the
// version. The old generation never sends the reload itself, so a page
// never reloads into a stopping worker's idle connection and the old code.

import (
	"net/http"
	"net/textproto"
	"strconv"
	"time"
)

// liveSweep is how often an engine in dev mode looks at its streams and
// timeouts: the most a reload event waits after the master's change.
const liveSweep = 50 * time.Millisecond

// livePing is how often an open stream gets a comment, so that proxies
// and the browser do not time it out.
const livePing = 15 * time.Second

// stopIdleQuiet is how long, in dev mode, a stopping engine's connection
// that is idle (nothing received, nothing being answered) must have been
// quiet before it is closed, instead of stopIdleGrace.
const stopIdleQuiet = 100 * time.Millisecond

// liveStream is a held event stream: the version its page carries, and
// when it gets its next ping.
type liveStream struct {
	since  int
	pingAt time.Time
}

// liveState is what the scoreboard says: the version, and whether this
// engine's generation is the one serving.
func (e *Engine) liveState() (version int, serving bool) {
	if e.stopping.Load() {
		return 0, false
	}
	if e.sb == nil {
		return 0, true
	}
	v, gen := e.sb.Live()
	return v, int(e.gen.Load()) >= gen
}

// sweepEvery is the interval of the timeout sweep.
func (e *Engine) sweepInterval() time.Duration {
	if e.s.Dev {
		return liveSweep
	}
	if e.stopping.Load() {
		return 50 * time.Millisecond
	}
	return sweepEvery
}

// serveLiveReload answers the live reload script and event stream, and
// reports whether req was one of them.
func (c *engineConn) serveLiveReload(e *Engine, req *http.Request) bool {
	switch req.URL.Path {
	case LiveReloadPath + ".js":
		body := liveReloadJS()
		b := c.liveHead(nil, "text/javascript; charset=utf-8")
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		keep := wantsKeepAlive(req) && !e.stopping.Load()
		if !keep {
			b = append(b, "\r\nConnection: close"...)
		}
		b = append(b, "\r\n\r\n"...)
		c.fc.Write(append(b, body...))
		c.endRequest()
		c.closeAfter = !keep
		c.afterAnswer(e)
		return true
	case LiveReloadPath:
		since, _ := strconv.Atoi(req.URL.Query().Get("since"))
		b := c.liveHead(nil, "text/event-stream")
		b = append(b, "Connection: close\r\n\r\n: gowsgi live reload\nretry: "...)
		b = strconv.AppendInt(b, liveRetry, 10)
		b = append(b, "\n\n"...)
		c.endRequest()
		c.in = c.in[:0] // a stream carries nothing more
		version, serving := e.liveState()
		switch {
		case !serving:
		case version > since:
			b = appendReloadEvent(b, "changed while the page loaded")
		default:
			c.live = &liveStream{since: since, pingAt: time.Now().Add(livePing)}
		}
		c.fc.Write(b)
		if c.live == nil {
			c.closeAfter = true
			c.afterAnswer(e)
			return true
		}
		// Held: the connection waits in epoll (process re-arms it), and
		// whatever arrives now (the browser closing it) ends it.
		c.lastIO = time.Now()
		return true
	}
	return false
}

func (c *engineConn) liveHead(b []byte, contentType string) []byte {
	b = append(b, "HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nContent-Type: "...)
	b = append(b, contentType...)
	b = append(b, "\r\nDate: "...)
	b = append(b, httpDate()...)
	return append(b, "\r\n"...)
}

func appendReloadEvent(b []byte, why string) []byte {
	b = append(b, "event: reload\ndata: "...)
	b = append(b, why...)
	return append(b, "\n\n"...)
}

// sweepLive is the sweep of a held stream (c.mu held): it reports whether
// the stream is over, after writing the reload event when it is due.
func (c *engineConn) sweepLive(e *Engine, now time.Time) bool {
	version, serving := e.liveState()
	switch {
	case !serving:
		return true
	case version > c.live.since:
		c.fc.writeNow(appendReloadEvent(nil, "changed"))
		return true
	case now.After(c.live.pingAt):
		c.live.pingAt = now.Add(livePing)
		if n, err := c.fc.writeNow([]byte(": ping\n\n")); err != nil || n == 0 {
			return true
		}
	}
	return false
}

// injectWire puts the live reload script into the page the pipeline
// answers on w: the app's, an error page, a static file.
type injectWire struct {
	wire
	j     injector
	added int           // bytes the script added
	rw    *injectWriter // a static file's or the Unavailable hook's answer
}

func newInjectWire(w wire, version int) *injectWire {
	iw := &injectWire{wire: w}
	iw.j = injector{script: liveReloadTag(version), out: func(p []byte) error { _, err := w.writeBody(p); return err }}
	return iw
}

func (w *injectWire) writeHead(code int, status string, headers [][2]string) error {
	var ct, ce string
	for _, kv := range headers {
		switch textproto.CanonicalMIMEHeaderKey(kv[0]) {
		case "Content-Type":
			ct = kv[1]
		case "Content-Encoding":
			ce = kv[1]
		}
	}
	if w.j.begin(code, ct, ce) {
		kept := make([][2]string, 0, len(headers))
		for _, kv := range headers {
			if textproto.CanonicalMIMEHeaderKey(kv[0]) != "Content-Length" {
				kept = append(kept, kv)
			}
		}
		headers = kept
	}
	return w.wire.writeHead(code, status, headers)
}

func (w *injectWire) writeBody(p []byte) (int, error) { return len(p), w.j.write(p) }

func (w *injectWire) responseWriter() http.ResponseWriter {
	w.rw = newInjectWriter(w.wire.responseWriter(), w.j.script)
	return w.rw
}

// finish writes what the injector holds, with the script, and returns how
// many bytes the script added.
func (w *injectWire) finish() int {
	w.j.finish()
	n := w.j.added
	if w.rw != nil {
		w.rw.finish()
		n += w.rw.j.added
	}
	return n
}
