package main

// Tests of touch-reload and py-autoreload: both start the same zero-downtime
// restart as a SIGHUP (a new master takes the listeners over), named after
// the option that asked for it.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/master"
)

// lastReloadTrigger reads the status page's last reload.
func lastReloadTrigger(t *testing.T, stats string) string {
	t.Helper()
	var doc master.StatusDoc
	_, _, body := get(t, nil, stats+"/status.json")
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("status.json: %v\n%s", err, body)
	}
	if doc.LastReload == nil {
		return ""
	}
	return doc.LastReload.Trigger
}

func TestTouchReload(t *testing.T) {
	dir := t.TempDir()
	pidfile := filepath.Join(dir, "gowsgi.pid")
	touch := filepath.Join(dir, "reload.touch")
	if err := os.WriteFile(touch, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	p, stats := startAppsWithStats(t, "--pidfile", pidfile, "--touch-reload", touch)
	t.Cleanup(func() { killByPidfile(t, pidfile) })
	old := readPid(t, pidfile)
	if err := os.Chtimes(touch, time.Now(), time.Now()); err != nil {
		t.Fatal(err)
	}
	waitNewMaster(t, pidfile, old)
	if !strings.Contains(p.out.String(), "touch-reload: starting a new master") {
		t.Errorf("no touch-reload restart in the log:\n%s", p.out)
	}
	if tr := lastReloadTrigger(t, stats); !strings.HasPrefix(tr, "touch-reload") {
		t.Errorf("status page trigger %q, want touch-reload", tr)
	}
	if code, _, body := get(t, nil, p.url+"/hello/"); code != 200 || body != "Hello, World!" {
		t.Errorf("after the restart: %d %q", code, body)
	}
}

func TestPyAutoreload(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app.py")
	write := func(body string) {
		src := "def application(environ, start_response):\n" +
			"    start_response('200 OK', [('Content-Type', 'text/plain')])\n" +
			"    return [b'" + body + "']\n"
		if err := os.WriteFile(app, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("version 1")
	pidfile := filepath.Join(t.TempDir(), "gowsgi.pid")
	p := startGowsgi(t, dir, nil, "serve", "--http", "127.0.0.1:0", "--module", "app", "--python", testPython(t),
		"--pidfile", pidfile, "--py-autoreload", "1")
	t.Cleanup(func() { killByPidfile(t, pidfile) })
	if _, _, body := get(t, nil, p.url+"/"); body != "version 1" {
		t.Fatalf("before: %q", body)
	}
	old := readPid(t, pidfile)
	write("version 2")
	waitNewMaster(t, pidfile, old)
	if !strings.Contains(p.out.String(), "py-autoreload: starting a new master") {
		t.Errorf("no py-autoreload restart in the log:\n%s", p.out)
	}
	if code, _, body := get(t, nil, p.url+"/"); code != 200 || body != "version 2" {
		t.Errorf("after the restart: %d %q, want the new code", code, body)
	}
}
