package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
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

// These tests are about the in-worker engine itself (issue 14): which path
// serves, balancing, harakiri. The other integration tests run on the
// engine by default and again on the proxy path with GOWSGI_ENGINE=off
// (make test).

var engineRE = regexp.MustCompile(`the workers serve the connections \(in-worker engine\)`)

// TestEngineServes: with the defaults the workers serve, and the log
// says so; engine = off and an https listener take the proxy path and say
// why; engine = on where the engine cannot run fails the start.
func TestEngineServes(t *testing.T) {
	t.Run("auto", func(t *testing.T) {
		p := startGowsgi(t, repoRoot(t), []string{"GOWSGI_ENGINE="}, "serve", "--http", "127.0.0.1:0",
			"--chdir", "testdata/apps", "--wsgi-file", "all.py", "--python", testPython(t))
		if !engineRE.MatchString(p.out.String()) {
			t.Fatalf("the log does not say the engine serves:\n%s", p.out)
		}
		resp, err := http.Get(p.url + "/hello/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	t.Run("off", func(t *testing.T) {
		// --engine off named no path at all: only auto's fallback logged one.
		p := startGowsgi(t, repoRoot(t), []string{"GOWSGI_ENGINE="}, "serve", "--engine", "off", "--http", "127.0.0.1:0",
			"--chdir", "testdata/apps", "--wsgi-file", "all.py", "--python", testPython(t))
		if !strings.Contains(p.out.String(), "gowsgi: the master serves the connections (proxy path): engine = off\n") {
			t.Fatalf("the log does not say the master serves because engine = off:\n%s", p.out)
		}
	})
	t.Run("unloadable library falls back", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "libgowsgi-engine.so")
		if err := os.WriteFile(bad, []byte("not a library"), 0o755); err != nil {
			t.Fatal(err)
		}
		p := startGowsgi(t, repoRoot(t), []string{"GOWSGI_ENGINE=", "GOWSGI_ENGINE_LIB=" + bad}, "serve", "--http", "127.0.0.1:0",
			"--chdir", "testdata/apps", "--wsgi-file", "all.py", "--python", testPython(t))
		want := regexp.MustCompile(`the master serves the connections \(proxy path\): .*cannot load the engine library \(OSError: .*libgowsgi-engine.so: `)
		if !want.MatchString(p.out.String()) {
			t.Fatalf("the log does not say why the engine cannot serve:\n%s", p.out)
		}
		if n := strings.Count(p.out.String(), "cannot load the engine"); n != 1 {
			t.Fatalf("the reason is logged %d times, want once:\n%s", n, p.out)
		}
		resp, err := http.Get(p.url + "/hello/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("the fallback answered %d", resp.StatusCode)
		}
	})
	t.Run("on where it cannot run", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "libgowsgi-engine.so")
		os.WriteFile(bad, []byte("not a library"), 0o755)
		code, out := runGowsgiEnv(t, []string{"GOWSGI_ENGINE_LIB=" + bad}, "serve", "--engine", "on", "--http", "127.0.0.1:0",
			"--chdir", "testdata/apps", "--wsgi-file", "all.py", "--python", testPython(t))
		if code == 0 || !strings.Contains(out, "the in-worker engine cannot run here") || !strings.Contains(out, "set engine = auto or off") {
			t.Fatalf("exit %d, output:\n%s", code, out)
		}
	})
}

// runGowsgiEnv runs gowsgi to its end with env added.
func runGowsgiEnv(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	p := launch(t, repoRoot(t), env, args...)
	return p.wait(60 * time.Second), p.out.String()
}

// TestEngineBalance: 32 keep-alive connections opened at once over 2
// workers: neither worker gets more than 2/3 of them (the scoreboard's
// balancing; a greedy accept gave one worker 29-32 of 32).
func TestEngineBalance(t *testing.T) {
	p := startGowsgi(t, repoRoot(t), []string{"GOWSGI_ENGINE=on"}, "serve", "--http", "127.0.0.1:0",
		"--chdir", "testdata/apps", "--wsgi-file", "all.py", "--processes", "2", "--threads", "1", "--python", testPython(t))
	const conns = 32
	type result struct {
		pid string
		err error
	}
	results := make(chan result, conns)
	start := make(chan struct{})
	var open []net.Conn
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	for i := 0; i < conns; i++ {
		c, err := net.Dial("tcp", p.addr)
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, c)
		go func(c net.Conn) {
			<-start
			c.SetDeadline(time.Now().Add(20 * time.Second))
			br := bufio.NewReader(c)
			var pid string
			for n := 0; n < 3; n++ {
				if _, err := io.WriteString(c, "GET /pid/ HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
					results <- result{err: err}
					return
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					results <- result{err: err}
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if pid != "" && string(b) != pid {
					results <- result{err: fmt.Errorf("one connection was served by pids %s and %s", pid, b)}
					return
				}
				pid = string(b)
			}
			results <- result{pid: pid}
		}(c)
	}
	close(start)
	per := map[string]int{}
	for i := 0; i < conns; i++ {
		r := <-results
		if r.err != nil {
			t.Fatal(r.err)
		}
		per[r.pid]++
	}
	if len(per) != 2 {
		t.Fatalf("connections per worker %v: want both workers serving", per)
	}
	for pid, n := range per {
		if n > conns*2/3 {
			t.Fatalf("worker %s holds %d of %d connections (more than 2/3): %v", pid, n, conns, per)
		}
	}
	t.Logf("connections per worker: %v", per)
}

// TestEngineHarakiri: a request that runs past harakiri ends its worker
// and that worker's connections, as in uWSGI; the log says so, a new
// worker replaces it, and the other worker's clients see nothing.
func TestEngineHarakiri(t *testing.T) {
	p := startGowsgi(t, repoRoot(t), []string{"GOWSGI_ENGINE=on"}, "serve", "--http", "127.0.0.1:0",
		"--chdir", "testdata/apps", "--wsgi-file", "all.py", "--processes", "2", "--threads", "1",
		"--harakiri", "2", "--python", testPython(t))
	pidFile := filepath.Join(t.TempDir(), "pid")
	done := make(chan error, 1)
	go func() {
		c, err := net.Dial("tcp", p.addr)
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		fmt.Fprintf(c, "GET /pid_slow/?s=30&file=%s HTTP/1.1\r\nHost: x\r\n\r\n", pidFile)
		_, err = http.ReadResponse(bufio.NewReader(c), nil)
		done <- err
	}()
	var victim string
	for deadline := time.Now().Add(10 * time.Second); victim == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		b, _ := os.ReadFile(pidFile)
		victim = string(b)
	}
	if victim == "" {
		t.Fatal("the slow request never started")
	}
	want := regexp.MustCompile(`harakiri: worker \d+ \(gen 1, pid ` + victim + `\) thread 0 stuck on /pid_slow/ for more than 2s; killing it and its connections`)
	if _, ok := p.out.waitFor(want, 15*time.Second); !ok {
		t.Fatalf("no harakiri line for worker %s:\n%s", victim, p.out)
	}
	if err := <-done; err == nil {
		t.Fatal("the harakiri'd request got a response; want its connection closed")
	}
	if _, ok := p.out.waitFor(regexp.MustCompile(`pid `+victim+`\)? killed by SIGKILL`), 10*time.Second); !ok {
		t.Fatalf("the master never saw worker %s die:\n%s", victim, p.out)
	}
	// The server goes on.
	for i := 0; i < 10; i++ {
		resp, err := http.Get(p.url + "/hello/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("after the harakiri: status %d", resp.StatusCode)
		}
	}
}

// TestEngineSlowUpload: a 5 MiB upload sent slowly to a worker with one
// thread leaves that thread free: a GET on another connection is answered
// in the middle of it (issue 14: the engine spools the body as it
// arrives; before, the thread read it from the socket and the GET waited
// for the upload's end). The body reaches the app whole, and nothing is
// left in TMPDIR or open in the worker afterwards.
func TestEngineSlowUpload(t *testing.T) {
	for _, chunked := range []bool{false, true} {
		name := "Content-Length"
		if chunked {
			name = "chunked"
		}
		t.Run(name, func(t *testing.T) {
			tmp := t.TempDir()
			p := startGowsgi(t, repoRoot(t), []string{"GOWSGI_ENGINE=on", "TMPDIR=" + tmp}, "serve", "--http", "127.0.0.1:0",
				"--chdir", "testdata/apps", "--wsgi-file", "all.py", "--processes", "1", "--threads", "1", "--python", testPython(t))
			_, _, pid := get(t, http.DefaultClient, p.url+"/pid/")
			spooled := func() int {
				fds, _ := os.ReadDir("/proc/" + pid + "/fd")
				n := 0
				for _, fd := range fds {
					if l, err := os.Readlink("/proc/" + pid + "/fd/" + fd.Name()); err == nil && strings.HasPrefix(l, filepath.Join(tmp, "gowsgi-body-")) {
						n++
					}
				}
				return n
			}
			c, err := net.Dial("tcp", p.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(60 * time.Second))
			const size, piece = 5 << 20, 64 << 10
			framing := fmt.Sprintf("Content-Length: %d", size)
			if chunked {
				framing = "Transfer-Encoding: chunked"
			}
			fmt.Fprintf(c, "POST /echo/ HTTP/1.1\r\nHost: x\r\n%s\r\n\r\n", framing)
			sum := sha256.New()
			buf := make([]byte, piece)
			for sent := 0; sent < size; sent += piece {
				for i := range buf {
					buf[i] = byte((sent + i) % 251)
				}
				sum.Write(buf)
				out := buf
				if chunked {
					out = append(append([]byte(fmt.Sprintf("%x\r\n", piece)), buf...), "\r\n"...)
				}
				if _, err := c.Write(out); err != nil {
					t.Fatal(err)
				}
				if sent == 2<<20 {
					for deadline := time.Now().Add(5 * time.Second); spooled() != 1; time.Sleep(5 * time.Millisecond) {
						if time.Now().After(deadline) {
							t.Fatalf("the worker holds %d request body files mid-upload, want 1 (the spool)", spooled())
						}
					}
					client := &http.Client{Timeout: 3 * time.Second}
					resp, err := client.Get(p.url + "/hello/")
					if err != nil {
						t.Fatalf("a GET in the middle of the upload: %v: the upload holds the worker's only thread", err)
					}
					resp.Body.Close()
				}
				time.Sleep(2 * time.Millisecond) // a slow client
			}
			if chunked {
				io.WriteString(c, "0\r\n\r\n")
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			want := hex.EncodeToString(sum.Sum(nil))
			if resp.StatusCode != 200 || n != size || resp.Header.Get("X-Body-Sha256") != want {
				t.Fatalf("status %d, %d bytes back, sha256 %s; want 200, %d, %s\n%s", resp.StatusCode, n, resp.Header.Get("X-Body-Sha256"), size, want, p.out)
			}
			for deadline := time.Now().Add(5 * time.Second); spooled() != 0; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("the worker still holds %d request body files after the upload", spooled())
				}
			}
			if left, _ := filepath.Glob(filepath.Join(tmp, "gowsgi-body-*")); len(left) > 0 {
				t.Fatalf("left in TMPDIR: %v", left)
			}
		})
	}
}

// TestEngineMasterNotWoken: with the engine the master does not wake on
// new connections, neither the first master nor one that inherited the
// sockets on a HUP (issue 14, "Noticed": its listeners stayed in its epoll
// and each connection woke it: 4977 context switches for 5000 Connection:
// close requests; 61 since).
func TestEngineMasterNotWoken(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "gowsgi.pid")
	p := startGowsgi(t, repoRoot(t), []string{"GOWSGI_ENGINE=on"}, "serve", "--http", "127.0.0.1:0",
		"--chdir", "testdata/apps", "--wsgi-file", "all.py", "--processes", "2", "--threads", "1",
		"--python", testPython(t), "--pidfile", pidfile)
	t.Cleanup(func() { killByPidfile(t, pidfile) })
	const conns = 1000
	check := func(pid int) {
		t.Helper()
		newConns(t, p.addr, 50) // warm up
		before := contextSwitches(t, pid)
		newConns(t, p.addr, conns)
		woken := contextSwitches(t, pid) - before
		t.Logf("master %d: %d voluntary context switches over %d new connections", pid, woken, conns)
		if woken > conns/10 {
			t.Fatalf("the master (pid %d) was woken %d times over %d new connections it does not accept; want < %d",
				pid, woken, conns, conns/10)
		}
	}
	pid := p.cmd.Process.Pid
	t.Run("first master", func(t *testing.T) { check(pid) })
	syscall.Kill(pid, syscall.SIGHUP)
	pid = waitNewMaster(t, pidfile, pid)
	t.Run("after a HUP", func(t *testing.T) { check(pid) })
}

// newConns makes n GET requests, each on a connection of its own.
func newConns(t *testing.T, addr string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET /hello/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		c.Close()
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
}

// contextSwitches is how often every thread of process pid has slept
// (voluntary_ctxt_switches in /proc/PID/status is one thread's).
func contextSwitches(t *testing.T, pid int) int {
	t.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if err != nil || len(tasks) == 0 {
		t.Fatalf("no threads of pid %d: %v", pid, err)
	}
	sum := 0
	for _, path := range tasks {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // a thread that ended
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "voluntary_ctxt_switches:"); ok {
				n, _ := strconv.Atoi(strings.TrimSpace(v))
				sum += n
			}
		}
	}
	return sum
}

// TestEngineBuildsTheEnviron: the engine builds each request's environ
// itself and calls the handler (engine/pycall.c), where the ctypes
// callback (GOWSGI_ENGINE_CTYPES=1) had Python decode it: the app sees the
// same environ either way, latin-1 bytes, a body and a header repeated
// included, and each run took the path it names (the callback's frame is
// on the stack only through ctypes).
func TestEngineBuildsTheEnviron(t *testing.T) {
	dir := t.TempDir()
	app := `import json, traceback
def application(environ, start_response):
    data = {k: v for k, v in environ.items() if isinstance(v, str) and k != "REMOTE_PORT"}
    data["body"] = environ["wsgi.input"].read().decode("latin-1")
    data["via ctypes"] = any(f.name == "app_call" for f in traceback.extract_stack())
    body = json.dumps(data, sort_keys=True).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
`
	if err := os.WriteFile(filepath.Join(dir, "envapp.py"), []byte(app), 0o644); err != nil {
		t.Fatal(err)
	}
	fetch := func(env string) string {
		p := startGowsgi(t, repoRoot(t), []string{"GOWSGI_ENGINE=", env}, "serve", "--http", "127.0.0.1:0",
			"--chdir", dir, "--module", "envapp:application", "--processes", "1", "--python", testPython(t))
		defer p.stop()
		c, err := net.Dial("tcp", strings.TrimPrefix(p.url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "POST /p/%%C3%%A4?q=1 HTTP/1.1\r\nHost: x\r\nX-Foo: b\xe4r\r\nX-Rep: 1\r\nX-Rep: 2\r\nContent-Length: 5\r\nConnection: close\r\n\r\nh\xe9llo")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d: %s\n%s", env, resp.StatusCode, b, p.out)
		}
		return string(b)
	}
	viaC := fetch("GOWSGI_ENGINE_CTYPES=")
	viaCtypes := fetch("GOWSGI_ENGINE_CTYPES=1")
	if !strings.Contains(viaC, `"via ctypes": false`) || !strings.Contains(viaCtypes, `"via ctypes": true`) {
		t.Fatalf("the paths taken are not the ones asked for:\nengine: %s\nctypes: %s", viaC, viaCtypes)
	}
	if a, b := strings.Replace(viaC, `"via ctypes": false`, "", 1), strings.Replace(viaCtypes, `"via ctypes": true`, "", 1); a != b {
		t.Fatalf("the environs differ:\nengine: %s\nctypes: %s", a, b)
	}
	for _, want := range []string{`"HTTP_X_FOO": "b\u00e4r"`, `"HTTP_X_REP": "1, 2"`, `"PATH_INFO": "/p/\u00c3\u00a4"`, `"body": "h\u00e9llo"`, `"wsgi.url_scheme": "http"`} {
		if !strings.Contains(viaC, want) {
			t.Errorf("the environ has no %s: %s", want, viaC)
		}
	}
}

// TestEngineAppThatForks: a worker closes a connection with a close alone
// until its app forks (engine/forks.c); a child then holds a copy of the
// connection the fork happened on, and an answer that ends with the
// connection (uwsgi, HTTP/1.0 without a length) must still end at once,
// and a closed keep-alive connection must not keep a one-thread worker's
// epoll awake.
func TestEngineAppThatForks(t *testing.T) {
	dir := t.TempDir()
	app := `import os, time
def application(environ, start_response):
    child = 0
    if environ["PATH_INFO"] == "/fork":
        child = os.fork()
        if child == 0:
            time.sleep(60)  # holds the worker's descriptors; the test kills it
            os._exit(0)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return iter([b"%d %d" % (os.getpid(), child)])  # no length: HTTP/1.0 ends it with the connection
`
	if err := os.WriteFile(filepath.Join(dir, "forkapp.py"), []byte(app), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startGowsgi(t, repoRoot(t), []string{"GOWSGI_ENGINE="}, "serve", "--http", "127.0.0.1:0", "--socket", "127.0.0.1:0",
		"--chdir", dir, "--module", "forkapp:application", "--processes", "1", "--threads", "1", "--python", testPython(t))
	defer p.stop()
	if !engineRE.MatchString(p.out.String()) {
		t.Fatalf("the engine does not serve:\n%s", p.out)
	}
	m := regexp.MustCompile(`listening on uwsgi://(\S+)`).FindStringSubmatch(p.out.String())
	if m == nil {
		t.Fatalf("no uwsgi listener in the log:\n%s", p.out)
	}
	uwsgiAddr := m[1]
	worker := 0
	pids := func(what, body string) (child int) {
		var w int
		if _, err := fmt.Sscanf(body, "%d %d", &w, &child); err != nil {
			t.Fatalf("%s: answer %q: %v", what, body, err)
		}
		if child > 0 {
			t.Cleanup(func() { syscall.Kill(child, syscall.SIGKILL) })
		}
		if worker == 0 {
			worker = w
		} else if w != worker {
			t.Fatalf("%s: answered by worker %d, want %d", what, w, worker)
		}
		return child
	}
	if code, body := uwsgiGet(t, "tcp", uwsgiAddr, "/"); code != 200 || pids("uwsgi /", body) != 0 {
		t.Fatalf("uwsgi GET /: %d %s", code, body)
	}
	for _, try := range []struct {
		name string
		get  func() string
	}{
		{"uwsgi", func() string {
			code, body := uwsgiGet(t, "tcp", uwsgiAddr, "/fork")
			if code != 200 {
				t.Fatalf("uwsgi GET /fork: %d %s", code, body)
			}
			return body
		}},
		{"HTTP/1.0", func() string {
			c, err := net.Dial("tcp", p.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			fmt.Fprintf(c, "GET /fork HTTP/1.0\r\n\r\n")
			all, err := io.ReadAll(c) // the answer has no length: it ends with the connection
			if err != nil {
				t.Fatal(err)
			}
			_, body, _ := strings.Cut(string(all), "\r\n\r\n")
			return body
		}},
	} {
		start := time.Now()
		body := try.get()
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%s: the answer took %s to end: its FIN waited for the child", try.name, d)
		}
		if pids(try.name, body) <= 0 {
			t.Fatalf("%s: the app did not fork: %q", try.name, body)
		}
	}
	// A fork on a keep-alive connection, which the client then closes.
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET /fork HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if pids("keep-alive", string(b)) <= 0 {
		t.Fatalf("keep-alive: the app did not fork: %q", b)
	}
	c.Close()
	time.Sleep(100 * time.Millisecond) // the worker sees the close
	// The child has a copy of that connection: a worker that left it in
	// epoll would be woken for it at every wait.
	before := cpuTicks(t, worker)
	time.Sleep(time.Second)
	if used := cpuTicks(t, worker) - before; used > 20 {
		t.Fatalf("the idle worker used %d clock ticks in a second after the fork: woken for a descriptor it closed", used)
	}
}

// cpuTicks is the user and system time of pid, in clock ticks.
func cpuTicks(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	u, _ := strconv.Atoi(f[11])
	s, _ := strconv.Atoi(f[12])
	return u + s
}

// TestWorkerImportsNothingAfterFork: a worker forked from the zygote
// imports no module of its own, on either path, up to and through its
// first request: whatever a worker imports is private memory of each
// worker, whatever the zygote imported before the fork is shared.
func TestWorkerImportsNothingAfterFork(t *testing.T) {
	dir := t.TempDir()
	app := `import os, sys
_at_fork = []
os.register_at_fork(after_in_child=lambda: _at_fork.append(frozenset(sys.modules)))

def application(environ, start_response):
    new = sorted(set(sys.modules) - _at_fork[0]) if _at_fork else ["(no fork seen)"]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("imported after the fork: %s" % " ".join(new)).encode()]
`
	if err := os.WriteFile(filepath.Join(dir, "forkmods.py"), []byte(app), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, engine := range []string{"on", "off"} {
		t.Run("engine "+engine, func(t *testing.T) {
			p := startGowsgi(t, repoRoot(t), []string{"GOWSGI_ENGINE="}, "serve", "--engine", engine, "--http", "127.0.0.1:0",
				"--chdir", dir, "--module", "forkmods:application", "--processes", "1", "--python", testPython(t))
			defer p.stop()
			resp, err := http.Get(p.url + "/")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if got := string(b); got != "imported after the fork: " {
				t.Fatalf("status %d: %s", resp.StatusCode, got)
			}
		})
	}
}
