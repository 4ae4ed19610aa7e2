package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/master"
)

// tutorialINI is the ini of a typical Django deployment tutorial, typo
// included ("process" for "processes"), pointed at testdata/apps.
const tutorialINI = `[uwsgi]
http = 127.0.0.1:%d
chdir = %s
wsgi-file = all.py
process = 4
threads = 2
pidfile = %s
daemonize = %s
master = true
python = %s
`

// TestTutorialINI: `gowsgi --ini uwsgi.ini` with a tutorial's ini warns
// about the typo, detaches, serves, and `gowsgi --stop` stops it.
func TestTutorialINI(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	pidfile := filepath.Join(dir, "mysite.pid")
	logfile := filepath.Join(dir, "mysite.log")
	ini := filepath.Join(dir, "uwsgi.ini")
	os.WriteFile(ini, []byte(fmt.Sprintf(tutorialINI, port, filepath.Join(repoRoot(t), "testdata/apps"), pidfile, logfile, testPython(t))), 0o644)
	t.Cleanup(func() { killByPidfile(t, pidfile) })

	code, out := runGowsgi(t, dir, 90*time.Second, "--ini", ini)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, want := range []string{
		`uwsgi.ini:5: unknown key "process"`, `did you mean "processes"?`,
		"running in the background as pid", "logging to " + logfile,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal output lacks %q:\n%s", want, out)
		}
	}
	pid := readPid(t, pidfile)
	if pid == 0 || !master.IsGowsgi(pid) {
		t.Fatalf("pidfile %s names %d, not a running gowsgi", pidfile, pid)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	if code, _, body := get(t, nil, url+"/hello/"); code != 200 || body != "Hello, World!" {
		t.Fatalf("GET: %d %q", code, body)
	}
	log, _ := os.ReadFile(logfile)
	if !strings.Contains(string(log), "listening on http://127.0.0.1:") {
		t.Errorf("the log file lacks the ready lines:\n%s", log)
	}

	t.Run("a second start refuses", func(t *testing.T) {
		code, out := runGowsgi(t, dir, 60*time.Second, "--ini", ini)
		if code != exitUsage || !strings.Contains(out, fmt.Sprintf("already running as pid %d", pid)) {
			t.Fatalf("exit %d, output:\n%s", code, out)
		}
	})
	t.Run("--reload restarts with a new master", func(t *testing.T) {
		code, out := runGowsgi(t, dir, 30*time.Second, "--reload", pidfile)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, out)
		}
		pid = waitNewMaster(t, pidfile, pid)
		if code, _, _ := get(t, nil, url+"/hello/"); code != 200 {
			t.Fatalf("after --reload: %d", code)
		}
	})
	t.Run("--stop waits until it is gone", func(t *testing.T) {
		code, out := runGowsgi(t, dir, 90*time.Second, "--stop", pidfile)
		if code != 0 || !strings.Contains(out, fmt.Sprintf("pid %d stopped", pid)) {
			t.Fatalf("exit %d: %s", code, out)
		}
		if master.IsGowsgi(pid) {
			t.Fatalf("pid %d still runs after --stop returned", pid)
		}
		if _, err := os.Stat(pidfile); err == nil {
			t.Errorf("pidfile left behind")
		}
	})
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestStalePidfile: a pidfile whose process is gone is stale: --stop says
// so and removes it, and a new start takes it over.
func TestStalePidfile(t *testing.T) {
	dir := t.TempDir()
	pidfile := filepath.Join(dir, "app.pid")
	// A pid reused by another program since gowsgi wrote it.
	other := exec.Command("sleep", "60")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { other.Process.Kill(); other.Wait() }()
	os.WriteFile(pidfile, []byte(fmt.Sprintf("%d\n", other.Process.Pid)), 0o644)
	code, out := runGowsgi(t, dir, 30*time.Second, "--stop", pidfile)
	if code != 0 || !strings.Contains(out, "was stale") {
		t.Fatalf("--stop on a stale pidfile: exit %d: %s", code, out)
	}
	if _, err := os.Stat(pidfile); err == nil {
		t.Fatalf("the stale pidfile is still there")
	}
	code, out = runGowsgi(t, dir, 30*time.Second, "--stop", pidfile)
	if code != exitUsage || !strings.Contains(out, "no pidfile at") {
		t.Fatalf("--stop with no pidfile: exit %d: %s", code, out)
	}
	os.WriteFile(pidfile, []byte("999999999\n"), 0o644)
	p := startGowsgi(t, repoRoot(t), nil, "serve", "--http", "127.0.0.1:0", "--chdir", "testdata/apps",
		"--wsgi-file", "hello.py", "--python", testPython(t), "--pidfile", pidfile)
	if pid := readPid(t, pidfile); pid != p.cmd.Process.Pid {
		t.Fatalf("pidfile names %d after a start over a stale one, want %d", pid, p.cmd.Process.Pid)
	}
}

// TestDaemonizeTakenPort: a detached start whose port is taken fails on
// the terminal, not only in the log file.
func TestDaemonizeTakenPort(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	code, out := runGowsgi(t, repoRoot(t), 60*time.Second, "serve", "--http", busy.Addr().String(), "--chdir", "testdata/apps",
		"--wsgi-file", "hello.py", "--python", testPython(t), "--daemonize", filepath.Join(dir, "log"), "--pidfile", filepath.Join(dir, "pid"))
	if code != exitError || !strings.Contains(out, "address already in use") || !strings.Contains(out, "hint:") {
		t.Fatalf("exit %d, output:\n%s", code, out)
	}
}

// TestHarakiriAndMaxRequests: a stuck request gets 504 and its worker is
// replaced, with the path and the Python stack logged; a worker retires
// after max-requests without failing a request.
func TestHarakiriAndMaxRequests(t *testing.T) {
	p := startGowsgi(t, repoRoot(t), nil, "serve", "--http", "127.0.0.1:0", "--chdir", "testdata/apps",
		"--wsgi-file", "all.py", "--processes", "1", "--threads", "2", "--python", testPython(t),
		"--harakiri", "1", "--max-requests", "5")
	t.Run("harakiri", func(t *testing.T) {
		code, closed := getOrClosed(t, p.url+"/slow/?s=30")
		wantWorkerGone(t, p, "stuck request", code, closed, 504)
		for _, re := range []string{`harakiri: worker \d+ \(gen 1, pid \d+\) thread \d stuck on /slow/`, `thread \d stack:`, `time.sleep|slow.py`} {
			if _, ok := p.out.waitFor(regexp.MustCompile(re), 10*time.Second); !ok {
				t.Errorf("log lacks %s:\n%s", re, p.out)
			}
		}
		if code, _, _ := get(t, nil, p.url+"/hello/"); code != 200 {
			t.Fatalf("after harakiri: %d", code)
		}
	})
	t.Run("max-requests", func(t *testing.T) {
		pids := map[string]bool{}
		for i := 0; i < 12; i++ {
			code, _, body := get(t, nil, p.url+"/pid/")
			if code != 200 {
				t.Fatalf("request %d: %d", i, code)
			}
			pids[body] = true
		}
		if len(pids) < 2 {
			t.Fatalf("12 requests with max-requests 5 all went to %v", pids)
		}
		if !strings.Contains(p.out.String(), "max-requests reached") {
			t.Errorf("no retirement logged")
		}
	})
}

// TestUnixSocketPermissions: chmod-socket sets the mode of a unix socket.
func TestUnixSocketPermissions(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "app.sock")
	p := launch(t, repoRoot(t), nil, "serve", "--http", sock, "--chmod-socket", "660", "--chdir", "testdata/apps",
		"--wsgi-file", "hello.py", "--python", testPython(t))
	if _, ok := p.out.waitFor(regexp.MustCompile(`listening on unix:`), 60*time.Second); !ok {
		t.Fatalf("not ready:\n%s", p.out)
	}
	st, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o660 {
		t.Fatalf("socket mode %v, want 0660", st.Mode().Perm())
	}
}

// TestStaleUnixSocket: a socket file left by a crashed run is replaced;
// one that something still answers on is not.
func TestStaleUnixSocket(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "app.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("live socket refused", func(t *testing.T) {
		code, out := runGowsgi(t, repoRoot(t), 60*time.Second, "serve", "--socket", sock, "--chdir", "testdata/apps",
			"--wsgi-file", "hello.py", "--python", testPython(t))
		if code != exitError || !strings.Contains(out, "address already in use") {
			t.Fatalf("exit %d: %s", code, out)
		}
	})
	// A crash leaves the file behind: close without unlinking it.
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Stat(sock); err != nil {
		t.Fatal(err)
	}
	t.Run("stale socket replaced", func(t *testing.T) {
		p := launch(t, repoRoot(t), nil, "serve", "--socket", sock, "--chdir", "testdata/apps",
			"--wsgi-file", "hello.py", "--python", testPython(t))
		if _, ok := p.out.waitFor(regexp.MustCompile(`listening on uwsgi://unix:`), 60*time.Second, p.done); !ok {
			t.Fatalf("did not start over a stale socket:\n%s", p.out)
		}
	})
}
