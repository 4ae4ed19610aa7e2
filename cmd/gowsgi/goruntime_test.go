package main

import (
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

// TestGoRuntimeFallsBack: an app that holds a Go runtime of its own (it
// loads a Go c-shared library at import, testdata/gogo) cannot have the
// engine, a second one (golang/go#18976). With engine = auto the start line
// names the proxy path and why, once, and the app answers through the
// master, whether the zygote imports the app or each worker does
// (lazy-apps); with engine = on the start fails and says what to do.
func TestGoRuntimeFallsBack(t *testing.T) {
	lib := buildGoLib(t)
	env := []string{"GOWSGI_ENGINE=", "GOGO_LIB=" + lib}
	app := []string{"--chdir", "testdata/gogo", "--wsgi-file", "app.py", "--python", testPython(t)}
	why := regexp.MustCompile(`gowsgi: the master serves the connections \(proxy path\): ` +
		regexp.QuoteMeta(lib) + ` is built with Go and a process holds one Go runtime \(golang/go#18976\)`)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"zygote imports the app", nil},
		{"each worker imports the app", []string{"--lazy-apps"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"serve", "--http", "127.0.0.1:0", "--processes", "2"}, app...), tc.args...)
			p := startGowsgi(t, repoRoot(t), env, args...)
			out := p.out.String()
			if !why.MatchString(out) || p.engine() {
				t.Fatalf("the start line does not name the proxy path and why:\n%s", out)
			}
			if n := strings.Count(out, "is built with Go"); n != 1 {
				t.Fatalf("the reason is logged %d times, want once:\n%s", n, out)
			}
			for i := 0; i < 4; i++ {
				if code, _, body := get(t, nil, p.url+"/"); code != 200 || body != "42" {
					t.Fatalf("GET / answered %d %q, want 200 \"42\"", code, body)
				}
			}
		})
	}
	t.Run("kill -HUP decides again", func(t *testing.T) {
		pidfile := filepath.Join(t.TempDir(), "gowsgi.pid")
		args := append([]string{"serve", "--http", "127.0.0.1:0", "--pidfile", pidfile}, app...)
		p := startGowsgi(t, repoRoot(t), env, args...)
		t.Cleanup(func() { killByPidfile(t, pidfile) })
		old := readPid(t, pidfile)
		syscall.Kill(old, syscall.SIGHUP)
		pid := waitNewMaster(t, pidfile, old)
		if code := p.wait(10 * time.Second); code != 0 {
			t.Errorf("the first master exited %d after handing over", code)
		}
		out := p.out.String()
		if n := len(why.FindAllString(out, -1)); n != 2 || p.engine() {
			t.Fatalf("%d fallback lines, want one per master:\n%s", n, out)
		}
		if code, _, body := get(t, nil, p.url+"/"); code != 200 || body != "42" {
			t.Fatalf("GET / answered %d %q after the HUP, want 200 \"42\"", code, body)
		}
		// The new master took its sockets from the old one: they must
		// not be left blocking either, or it stops only on SIGKILL.
		syscall.Kill(pid, syscall.SIGTERM)
		for deadline := time.Now().Add(15 * time.Second); master.IsGowsgi(pid); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the new master (pid %d) did not stop on SIGTERM within 15s:\n%s", pid, p.out)
			}
		}
	})
	t.Run("engine = on", func(t *testing.T) {
		code, out := runGowsgiEnv(t, env, append([]string{"serve", "--engine", "on", "--http", "127.0.0.1:0"}, app...)...)
		if code == 0 || !strings.Contains(out, "the in-worker engine cannot run here: "+lib+" is built with Go") ||
			!strings.Contains(out, "set engine = off") {
			t.Fatalf("exit %d, output:\n%s", code, out)
		}
	})
}

// buildGoLib builds testdata/gogo as a c-shared library.
func buildGoLib(t *testing.T) string {
	t.Helper()
	lib := filepath.Join(t.TempDir(), "libgogo.so")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", lib, ".")
	cmd.Dir = filepath.Join(repoRoot(t), "testdata", "gogo")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1", "GOFLAGS=", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the Go library: %v\n%s", err, out)
	}
	return lib
}

// TestGoRuntimeInADevReload: a save that makes the app load a Go runtime
// of its own (here version.py loads testdata/gogo's library) cannot be
// served by the engine's dev workers. The reload fails, says so and what
// to do (a new start serves through the master), and the generation that
// serves keeps serving the code it has.
func TestGoRuntimeInADevReload(t *testing.T) {
	lib := buildGoLib(t)
	dir := copyMysite(t)
	p := startGowsgi(t, dir, []string{"GOGO_LIB=" + lib}, "dev", ".", "127.0.0.1:0", "--python", testPython(t))
	if !p.engine() {
		t.Skip("the proxy path serves (GOWSGI_ENGINE=off): a Go runtime is nothing to it")
	}
	saveFile(t, filepath.Join(dir, "mysite", "version.py"),
		"import ctypes, os\nctypes.CDLL(os.environ['GOGO_LIB']).gogo_answer()\nVERSION = \"2\"\n")
	hint := regexp.MustCompile(`reload failed: .*` + regexp.QuoteMeta(lib) + ` is built with Go.*; ` +
		`restart gowsgi dev to serve through the master`)
	if _, ok := p.out.waitFor(hint, 30*time.Second); !ok {
		t.Fatalf("no failed reload that says what to do; output:\n%s", p.out)
	}
	if code, _, body := get(t, nil, p.url+"/version/"); code != 200 || body != "1" {
		t.Errorf("/version/ after the failed reload: %d %q, want the old generation's 200 \"1\"\n%s", code, body, p.out)
	}
	// The given-up generation's worker is killed by the manager itself: its
	// exit is no mystery to log (it read "out of memory (see dmesg)?").
	time.Sleep(500 * time.Millisecond)
	if out := p.out.String(); strings.Contains(out, "killed by SIGKILL") {
		t.Errorf("the given-up worker's kill is logged as an unexplained SIGKILL:\n%s", out)
	}
}
