package main

// Regression tests of the master's lifecycle under HUP and CONTROL-C
// (issue 13): each names the bug it pins and failed on the code before the
// master moved into package master with its one signal loop.

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/master"
)

// gateApp is a WSGI app whose requests to /block/ write the file named by
// $GATE_FILE and then sleep for 10 minutes; /hold/ writes it too and
// answers "released" once $RELEASE_FILE exists; every other path answers
// "ok".
// With $SLOW_IMPORT_FILE set, importing it sleeps for 10 minutes while that
// file exists.
const gateApp = `import os, time
if os.environ.get("SLOW_IMPORT_FILE") and os.path.exists(os.environ["SLOW_IMPORT_FILE"]):
    time.sleep(600)

def application(environ, start_response):
    if environ["PATH_INFO"] == "/block/":
        open(os.environ["GATE_FILE"], "w").close()
        time.sleep(600)
    if environ["PATH_INFO"] == "/hold/":
        open(os.environ["GATE_FILE"], "w").close()
        while not os.path.exists(os.environ["RELEASE_FILE"]):
            time.sleep(0.01)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"released"]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
`

// writeGateApp writes gateApp into a new directory and returns it and the
// gate file its /block/ requests create.
func writeGateApp(t *testing.T) (dir, gate string) {
	t.Helper()
	dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "gate.py"), []byte(gateApp), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, filepath.Join(dir, "gate.opened")
}

// waitFile waits until path exists: the app got the request.
func waitFile(t *testing.T, path string, p *proc) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return
		}
	}
	t.Fatalf("the app never got the request (%s not created); output:\n%s", path, p.out)
}

// exitsWithin fails the test unless p exits within d of now.
func exitsWithin(t *testing.T, p *proc, d time.Duration, what string) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		t.Fatalf("%s: gowsgi still runs %s later; output:\n%s", what, d, p.out)
	}
}

// TestHUPWithTouchReloadDirectoryGone pins issue 13, bug 1: a HUP whose
// new master cannot watch a touch-reload file (its directory is gone)
// left no server at all: the new master said ready, the old one drained,
// then the new one failed at the watcher and exited. Now the watcher is a
// warning and the new master serves.
func TestHUPWithTouchReloadDirectoryGone(t *testing.T) {
	dir := t.TempDir()
	trigger := filepath.Join(dir, "x", "trigger")
	if err := os.MkdirAll(filepath.Dir(trigger), 0o755); err != nil {
		t.Fatal(err)
	}
	pidfile := filepath.Join(dir, "gowsgi.pid")
	p := startGowsgi(t, repoRoot(t), nil, "serve", "--http", "127.0.0.1:0", "--chdir", "testdata/apps", "--wsgi-file", "hello.py",
		"--python", testPython(t), "--pidfile", pidfile, "--touch-reload", trigger)
	t.Cleanup(func() { killByPidfile(t, pidfile) })
	if err := os.RemoveAll(filepath.Dir(trigger)); err != nil {
		t.Fatal(err)
	}
	old := p.cmd.Process.Pid
	syscall.Kill(old, syscall.SIGHUP)
	newPid := waitNewMaster(t, pidfile, old)
	// The old master has exited: whatever answers now is the new one, and
	// it must still be there a moment later.
	for i := 0; i < 5; i++ {
		if code, _, body := get(t, nil, p.url+"/"); code != 200 || body != "Hello, World!" {
			t.Fatalf("after the HUP: %d %q", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !master.IsGowsgi(newPid) {
		t.Fatalf("the new master (pid %d) exited; output:\n%s", newPid, p.out)
	}
	if !regexp.MustCompile(`warning: touch-reload \S+trigger: .*no such file or directory`).MatchString(p.out.String()) {
		t.Errorf("no warning about the touch-reload file:\n%s", p.out)
	}
}

// TestStopDuringHUP pins issue 13, bug 4: a stop while a HUP's new master
// was still starting let the new master finish starting while the old one
// drained; it then served on, while `gowsgi --stop` had reported
// "stopped".
func TestStopDuringHUP(t *testing.T) {
	dir, gate := writeGateApp(t)
	release := filepath.Join(dir, "release")
	slow := filepath.Join(dir, "slow-import")
	// The import waits while the slow file exists.
	src := strings.Replace(gateApp, "    time.sleep(600)\n\ndef", "    while os.path.exists(os.environ[\"SLOW_IMPORT_FILE\"]):\n        time.sleep(0.05)\n\ndef", 1)
	if err := os.WriteFile(filepath.Join(dir, "gate.py"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	pidfile := filepath.Join(dir, "gowsgi.pid")
	marker := checkMarker(t)
	p := startGowsgi(t, dir, []string{"GATE_FILE=" + gate, "RELEASE_FILE=" + release, "SLOW_IMPORT_FILE=" + slow, marker},
		"serve", "--http", "127.0.0.1:0", "--module", "gate", "--python", testPython(t), "--pidfile", pidfile, "--threads", "2")
	t.Cleanup(func() { killByPidfile(t, pidfile) })
	// A request keeps the old master's graceful stop busy.
	held := make(chan int, 1)
	go func() {
		resp, err := (&http.Client{Timeout: 60 * time.Second}).Get(p.url + "/hold/")
		if err != nil {
			held <- 0
			return
		}
		resp.Body.Close()
		held <- resp.StatusCode
	}()
	waitFile(t, gate, p)
	// The next master's workers wait in their import.
	if err := os.WriteFile(slow, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	syscall.Kill(p.cmd.Process.Pid, syscall.SIGHUP)
	if _, ok := p.out.waitFor(regexp.MustCompile(`starting 1 worker\(s\)[^\n]*\n(?s:.*)starting 1 worker\(s\)`), 30*time.Second); !ok {
		t.Fatalf("the new master did not start its workers:\n%s", p.out)
	}
	stopped := make(chan string, 1)
	stopCode := make(chan int, 1)
	go func() {
		cmd := exec.Command(gowsgiBin, "--stop", pidfile)
		out, _ := cmd.CombinedOutput()
		stopCode <- cmd.ProcessState.ExitCode()
		stopped <- string(out)
	}()
	if _, ok := p.out.waitFor(regexp.MustCompile(`finishing in-flight requests`), 10*time.Second); !ok {
		t.Fatalf("--stop did not start a graceful stop:\n%s", p.out)
	}
	// The new master may now finish starting: it must not take over.
	os.Remove(slow)
	if _, ok := p.out.waitFor(regexp.MustCompile(`took over the listeners`), 5*time.Second); ok {
		t.Errorf("a new master took over during the stop:\n%s", p.out)
	}
	os.WriteFile(release, nil, 0o644)
	if code := <-held; code != 200 {
		t.Errorf("the request held during the stop: %d, want 200", code)
	}
	code := <-stopCode
	out := <-stopped
	failOnRaceReport(t, code, out)
	if code != 0 {
		t.Errorf("--stop: exit %d\n%s", code, out)
	}
	exitsWithin(t, p, 10*time.Second, "after --stop")
	var left []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		left = processesWith(marker)
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(left) > 0 {
		t.Errorf("processes still run after --stop said stopped:\n%s\n--stop said:\n%s\ngowsgi said:\n%s", strings.Join(left, "\n"), out, p.out)
		for _, l := range left {
			var pid int
			fmt.Sscanf(l, "%d", &pid)
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if pid := readPid(t, pidfile); pid != 0 && master.IsGowsgi(pid) {
		t.Errorf("the pidfile names a live master (pid %d) after --stop", pid)
	}
}

// TestHUPWhileStoppingDoesNotKill pins issue 13, bug 4's last part: while
// the master finished its requests after a SIGTERM, any signal, a SIGHUP
// included, killed at once. A SIGHUP (or a touch-reload) must not cut the
// requests the graceful stop waits for.
func TestHUPWhileStoppingDoesNotKill(t *testing.T) {
	dir, gate := writeGateApp(t)
	release := filepath.Join(dir, "release")
	p := startGowsgi(t, dir, []string{"GATE_FILE=" + gate, "RELEASE_FILE=" + release}, "serve", "--http", "127.0.0.1:0",
		"--module", "gate", "--python", testPython(t), "--threads", "2")
	type result struct {
		code int
		body string
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := (&http.Client{Timeout: 60 * time.Second}).Get(p.url + "/hold/")
		if err != nil {
			res <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		res <- result{code: resp.StatusCode, body: string(b)}
	}()
	waitFile(t, gate, p)
	p.cmd.Process.Signal(syscall.SIGTERM)
	if _, ok := p.out.waitFor(regexp.MustCompile(`finishing in-flight requests`), 10*time.Second); !ok {
		t.Fatalf("no graceful stop:\n%s", p.out)
	}
	p.cmd.Process.Signal(syscall.SIGHUP)
	if _, ok := p.out.waitFor(regexp.MustCompile(`SIGHUP while stopping: ignored`), 10*time.Second); !ok {
		t.Fatalf("the SIGHUP during the stop was not ignored:\n%s", p.out)
	}
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r := <-res
	if r.err != nil || r.code != 200 || r.body != "released" {
		t.Fatalf("the request in flight during the stop: %d %q %v; output:\n%s", r.code, r.body, r.err, p.out)
	}
	exitsWithin(t, p, 10*time.Second, "after the graceful stop")
}

// TestDevInterruptDuringHangingReload pins issue 13, bug 8: the dev
// signal loop waited in the reload, so a save whose import hung left
// CONTROL-C unanswered for up to 5 minutes.
func TestDevInterruptDuringHangingReload(t *testing.T) {
	dir, _ := writeGateApp(t)
	slow := filepath.Join(dir, "slow-import")
	p := startGowsgi(t, dir, []string{"SLOW_IMPORT_FILE=" + slow}, "dev", "--wsgi-file", "gate.py", "--python", testPython(t), "--http", "127.0.0.1:0")
	if err := os.WriteFile(slow, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// A save: the new generation's import hangs.
	if err := os.WriteFile(filepath.Join(dir, "gate.py"), []byte(gateApp+"\n# saved\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok := p.out.waitFor(regexp.MustCompile(`changed; starting new workers`), 20*time.Second); !ok {
		t.Fatalf("no reload after the save:\n%s", p.out)
	}
	p.cmd.Process.Signal(syscall.SIGINT)
	exitsWithin(t, p, 10*time.Second, "SIGINT during a hanging reload")
}

// TestDevHUPDuringStartup pins issue 13, bug 8: a SIGHUP while gowsgi dev
// started was dropped; it now restarts once the first generation is up.
func TestDevHUPDuringStartup(t *testing.T) {
	dir, _ := writeGateApp(t)
	slow := filepath.Join(dir, "slow-start")
	// The first import waits until the test removes the file.
	src := strings.Replace(gateApp, "    time.sleep(600)\n\ndef", "    while os.path.exists(os.environ[\"SLOW_IMPORT_FILE\"]):\n        time.sleep(0.05)\n\ndef", 1)
	if err := os.WriteFile(filepath.Join(dir, "gate.py"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(slow, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	p := launch(t, dir, []string{"SLOW_IMPORT_FILE=" + slow}, "dev", "--wsgi-file", "gate.py", "--python", testPython(t), "--http", "127.0.0.1:0")
	if _, ok := p.out.waitFor(regexp.MustCompile(`starting 1 worker\(s\)`), 30*time.Second); !ok {
		t.Fatalf("gowsgi dev did not start its workers:\n%s", p.out)
	}
	p.cmd.Process.Signal(syscall.SIGHUP)
	// The signal is taken (not the default action, exit) and kept.
	if _, ok := p.out.waitFor(regexp.MustCompile(`SIGHUP while the workers start`), 10*time.Second); !ok {
		t.Fatalf("the SIGHUP during start-up was not taken:\n%s", p.out)
	}
	os.Remove(slow)
	if _, ok := p.out.waitFor(regexp.MustCompile(`SIGHUP changed; starting new workers(?s:.*)generation 2 live`), 60*time.Second); !ok {
		t.Fatalf("the SIGHUP during start-up was dropped:\n%s", p.out)
	}
}

// TestFailedHUPKeepsTheUnixSocket: a HUP whose new master fails (the app no
// longer imports) must leave the old master's unix socket in place; the
// new master used to unlink the path it had inherited (closeListeners,
// then tableflip's Stop), and nginx got ENOENT while the old master still
// served on a socket nobody could reach. (Found by review.)
func TestFailedHUPKeepsTheUnixSocket(t *testing.T) {
	dir, _ := writeGateApp(t)
	sock := filepath.Join(dir, "app.sock")
	p := startGowsgi(t, dir, nil, "serve", "--http", "127.0.0.1:0", "--socket", sock,
		"--module", "gate", "--python", testPython(t))
	if err := os.WriteFile(filepath.Join(dir, "gate.py"), []byte("def broken(:\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	syscall.Kill(p.cmd.Process.Pid, syscall.SIGHUP)
	if _, ok := p.out.waitFor(regexp.MustCompile(`restart failed, this master keeps serving`), 60*time.Second); !ok {
		t.Fatalf("the broken restart did not fail:\n%s", p.out)
	}
	if _, err := os.Stat(sock); err != nil {
		t.Fatalf("the unix socket is gone after a failed HUP: %v\n%s", err, p.out)
	}
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatalf("the old master's unix socket does not answer: %v", err)
	}
	c.Close()
	if code, _, body := get(t, nil, p.url+"/"); code != 200 || body != "ok" {
		t.Errorf("the old master after the failed HUP: %d %q", code, body)
	}
}
