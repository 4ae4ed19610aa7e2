package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"
)

// TestSecondSIGINTWithAUwsgiRequestInTheApp pins issue 13, bug 2
// (reproduced: "SIGINT again: stopping now", still running 25 s later):
// the second CONTROL-C closed the uwsgi server first, and its Close waited
// for the connection's goroutine, blocked in a request the app never
// finished. Now the request is abandoned and gowsgi exits at once.
func TestSecondSIGINTWithAUwsgiRequestInTheApp(t *testing.T) {
	p := startGowsgi(t, repoRoot(t), nil, "serve", "--http", "127.0.0.1:0", "--socket", "localhost:0",
		"--chdir", "testdata/apps", "--wsgi-file", "all.py", "--python", testPython(t))
	m, ok := p.out.waitFor(anyUwsgiListeningRE, 10*time.Second)
	if !ok {
		t.Fatalf("no uwsgi listener:\n%s", p.out)
	}
	c, err := net.Dial("tcp", m[1])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pidFile := filepath.Join(t.TempDir(), "pid")
	c.Write(hostilePacket(t, "GET", "/pid_slow/", "s=600&file="+pidFile))
	waitForFile(t, pidFile, regexp.MustCompile(`\d+`)) // the request is in the app
	p.cmd.Process.Signal(syscall.SIGINT)
	if _, ok := p.out.waitFor(regexp.MustCompile(`press CONTROL-C again`), 10*time.Second); !ok {
		t.Fatalf("no graceful-stop message:\n%s", p.out)
	}
	start := time.Now()
	p.cmd.Process.Signal(syscall.SIGINT)
	p.wait(5 * time.Second) // fails the test past 5 s
	t.Logf("stopped %s after the second SIGINT", time.Since(start).Round(time.Millisecond))
}

// TestStaticMapOnBothListeners pins issue 13's static-map drift end to
// end: static-map was served in front of the HTTP listener only, and the
// uwsgi listener handed /static/ requests to the app.
func TestStaticMapOnBothListeners(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "site.css"), []byte("body{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startGowsgi(t, repoRoot(t), nil, "serve", "--http", "127.0.0.1:0", "--socket", "localhost:0",
		"--chdir", "testdata/apps", "--wsgi-file", "all.py", "--static-map", "/static="+dir, "--python", testPython(t))
	m, ok := p.out.waitFor(anyUwsgiListeningRE, 10*time.Second)
	if !ok {
		t.Fatalf("no uwsgi listener:\n%s", p.out)
	}
	t.Run("http", func(t *testing.T) {
		status, _, body := get(t, nil, p.url+"/static/site.css")
		if status != 200 || body != "body{}" {
			t.Errorf("answer %d %q, want 200 body{}", status, body)
		}
	})
	t.Run("uwsgi", func(t *testing.T) {
		c, err := net.Dial("tcp", m[1])
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write(hostilePacket(t, "GET", "/static/site.css", ""))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(body) != "body{}" {
			t.Errorf("answer %d %q, want 200 body{}", resp.StatusCode, body)
		}
	})
}
