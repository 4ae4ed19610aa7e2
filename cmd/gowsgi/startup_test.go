package main

import (
	"bufio"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStartupFailures: each way the app cannot start makes `gowsgi serve`
// exit non-zero with one message naming the cause and the next step.
func TestStartupFailures(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	py := testPython(t)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []string
	}{
		{"import error", []string{"--chdir", "testdata/apps", "--wsgi-file", "import_error.py"}, exitAppLoad,
			[]string{"ModuleNotFoundError", "this_module_does_not_exist_gowsgi", "import_error.py", "hint: fix the error above"}},
		{"syntax error", []string{"--chdir", "testdata/apps", "--wsgi-file", "syntax_error.py"}, exitAppLoad,
			[]string{"SyntaxError", "syntax_error.py, line", "hint:"}},
		{"missing module", []string{"--chdir", "testdata/mysite", "--module", "mysite.nope"}, exitAppLoad,
			[]string{"No module named 'mysite.nope'", "hint:"}},
		{"missing callable", []string{"--chdir", "testdata/apps", "--wsgi-file", "hello.py", "--callable", "nope"}, exitAppLoad,
			[]string{"nope", "hint:"}},
		{"missing wsgi file", []string{"--chdir", "testdata/apps", "--wsgi-file", "nope.py"}, exitUsage,
			[]string{"wsgi-file nope.py: no such file", "hint:"}},
		{"missing chdir", []string{"--chdir", "testdata/nope", "--wsgi-file", "hello.py"}, exitUsage,
			[]string{"chdir testdata/nope: no such directory"}},
		{"no app", []string{"--chdir", "testdata/apps"}, exitUsage, []string{"no app: set wsgi-file", "module ="}},
		{"missing python", []string{"--chdir", "testdata/apps", "--wsgi-file", "hello.py", "--python", "/nonexistent/python3"}, exitNoPython,
			[]string{"no python interpreter found", "/nonexistent/python3", "hint: install python3"}},
		{"port in use", []string{"--chdir", "testdata/apps", "--wsgi-file", "hello.py", "--http", busy.Addr().String()}, exitError,
			[]string{"cannot listen on " + busy.Addr().String() + ": address already in use", "hint: another process holds this address"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"serve", "--python", py, "--http", "127.0.0.1:0"}, tc.args...)
			code, out := runGowsgi(t, repoRoot(t), 60*time.Second, args...)
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d", code, tc.wantCode)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q", w)
				}
			}
			if t.Failed() {
				t.Logf("output:\n%s", out)
			}
		})
	}
}

// TestGracefulStop: SIGINT lets an in-flight request finish, then gowsgi
// exits 0; a second SIGINT stops at once.
func TestGracefulStop(t *testing.T) {
	start := func() *proc {
		return startGowsgi(t, repoRoot(t), nil, "serve", "--http", "127.0.0.1:0", "--chdir", "testdata/apps",
			"--wsgi-file", "all.py", "--python", testPython(t))
	}
	t.Run("in-flight request finishes", func(t *testing.T) {
		p := start()
		c, err := net.Dial("tcp", p.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		pidFile := filepath.Join(t.TempDir(), "pid")
		c.Write([]byte("GET /pid_slow/?s=1&file=" + pidFile + " HTTP/1.1\r\nHost: x\r\n\r\n"))
		// The app writes the file once it runs: the request is in flight.
		waitForFile(t, pidFile, regexp.MustCompile(`\d+`))
		p.cmd.Process.Signal(syscall.SIGINT)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("the in-flight request failed: %v\n%s", err, p.out)
		}
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if code := p.wait(20 * time.Second); code != 0 {
			t.Fatalf("exit code %d after SIGINT:\n%s", code, p.out)
		}
		if _, err := net.Dial("tcp", p.addr); err == nil {
			t.Errorf("still accepting after the stop")
		}
	})
	t.Run("second signal stops at once", func(t *testing.T) {
		p := start()
		pidFile := filepath.Join(t.TempDir(), "pid")
		go http.Get(p.url + "/pid_slow/?s=60&file=" + pidFile)
		waitForFile(t, pidFile, regexp.MustCompile(`\d+`))
		p.cmd.Process.Signal(syscall.SIGINT)
		if _, ok := p.out.waitFor(regexp.MustCompile(`press CONTROL-C again`), 10*time.Second); !ok {
			t.Fatalf("no graceful-stop message:\n%s", p.out)
		}
		p.cmd.Process.Signal(syscall.SIGINT)
		p.wait(10 * time.Second)
	})
}
