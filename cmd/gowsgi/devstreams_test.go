package main

// Tests of open streams in dev mode (issue 15, item 3): an event stream of
// the old generation ends shortly after a save swaps in new code, and one
// CONTROL-C stops within about a second with a stream open.

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// streamApp streams server-sent events from /events/ until the client
// goes away, each naming the app's version; / answers the version.
const streamApp = `import time
VERSION = %q

def application(environ, start_response):
    if environ["PATH_INFO"] == "/events/":
        start_response("200 OK", [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")])
        def events():
            while True:
                yield ("data: %%s\n\n" %% VERSION).encode()
                time.sleep(0.1)
        return events()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [VERSION.encode()]
`

func writeStreamApp(t *testing.T, dir, version string) {
	t.Helper()
	src := strings.Replace(streamApp, "%q", `"`+version+`"`, 1)
	src = strings.ReplaceAll(src, "%%", "%")
	if err := os.WriteFile(filepath.Join(dir, "app.py"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

// openStream opens /events/ and returns its reader once the first event
// came.
func openStream(t *testing.T, url string) (*http.Response, *bufio.Reader, string) {
	t.Helper()
	resp, err := http.Get(url + "/events/")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	r := bufio.NewReader(resp.Body)
	line := readLine(t, r)
	return resp, r, strings.TrimSpace(strings.TrimPrefix(line, "data: "))
}

func TestDevEndsOldStreamsAfterASwap(t *testing.T) {
	dir := t.TempDir()
	writeStreamApp(t, dir, "v1")
	p := startGowsgi(t, dir, nil, "dev", "--wsgi-file", "app.py", "--python", testPython(t), "--http", "127.0.0.1:0", "--threads", "2")
	_, r, first := openStream(t, p.url)
	if first != "v1" {
		t.Fatalf("first event %q, want v1", first)
	}
	writeStreamApp(t, dir, "v2")
	if _, ok := p.out.waitFor(regexp.MustCompile(`generation 2 live`), 30*time.Second); !ok {
		t.Fatalf("no new generation after the save:\n%s", p.out)
	}
	// The old stream ends: read until EOF or an error, within 5 s.
	ended := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, r)
		ended <- err
	}()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatalf("the old generation's stream was still open 5s after the swap:\n%s", p.out)
	}
	if _, _, v := openStream(t, p.url); v != "v2" {
		t.Errorf("a new stream after the swap sends %q, want v2", v)
	}
}

func TestDevStopsAtOnceWithAStreamOpen(t *testing.T) {
	dir := t.TempDir()
	writeStreamApp(t, dir, "v1")
	p := startGowsgi(t, dir, nil, "dev", "--wsgi-file", "app.py", "--python", testPython(t), "--http", "127.0.0.1:0", "--threads", "2")
	openStream(t, p.url)
	start := time.Now()
	p.cmd.Process.Signal(syscall.SIGINT)
	exitsWithin(t, p, 3*time.Second, "one SIGINT with an event stream open")
	t.Logf("stopped %s after one SIGINT", time.Since(start).Round(time.Millisecond))
}
