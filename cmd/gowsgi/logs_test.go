package main

// Tests of the access log formats (log-format) and of logto rotation
// (log-maxsize), with a real gowsgi.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestAccessLogFormats(t *testing.T) {
	t.Run("json", func(t *testing.T) {
		p := startGowsgi(t, repoRoot(t), nil, "serve", "--http", "127.0.0.1:0", "--log-format", "json",
			"--chdir", "testdata/apps", "--wsgi-file", "all.py", "--python", testPython(t))
		get(t, nil, p.url+"/hello/")
		get(t, nil, p.url+"/nope/?x=1")
		if _, ok := p.out.waitFor(regexp.MustCompile(`"path":"/nope/\?x=1"`), 10*time.Second); !ok {
			t.Fatalf("no JSON line for /nope/; output:\n%s", p.out)
		}
		n := 0
		for _, line := range strings.Split(p.out.String(), "\n") {
			if !strings.HasPrefix(line, "{") {
				continue
			}
			n++
			var rec struct {
				Method     string   `json:"method"`
				Path       string   `json:"path"`
				Status     int      `json:"status"`
				Bytes      int64    `json:"bytes"`
				DurationMS *float64 `json:"duration_ms"`
				Remote     string   `json:"remote"`
				Pid        int      `json:"pid"`
				Generation int      `json:"generation"`
			}
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("not a JSON line: %v\n%s", err, line)
			}
			if rec.Method != "GET" || rec.Remote != "127.0.0.1" || rec.Pid == 0 || rec.Generation != 1 || rec.DurationMS == nil {
				t.Errorf("line %s decodes to %+v", line, rec)
			}
			switch rec.Path {
			case "/hello/":
				if rec.Status != 200 || rec.Bytes != int64(len("Hello, World!")) {
					t.Errorf("hello: %+v", rec)
				}
			case "/nope/?x=1":
				if rec.Status != 404 {
					t.Errorf("nope: %+v", rec)
				}
			default:
				t.Errorf("unexpected path in %s", line)
			}
		}
		if n != 2 {
			t.Errorf("%d JSON lines, want 2; output:\n%s", n, p.out)
		}
	})
	t.Run("combined", func(t *testing.T) {
		p := startGowsgi(t, repoRoot(t), nil, "serve", "--http", "127.0.0.1:0", "--log-format", "combined",
			"--chdir", "testdata/apps", "--wsgi-file", "all.py", "--python", testPython(t))
		get(t, nil, p.url+"/hello/")
		re := regexp.MustCompile(`127\.0\.0\.1 - - \[[^]]+\] "GET /hello/ HTTP/1\.1" 200 13 "-" "Go-http-client/1\.1"`)
		if _, ok := p.out.waitFor(re, 10*time.Second); !ok {
			t.Fatalf("no combined line; output:\n%s", p.out)
		}
	})
}

// TestLogRotation: with logto and log-maxsize, the file is renamed
// FILE.<unix time> before it would pass the size, and no line is lost.
func TestLogRotation(t *testing.T) {
	dir := t.TempDir()
	logfile := filepath.Join(dir, "gowsgi.log")
	const max = 4096
	p := launch(t, repoRoot(t), nil, "serve", "--http", "127.0.0.1:0", "--logto", logfile, "--log-maxsize", "4096",
		"--chdir", "testdata/apps", "--wsgi-file", "all.py", "--python", testPython(t))
	all := func() string {
		files, _ := filepath.Glob(logfile + "*")
		var b strings.Builder
		for _, f := range files {
			data, _ := os.ReadFile(f)
			b.Write(data)
		}
		return b.String()
	}
	var url string
	deadline := time.Now().Add(60 * time.Second)
	for url == "" {
		if m := listeningRE.FindStringSubmatch(all()); m != nil {
			url = "http://" + m[1]
			break
		}
		select {
		case <-p.done:
			t.Fatalf("gowsgi exited; output:\n%s\nlog:\n%s", p.out, all())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("gowsgi did not become ready; log:\n%s", all())
		}
		time.Sleep(50 * time.Millisecond)
	}
	const requests = 100
	for i := 0; i < requests; i++ {
		get(t, nil, url+"/hello/")
	}
	hello := regexp.MustCompile(`"GET /hello/ HTTP/1.1" 200`)
	for n := 0; n < requests; n = len(hello.FindAllString(all(), -1)) {
		if time.Now().After(deadline) {
			t.Fatalf("%d access lines of %d in the logs", n, requests)
		}
		time.Sleep(50 * time.Millisecond)
	}
	rotated, _ := filepath.Glob(logfile + ".*")
	if len(rotated) < 2 {
		t.Fatalf("%d rotated files, want at least 2 for %d requests at %d bytes", len(rotated), requests, max)
	}
	name := regexp.MustCompile(`^gowsgi\.log\.\d{10}(-\d+)?$`)
	for _, f := range append(rotated, logfile) {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > max || st.Size() == 0 {
			t.Errorf("%s: %d bytes, want 1..%d", f, st.Size(), max)
		}
		if f != logfile && !name.MatchString(filepath.Base(f)) {
			t.Errorf("rotated file %s is not named FILE.<unix time>", f)
		}
	}
}
