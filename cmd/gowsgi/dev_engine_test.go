package main

// Dev mode on the in-worker engine (issue 14, part 3): a save's new
// generation takes the connections and the old one's end without the old
// code reaching a reloading page; while the app does not import, the
// master answers alone, and once a save fixes it the workers do again.
// Each step is watched through the live reload stream, as a browser does.

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// liveStream is an open live reload event stream.
type liveStream struct {
	c  net.Conn
	br *bufio.Reader
}

// openLive opens the live reload stream of a page of version since.
func openLive(t *testing.T, addr string, since int) *liveStream {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	io.WriteString(c, "GET /__gowsgi__/livereload?since="+strconv.Itoa(since)+" HTTP/1.1\r\nHost: "+addr+"\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("opening the live reload stream: %v", err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("live reload stream: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return &liveStream{c: c, br: br}
}

// retry waits the reconnection delay a stream asked for, as EventSource
// does before it reconnects.
func retry(t *testing.T, sent string) {
	t.Helper()
	m := regexp.MustCompile(`retry: (\d+)`).FindStringSubmatch(sent)
	if m == nil {
		t.Fatalf("the stream sent no retry: %q", sent)
	}
	ms, _ := strconv.Atoi(m[1])
	time.Sleep(time.Duration(ms) * time.Millisecond)
}

// until reads the stream until it ends or sends an event (a browser
// closes it then) and returns what it sent.
func (s *liveStream) until(t *testing.T, within time.Duration) string {
	t.Helper()
	s.c.SetReadDeadline(time.Now().Add(within))
	var sent strings.Builder
	for {
		line, err := s.br.ReadString('\n')
		sent.WriteString(line)
		if err == io.EOF {
			return sent.String()
		}
		if err != nil {
			t.Fatalf("the live reload stream did not end within %s: %v (sent %q)", within, err, sent.String())
		}
		if strings.HasPrefix(line, "data:") && strings.Contains(sent.String(), "event:") {
			return sent.String()
		}
	}
}

var pageVersion = regexp.MustCompile(`livereload\.js\?v=(\d+)`)

// liveVersion is the version the script of a page of url carries.
func liveVersion(t *testing.T, url string) int {
	t.Helper()
	_, _, body := get(t, nil, url)
	m := pageVersion.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("%s has no live reload script:\n%s", url, trunc(body))
	}
	v, _ := strconv.Atoi(m[1])
	return v
}

func TestDevOnTheEngine(t *testing.T) {
	dir := copyMysite(t)
	p := startGowsgi(t, dir, nil, "dev", ".", "127.0.0.1:0", "--python", testPython(t))
	if !p.engine() {
		t.Skip("the proxy path serves (GOWSGI_ENGINE=off): this test is about the engine's dev mode")
	}
	addr := strings.TrimPrefix(p.url, "http://")
	defer func() {
		if t.Failed() {
			t.Logf("gowsgi's output:\n%s", p.out)
		}
	}()
	version := filepath.Join(dir, "mysite", "version.py")

	// An idle keep-alive connection that got an answer from generation 1.
	old, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	oldR := bufio.NewReader(old)
	io.WriteString(old, "GET /version/ HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(oldR, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "1" {
		t.Fatalf("/version/ = %q, want 1", b)
	}
	workers := descendants(p.cmd.Process.Pid)

	v := liveVersion(t, p.url+"/items/")
	s := openLive(t, addr, v)
	saveFile(t, version, "VERSION = \"2\"\n")
	// The old generation ends its stream without a reload: the browser
	// reconnects, to the new one, which sends it.
	got := s.until(t, 20*time.Second)
	if strings.Contains(got, "event:") {
		t.Errorf("the old generation's stream sent %q, want it ended without an event", got)
	}
	retry(t, got)
	if got := openLive(t, addr, v).until(t, 10*time.Second); !strings.Contains(got, "event: reload") {
		t.Errorf("the reconnected stream sent %q, want a reload event", got)
	}
	// The reloading page's requests never get the old code: the old
	// generation closed its idle connection.
	old.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(old, "GET /version/ HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, err := http.ReadResponse(oldR, nil); err == nil {
		b, _ := io.ReadAll(resp.Body)
		t.Errorf("the old generation's idle connection answered %q after the reload event, want it closed", b)
	}
	if _, _, body := get(t, nil, p.url+"/version/"); body != "2" {
		t.Errorf("/version/ after the reload = %q, want 2", body)
	}
	if v2 := liveVersion(t, p.url+"/items/"); v2 <= v {
		t.Errorf("pages after the reload carry version %d, want more than %d", v2, v)
	}

	// A save that does not import: the master answers every request with
	// the error page, the live generation is retired.
	v = liveVersion(t, p.url+"/items/")
	s = openLive(t, addr, v)
	live := descendants(p.cmd.Process.Pid)
	saveFile(t, version, "VERSION = (\n")
	got = s.until(t, 20*time.Second)
	if strings.Contains(got, "event:") {
		t.Errorf("the retired generation's stream sent %q, want it ended without an event", got)
	}
	retry(t, got)
	if got := openLive(t, addr, v).until(t, 10*time.Second); !strings.Contains(got, "event: reload") {
		t.Errorf("the master's stream sent %q, want a reload event", got)
	}
	for i := 0; i < 20; i++ {
		code, _, body := get(t, nil, p.url+"/version/")
		if code != 500 || !strings.Contains(body, "SyntaxError") {
			t.Fatalf("request %d while broken: %d %s, want the error page", i, code, trunc(body))
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && len(descendants(p.cmd.Process.Pid)) >= len(live) {
		time.Sleep(50 * time.Millisecond)
	}
	if left := descendants(p.cmd.Process.Pid); len(left) >= len(live) {
		t.Errorf("processes while broken %v, before %v: the live generation's worker was not retired", left, live)
	}

	// The save that fixes it: the master's stream reloads the page, and
	// the workers serve it.
	v = liveVersion(t, p.url+"/")
	s = openLive(t, addr, v)
	saveFile(t, version, "VERSION = \"3\"\n")
	if got := s.until(t, 20*time.Second); !strings.Contains(got, "event: reload") {
		t.Errorf("the master's stream sent %q once fixed, want a reload event", got)
	}
	for i := 0; i < 20; i++ {
		if code, _, body := get(t, nil, p.url+"/version/"); code != 200 || body != "3" {
			t.Fatalf("request %d after the fix: %d %s, want 3", i, code, trunc(body))
		}
	}
	if slices.Equal(descendants(p.cmd.Process.Pid), workers) {
		t.Errorf("the same processes serve after two reloads")
	}
	if !strings.Contains(p.out.String(), "the app imports again") {
		t.Errorf("no 'imports again' line:\n%s", p.out)
	}
}
