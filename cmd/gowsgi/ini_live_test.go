package main

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// iniLiveDir holds the ini files and the factory app of these tests.
func iniLiveDir(t *testing.T) string {
	return filepath.Join(repoRoot(t), "testdata", "ini", "live")
}

// iniEnv is what the live ini files read through $(VAR).
func iniEnv(t *testing.T, more ...string) []string {
	return append([]string{"GOWSGI_TEST_DIR=" + iniLiveDir(t), "GOWSGI_TEST_PY=" + testPython(t)}, more...)
}

// TestINIProtocolHTTP: issue 17: "protocol = http" on a socket served the
// uwsgi protocol where uWSGI serves HTTP. The same file calls a module's
// app factory, adds a header and logs with uWSGI's %(var)s.
func TestINIProtocolHTTP(t *testing.T) {
	ini := filepath.Join(iniLiveDir(t), "protocol-http.ini")
	p := startGowsgi(t, t.TempDir(), iniEnv(t), "--ini", ini)
	code, hdr, body := get(t, nil, p.url+"/x?y=1")
	if code != 200 || body != "made by the factory" {
		t.Fatalf("GET over HTTP on the socket: %d %q\n%s", code, body, p.out)
	}
	if got := hdr.Get("X-Served-By"); got != "gowsgi" {
		t.Errorf("add-header: X-Served-By = %q", got)
	}
	line := regexp.MustCompile(`uwsgi-vars GET /x\?y=1 200 HTTP/1\.1 addr=127\.0\.0\.1 ms=\d+`)
	if _, ok := p.out.waitFor(line, 10*time.Second); !ok {
		t.Errorf("no access line in uWSGI's log-format; output:\n%s", p.out)
	}
	if !strings.Contains(p.out.String(), `processes = "1   ; one is enough here": uWSGI reads 1`) {
		t.Errorf("no warning about the end-of-line comment; output:\n%s", p.out)
	}
	// It is not the uwsgi protocol: an nginx-style packet gets no uwsgi
	// answer (net/http answers 400 to the binary bytes).
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte{0, 0, 0, 0})
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if status, _ := bufio.NewReader(c).ReadString('\n'); !strings.HasPrefix(status, "HTTP/1.1 400") {
		t.Errorf("a uwsgi packet got %q, want net/http's 400", status)
	}
}

// TestINIIfEnv: if-env / if-not-env follow the environment gowsgi starts
// in (issue 17: gowsgi refused such files).
func TestINIIfEnv(t *testing.T) {
	ini := filepath.Join(iniLiveDir(t), "if-env.ini")
	for _, tc := range []struct {
		name string
		env  []string
		want string
	}{
		{name: "set", env: []string{"GOWSGI_TEST_BRANCH=blue"}, want: "set to blue"},
		{name: "unset", want: "unset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := iniEnv(t, tc.env...)
			p := startGowsgi(t, t.TempDir(), env, "--ini", ini)
			code, hdr, _ := get(t, nil, p.url+"/")
			if code != 200 || hdr.Get("X-Branch") != tc.want {
				t.Fatalf("GET: %d, X-Branch %q, want %q\n%s", code, hdr.Get("X-Branch"), tc.want, p.out)
			}
		})
	}
}

// TestINIInheritance: ini = another file, and ini = FILE:section, are read
// in place (issue 17: gowsgi refused them); --print-config-sources names
// the file and line of each value.
func TestINIInheritance(t *testing.T) {
	ini := filepath.Join(iniLiveDir(t), "inherit-main.ini")
	p := startGowsgi(t, t.TempDir(), iniEnv(t), "--ini", ini)
	code, hdr, body := get(t, nil, p.url+"/")
	if code != 200 || body != "made by the factory" {
		t.Fatalf("GET: %d %q\n%s", code, body, p.out)
	}
	if got := hdr.Values("X-From"); strings.Join(got, ",") != "base,main" {
		t.Errorf("X-From = %q, want the base file's then the main file's", got)
	}
	if got := hdr.Get("X-Section"); got != "extra" {
		t.Errorf("X-Section = %q: ini = FILE:extra was not read", got)
	}

	cmd := launch(t, t.TempDir(), iniEnv(t), "serve", "--ini", ini, "--print-config-sources", "--processes", "3")
	if code := cmd.wait(30 * time.Second); code != 0 {
		t.Fatalf("--print-config-sources: exit %d\n%s", code, cmd.out)
	}
	out := cmd.out.String()
	var got struct {
		Config  map[string]any      `json:"config"`
		Sources map[string][]string `json:"sources"`
	}
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	base := filepath.Join(iniLiveDir(t), "inherit-base.ini")
	if m := got.Sources["module"]; len(m) != 1 || m[0] != base+":5" {
		t.Errorf("module's source = %v, want %s:5", m, base)
	}
	if m := got.Sources["processes"]; len(m) != 1 || m[0] != "--processes" {
		t.Errorf("processes' source = %v, want --processes", m)
	}
	if got.Config["processes"] != float64(3) {
		t.Errorf("processes = %v", got.Config["processes"])
	}
}

// TestINIEnvironment: UWSGI_* variables are options, as container images
// set them (UWSGI_PROCESSES=2), and a file given later wins.
func TestINIEnvironment(t *testing.T) {
	ini := filepath.Join(iniLiveDir(t), "if-env.ini")
	cmd := launch(t, t.TempDir(), iniEnv(t, "UWSGI_PROCESSES=2", "UWSGI_SOCKET=127.0.0.1:0", "UWSGI_THREADS=3"), "serve", "--ini", ini, "--print-config")
	if code := cmd.wait(30 * time.Second); code != 0 {
		t.Fatalf("exit %d\n%s", code, cmd.out)
	}
	out := cmd.out.String()
	var cfg map[string]any
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &cfg); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if cfg["processes"] != float64(2) || cfg["threads"] != float64(3) {
		t.Errorf("processes %v threads %v, want 2 and 3 from UWSGI_PROCESSES and UWSGI_THREADS", cfg["processes"], cfg["threads"])
	}
	// The environment's socket and the file's http both listen.
	if s, _ := cfg["socket"].([]any); len(s) != 1 {
		t.Errorf("socket = %v, want UWSGI_SOCKET's", cfg["socket"])
	}
	if h, _ := cfg["http"].([]any); len(h) != 1 {
		t.Errorf("http = %v, want the file's", cfg["http"])
	}
}

// TestINIWorkerLifetimeAndLog4xx: max-worker-lifetime retires a worker
// gracefully once it has run that long, and with disable-logging only the
// requests log-4xx names are logged.
func TestINIWorkerLifetimeAndLog4xx(t *testing.T) {
	dir := t.TempDir()
	ini := filepath.Join(dir, "uwsgi.ini")
	text := "[uwsgi]\nhttp = 127.0.0.1:0\nchdir = " + filepath.Join(repoRoot(t), "testdata", "apps") + "\nwsgi-file = all.py\n" +
		"python = " + testPython(t) + "\nmax-worker-lifetime = 2\ndisable-logging = true\nlog-4xx = true\n" +
		"log-format = logged %(status) %(uri)\n"
	if err := os.WriteFile(ini, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startGowsgi(t, dir, nil, "--ini", ini)
	get(t, nil, p.url+"/hello/")
	get(t, nil, p.url+"/no-such-page-404")
	if _, ok := p.out.waitFor(regexp.MustCompile(`retiring worker .*max-worker-lifetime: it has run for`), 20*time.Second); !ok {
		t.Fatalf("no max-worker-lifetime retirement; output:\n%s", p.out)
	}
	if _, ok := p.out.waitFor(regexp.MustCompile(`logged 404 /no-such-page-404`), 10*time.Second); !ok {
		t.Errorf("the 404 was not logged (log-4xx); output:\n%s", p.out)
	}
	out := p.out.String()
	if strings.Contains(out, "logged 200") {
		t.Errorf("a 200 was logged with disable-logging:\n%s", out)
	}
	if code, _, _ := get(t, nil, p.url+"/hello/"); code != 200 {
		t.Errorf("after the retirement: %d", code)
	}
}

// TestINIEnvironmentOnly: a bare `gowsgi` configured by UWSGI_* variables
// alone serves, as uwsgi does in container images.
func TestINIEnvironmentOnly(t *testing.T) {
	p := startGowsgi(t, t.TempDir(), []string{
		"UWSGI_HTTP_SOCKET=127.0.0.1:0", "UWSGI_CHDIR=" + iniLiveDir(t), "UWSGI_MODULE=factory_app:create_app()",
		"UWSGI_PYTHON=" + testPython(t),
	})
	if code, _, body := get(t, nil, p.url+"/"); code != 200 || body != "made by the factory" {
		t.Fatalf("GET: %d %q\n%s", code, body, p.out)
	}
}

// TestINILogDate: logdate dates the server's own messages, as uWSGI's
// does (uwsgi_log), not only the access lines: the master's, the engine's
// (a refused request) and the Python worker's (an app error after the
// headers went out), each line once. The app's traceback stays as it is.
func TestINILogDate(t *testing.T) {
	dir := t.TempDir()
	ini := filepath.Join(dir, "uwsgi.ini")
	text := "[uwsgi]\nhttp = 127.0.0.1:0\nchdir = " + filepath.Join(repoRoot(t), "testdata", "apps") + "\nwsgi-file = all.py\n" +
		"python = " + testPython(t) + "\nlogdate = %%Y-%%m-%%d %%H:%%M:%%S\n"
	if err := os.WriteFile(ini, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startGowsgi(t, dir, nil, "--ini", ini)
	date := `(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d - `
	resp, err := http.Get(p.url + "/exc_info/?mode=after") // cut short: the body is not read
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("\r\n\r\nGET / HTTP/1.1\r\n\r\n")) // an empty request line
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	status, _ := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if !strings.HasPrefix(status, "HTTP/1.1 400") {
		t.Fatalf("an empty request line got %q, want 400", status)
	}
	for what, re := range map[string]string{
		"the master's start":  date + `gowsgi: starting 1 worker\(s\)`,
		"the master's listen": date + `gowsgi: listening on http://`,
		"the worker's error":  date + `gowsgi: error after the response to GET /exc_info/ started:\n`,
		"the refused request": date + `gowsgi: (http: )?refused a request from 127\.0\.0\.1:\d+: `,
		"the access line":     date + `.*GET /exc_info/\?mode=after`,
	} {
		if _, ok := p.out.waitFor(regexp.MustCompile(re), 10*time.Second); !ok {
			t.Errorf("%s is not dated; output:\n%s", what, p.out)
		}
	}
	if out := p.out.String(); regexp.MustCompile(date + `\d{4}-`).MatchString(out) {
		t.Errorf("a line dated twice:\n%s", out)
	} else if !regexp.MustCompile(`(?m)^Traceback \(most recent call last\):`).MatchString(out) {
		t.Errorf("the app's traceback is not written as it is:\n%s", out)
	}
}

// TestHUPIfReload: the master a kill -HUP starts reads its ini as a
// reload, as uWSGI's re-exec does: its if-reload blocks apply, the first
// master's if-not-reload ones, and $(UWSGI_RELOADS) counts the restarts
// (before, if-reload never applied).
func TestHUPIfReload(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "gowsgi.pid")
	ini := filepath.Join(iniLiveDir(t), "if-reload.ini")
	p := startGowsgi(t, t.TempDir(), iniEnv(t, "GOWSGI_TEST_PIDFILE="+pidfile), "--ini", ini)
	t.Cleanup(func() { killByPidfile(t, pidfile) })
	check := func(start, reloads string) {
		t.Helper()
		code, hdr, _ := get(t, nil, p.url+"/")
		if code != 200 || hdr.Get("X-Start") != start || hdr.Get("X-Reloads") != reloads {
			t.Fatalf("GET: %d, X-Start %q, X-Reloads %q; want %q, %q\n%s", code, hdr.Get("X-Start"), hdr.Get("X-Reloads"), start, reloads, p.out)
		}
	}
	check("first", "0")
	pid := readPid(t, pidfile)
	for i := 1; i <= 2; i++ {
		if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		pid = waitNewMaster(t, pidfile, pid)
		check("reload", strconv.Itoa(i))
	}
}
