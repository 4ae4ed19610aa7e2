package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestDropPrivileges: with uid/gid the master binds as root, then the
// master and every worker run as the named user; app code never runs as
// root.
func TestDropPrivileges(t *testing.T) {
	if os.Getuid() != 0 {
		t.Fatal("this test switches users: run it as root (CI does)")
	}
	// The virtualenv lives under /root, which nobody cannot enter; the
	// apps need only the standard library, so the system python serves.
	python := "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("%s is needed to run workers as nobody: install python3 (make test's machines have it)", python)
	}
	// nobody must be able to enter the app's directory, and a checkout
	// may sit in a directory only root enters (mktemp -d makes it 0700):
	// the apps are copied to one of their own.
	apps := t.TempDir()
	if err := os.Chmod(apps, 0o755); err != nil {
		t.Fatal(err)
	}
	for dir := filepath.Dir(apps); dir != "/" && dir != os.TempDir(); dir = filepath.Dir(dir) {
		os.Chmod(dir, 0o755) // the test's own temporary directories
	}
	files, _ := filepath.Glob(filepath.Join(repoRoot(t), "testdata", "apps", "*.py"))
	if len(files) == 0 {
		t.Fatal("no apps in testdata/apps")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(apps, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := startGowsgi(t, apps, nil, "serve", "--http", "127.0.0.1:0", "--chdir", apps,
		"--wsgi-file", "all.py", "--python", python, "--uid", "nobody", "--gid", "nogroup", "--processes", "2")
	code, _, body := get(t, nil, p.url+"/ids/")
	if code != 200 || body != "65534 65534" {
		t.Fatalf("worker ids: %d %q, want \"65534 65534\"", code, body)
	}
	st, err := os.ReadFile("/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(st), "\n") {
		if strings.HasPrefix(line, "Uid:") && !strings.HasPrefix(strings.Join(strings.Fields(line)[1:], " "), "65534 65534 65534") {
			t.Errorf("master still has %s", line)
		}
	}
	// The zygote and both workers must be looked at: a loop over no
	// process, or over unreadable ones, would pass (issue 13, bug 6).
	kids := descendants(p.cmd.Process.Pid)
	if len(kids) < 3 {
		t.Fatalf("expected a zygote and 2 workers below the master, found %v", kids)
	}
	for _, k := range kids {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(k) + "/status")
		if err != nil || !strings.Contains(string(b), "\nUid:\t") {
			t.Fatalf("reading the status of python process %d: %v", k, err)
		}
		if strings.Contains(string(b), "\nUid:\t0\t") {
			t.Errorf("python process %d runs as root", k)
		}
	}
	t.Run("an unknown user is a clear error", func(t *testing.T) {
		code, out := runGowsgi(t, repoRoot(t), 30e9, "serve", "--http", "127.0.0.1:0", "--chdir", "testdata/apps",
			"--wsgi-file", "hello.py", "--python", testPython(t), "--uid", "no-such-user-gowsgi")
		if code != exitUsage || !strings.Contains(out, "uid no-such-user-gowsgi: no such user") {
			t.Fatalf("exit %d: %s", code, out)
		}
	})
}
