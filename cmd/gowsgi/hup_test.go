package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/master"
)

// readPid reads a pidfile, 0 when missing.
func readPid(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// killByPidfile stops the master a pidfile names (after a HUP it is not
// the test's child any more).
func killByPidfile(t *testing.T, path string) {
	pid := readPid(t, path)
	if pid == 0 || !master.IsGowsgi(pid) {
		return
	}
	syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(15 * time.Second)
	for master.IsGowsgi(pid) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if master.IsGowsgi(pid) {
		syscall.Kill(-pid, syscall.SIGKILL)
		syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("master %d did not stop on SIGTERM", pid)
	}
}

// waitNewMaster waits until the pidfile names a master other than old and
// old has exited.
func waitNewMaster(t *testing.T, path string, old int) int {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if pid := readPid(t, path); pid != 0 && pid != old && !master.IsGowsgi(old) {
			return pid
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no new master replaced pid %d (pidfile says %d)", old, readPid(t, path))
	return 0
}

// TestHUPUnderLoad: several kill -HUP in a row while keep-alive and
// new-connection clients POST continuously: not one request fails.
func TestHUPUnderLoad(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "gowsgi.pid")
	p := startGowsgi(t, repoRoot(t), nil, "serve", "--http", "127.0.0.1:0", "--chdir", "testdata/apps",
		"--wsgi-file", "all.py", "--processes", "2", "--threads", "2", "--python", testPython(t), "--pidfile", pidfile)
	t.Cleanup(func() { killByPidfile(t, pidfile) })

	var sent, failed atomic.Int64
	var mu sync.Mutex
	var failures []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := func(id int, keepAlive bool) {
		defer wg.Done()
		c := &http.Client{Transport: &http.Transport{DisableKeepAlives: !keepAlive}, Timeout: 30 * time.Second}
		defer c.CloseIdleConnections()
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			body := fmt.Sprintf("client %d request %d", id, n)
			sent.Add(1)
			resp, err := c.Post(p.url+"/echo/", "text/plain", strings.NewReader(body))
			var got []byte
			if err == nil {
				got, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if err != nil || resp.StatusCode != 200 || !bytes.Equal(got, []byte(body)) {
				failed.Add(1)
				mu.Lock()
				if len(failures) < 5 {
					failures = append(failures, fmt.Sprintf("%s: %v %v %q", body, err, resp, got))
				}
				mu.Unlock()
			}
		}
	}
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go client(i, i%2 == 0)
	}
	pid := readPid(t, pidfile)
	if pid != p.cmd.Process.Pid {
		t.Fatalf("pidfile says %d, the master is %d", pid, p.cmd.Process.Pid)
	}
	for i := 0; i < 3; i++ {
		before := sent.Load()
		for sent.Load() < before+50 {
			time.Sleep(5 * time.Millisecond) // let traffic run against this master
		}
		syscall.Kill(pid, syscall.SIGHUP)
		pid = waitNewMaster(t, pidfile, pid)
	}
	before := sent.Load()
	for sent.Load() < before+50 {
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if code := p.wait(10 * time.Second); code != 0 {
		t.Errorf("the first master exited %d after handing over", code)
	}
	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed across 3 HUPs: %s\n%s", failed.Load(), sent.Load(), strings.Join(failures, "\n"), p.out)
	}
	t.Logf("%d requests across 3 HUPs, 0 failed", sent.Load())
}

// TestHUPWithBrokenApp: when the new master cannot start (the app no longer
// imports), the old one keeps serving and logs why.
func TestHUPWithBrokenApp(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app.py")
	good, _ := os.ReadFile(filepath.Join(repoRoot(t), "testdata/apps/hello.py"))
	os.WriteFile(app, good, 0o644)
	pidfile := filepath.Join(dir, "gowsgi.pid")
	p := startGowsgi(t, dir, nil, "serve", "--http", "127.0.0.1:0", "--chdir", dir, "--wsgi-file", "app.py",
		"--python", testPython(t), "--pidfile", pidfile)
	t.Cleanup(func() { killByPidfile(t, pidfile) })
	os.WriteFile(app, []byte("def application(:\n"), 0o644)
	p.cmd.Process.Signal(syscall.SIGHUP)
	if _, ok := p.out.waitFor(regexp.MustCompile(`restart failed, this master keeps serving`), 60*time.Second); !ok {
		t.Fatalf("no failed-restart message:\n%s", p.out)
	}
	if !strings.Contains(p.out.String(), "SyntaxError") {
		t.Errorf("the new master's error is not in the log")
	}
	if code, _, body := get(t, nil, p.url+"/"); code != 200 || body != "Hello, World!" {
		t.Fatalf("after the failed restart: %d %q", code, body)
	}
	if pid := readPid(t, pidfile); pid != p.cmd.Process.Pid {
		t.Fatalf("pidfile names %d, want the old master %d", pid, p.cmd.Process.Pid)
	}
}
