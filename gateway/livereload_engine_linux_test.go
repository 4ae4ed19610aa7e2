package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/pyworker"
)

// pageApp answers a whole HTML document, or a fragment for htmx.
var pageApp = EngineAppFunc(func(req *pyworker.Request, out pyworker.Responder) error {
	body := "<!DOCTYPE html><html><body><p>hi</p></body></html>"
	if strings.Contains(string(req.Environ), "HTTP_HX_REQUEST") {
		body = "<p>fragment</p>"
	}
	if err := out.Start("200 OK", [][2]string{{"Content-Type", "text/html; charset=utf-8"}, {"Content-Length", strconv.Itoa(len(body))}}); err != nil {
		return &pyworker.BadResponseError{Err: err}
	}
	return out.Write([]byte(body))
})

// liveEngine is an engine in dev mode of generation 1 with a scoreboard
// saying version 3, generation 1 serves.
func liveEngine(t *testing.T) (*testEngine, *Scoreboard) {
	t.Helper()
	board, f, err := CreateScoreboard(2, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	board.SetLive(3, 1)
	te := startEngine(t, "http", EngineSettings{LiveReload: true, Dev: true, Timeout: 5 * time.Second}, pageApp, 1,
		func(e *Engine) { e.SetBoard(board, 0) })
	return te, board
}

func TestEngineLiveReloadInjects(t *testing.T) {
	te, _ := liveEngine(t)
	get := func(hdr map[string]string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", "http://"+te.addr+"/", nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(b)
	}
	_, page := get(nil)
	want := `<p>hi</p><script src="/__gowsgi__/livereload.js?v=3"></script>` + "\n</body>"
	if !strings.Contains(page, want) {
		t.Errorf("page = %q, want the script of version 3 before </body>", page)
	}
	if _, frag := get(map[string]string{"HX-Request": "true"}); frag != "<p>fragment</p>" {
		t.Errorf("htmx fragment = %q, want it untouched", frag)
	}
	r2, err := http.Get("http://" + te.addr + LiveReloadPath + ".js")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r2.Body)
	r2.Body.Close()
	if r2.Header.Get("Content-Type") != "text/javascript; charset=utf-8" || !strings.Contains(string(b), "EventSource") {
		t.Errorf("script: %s %q", r2.Header.Get("Content-Type"), b)
	}
}

// openStream asks for the event stream of a page of version since and
// returns its reader once the head and the first comment came.
func openStream(t *testing.T, addr string, since int) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	io.WriteString(c, "GET "+LiveReloadPath+"?since="+strconv.Itoa(since)+" HTTP/1.1\r\nHost: x\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream answered %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return c, br
}

// rest reads what the stream sends until it ends.
func rest(t *testing.T, c net.Conn, br *bufio.Reader, within time.Duration) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(within))
	b, err := io.ReadAll(br)
	if err != nil {
		t.Fatalf("the stream did not end within %s: %v (got %q)", within, err, b)
	}
	return string(b)
}

func TestEngineLiveReloadStream(t *testing.T) {
	te, board := liveEngine(t)

	// A page older than the version reloads at once.
	c, br := openStream(t, te.addr, 2)
	if got := rest(t, c, br, 2*time.Second); !strings.Contains(got, "event: reload") || !strings.Contains(got, "retry: 300") {
		t.Errorf("old page's stream = %q, want retry and a reload event", got)
	}

	// A current page's stream is held, without a thread: a request on
	// the engine's one thread is answered meanwhile; then a change ends
	// it with a reload event.
	c, br = openStream(t, te.addr, 3)
	if resp, err := http.Get("http://" + te.addr + "/"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET / beside a held stream: %v %v", resp, err)
	}
	time.Sleep(200 * time.Millisecond)
	board.SetLive(4, 1)
	if got := rest(t, c, br, 2*time.Second); !strings.Contains(got, "event: reload") {
		t.Errorf("stream after the change = %q, want a reload event", got)
	}

	// Once another generation serves, this engine's streams end with no
	// event (the browser reconnects to the new one), and, in dev mode,
	// the engine stops by itself.
	c, br = openStream(t, te.addr, 4)
	board.SetLive(5, 2)
	if got := rest(t, c, br, 2*time.Second); strings.Contains(got, "event:") {
		t.Errorf("stale engine's stream = %q, want it ended without an event", got)
	}
	if !te.e.stopping.Load() {
		t.Errorf("the engine of a generation that no longer serves did not stop")
	}
}

// A stream asked of an engine whose generation no longer serves (a
// browser reconnecting on an old idle connection) ends at once, with no
// event, even for an old page.
func TestEngineLiveReloadStaleStream(t *testing.T) {
	board, f, err := CreateScoreboard(2, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	board.SetLive(5, 2) // generation 2 serves; the engine is generation 1
	// Not dev mode, so that the engine does not stop and answers.
	te := startEngine(t, "http", EngineSettings{LiveReload: true, Timeout: 5 * time.Second}, pageApp, 1,
		func(e *Engine) { e.SetBoard(board, 0) })
	c, br := openStream(t, te.addr, 1)
	if got := rest(t, c, br, 2*time.Second); strings.Contains(got, "event:") {
		t.Errorf("stale engine's new stream = %q, want it ended without an event", got)
	}
}

// A stopping dev engine closes a quiet keep-alive connection well before
// stopIdleGrace, so that a reload does not find the old code on it.
func TestEngineLiveReloadStopClosesQuietConns(t *testing.T) {
	te, _ := liveEngine(t)
	c, err := net.Dial("tcp", te.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	sc, sbr := openStream(t, te.addr, 3)
	start := time.Now()
	te.e.Stop()
	c.SetReadDeadline(time.Now().Add(stopIdleGrace - 500*time.Millisecond))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("idle connection after Stop: %v, want it closed within %s", err, stopIdleGrace-500*time.Millisecond)
	}
	if got := rest(t, sc, sbr, time.Second); strings.Contains(got, "event:") {
		t.Errorf("stream of a stopped engine = %q, want it ended without an event", got)
	}
	t.Logf("closed %s after Stop", time.Since(start))
}
