package main

// The uwsgi listener is tested the way it is used: real nginx (Debian's
// package, run in the foreground with its own config in a temp dir) with
// `include uwsgi_params; uwsgi_pass ...;` in front of a real gowsgi and its
// Python workers serving testdata/apps/all.py.

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const uwsgiParams = "/etc/nginx/uwsgi_params"

// nginxBin is Debian's nginx. Without it the test cannot run, which is a
// failure, never a skip.
func nginxBin(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		bin = "/usr/sbin/nginx" // not on a non-root PATH
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("no nginx (looked in PATH and %s): run scripts/setup-system.sh (make test does)", bin)
	}
	if _, err := os.Stat(uwsgiParams); err != nil {
		t.Fatalf("no %s (%v): run scripts/setup-system.sh (make test does)", uwsgiParams, err)
	}
	return bin
}

// nginxProc is a running nginx in front of gowsgi.
type nginxProc struct {
	cmd  *exec.Cmd
	dir  string
	addr string // 127.0.0.1:port
	done chan struct{}
}

// nginxConf is the whole config: everything nginx writes goes under the
// temp dir. Requests go to gowsgi's TCP uwsgi socket, or with
// "X-Upstream: unix" to its unix socket.
const nginxConf = `{{user}}
worker_processes 1;
pid {{dir}}/nginx.pid;
error_log {{dir}}/error.log info;
events { worker_connections 256; }
http {
	access_log {{dir}}/access.log;
	client_body_temp_path {{dir}}/client_body;
	uwsgi_temp_path {{dir}}/uwsgi;
	proxy_temp_path {{dir}}/proxy;
	fastcgi_temp_path {{dir}}/fastcgi;
	scgi_temp_path {{dir}}/scgi;
	client_max_body_size 0;

	upstream gowsgi_tcp { server {{tcp}}; }
	upstream gowsgi_unix { server unix:{{unix}}; }
	map $http_x_upstream $gowsgi {
		default gowsgi_tcp;
		unix gowsgi_unix;
	}

	server {
		listen {{listen}};
		server_name gowsgi.test;
		location / {
			include {{params}};
			uwsgi_pass $gowsgi;
		}
		# Streaming reaches the client only without nginx's response buffer.
		location /streaming_gate/ {
			include {{params}};
			uwsgi_pass $gowsgi;
			uwsgi_buffering off;
		}
	}
}
`

// startNginx runs nginx in the foreground in front of gowsgi's uwsgi
// sockets and waits until it accepts connections. It is stopped by its
// PID when the test ends.
func startNginx(t *testing.T, tcpUpstream, unixUpstream string) *nginxProc {
	t.Helper()
	bin := nginxBin(t)
	dir := t.TempDir()
	// The port is picked by binding :0 and handed to nginx; another process
	// may take it in between, so a bind failure is retried with a new one.
	for attempt := 1; ; attempt++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		user := ""
		if os.Geteuid() == 0 {
			// Workers of a root master run as nobody, who cannot enter the
			// test's temp dir (0700) to buffer bodies.
			user = "user root;"
		}
		conf := strings.NewReplacer("{{user}}", user, "{{dir}}", dir, "{{tcp}}", tcpUpstream,
			"{{unix}}", unixUpstream, "{{listen}}", addr, "{{params}}", uwsgiParams).Replace(nginxConf)
		confPath := filepath.Join(dir, "nginx.conf")
		if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", confPath, "-g", "daemon off;")
		out := newSyncBuffer()
		cmd.Stdout, cmd.Stderr = out, out
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting nginx: %v", err)
		}
		n := &nginxProc{cmd: cmd, dir: dir, addr: addr, done: make(chan struct{})}
		go func() { cmd.Wait(); close(n.done) }()
		if n.waitReady(10 * time.Second) {
			t.Cleanup(func() {
				n.stop(t)
				if t.Failed() {
					t.Logf("nginx error log:\n%s", n.errorLog())
				}
			})
			return n
		}
		n.stop(t)
		log := n.errorLog() + out.String()
		if strings.Contains(log, "Address already in use") && attempt < 3 {
			continue
		}
		t.Fatalf("nginx did not start on %s; its output and error log:\n%s", addr, log)
	}
}

// waitReady polls until nginx accepts a connection or exits.
func (n *nginxProc) waitReady(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-n.done:
			return false
		default:
		}
		if c, err := net.DialTimeout("tcp", n.addr, time.Second); err == nil {
			c.Close()
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// stop quits nginx gracefully by its PID (SIGQUIT), or kills its group.
func (n *nginxProc) stop(t *testing.T) {
	select {
	case <-n.done:
		return
	default:
	}
	n.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-n.done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
		<-n.done
		t.Errorf("nginx did not quit on SIGQUIT within 10s")
	}
}

func (n *nginxProc) errorLog() string {
	b, _ := os.ReadFile(filepath.Join(n.dir, "error.log"))
	return string(b)
}

// do sends a request through nginx with Host gowsgi.test.
func (n *nginxProc) do(t *testing.T, method, path string, body io.Reader, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+n.addr+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "gowsgi.test"
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 120 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s through nginx: %v", method, path, err)
	}
	return resp
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	return string(b)
}

// waitOrExit waits until gowsgi's output matches re, and fails at once
// when gowsgi exits first (a flag it does not know, an app that fails).
func waitOrExit(t *testing.T, p *proc, re *regexp.Regexp, timeout time.Duration) []string {
	t.Helper()
	found := make(chan []string, 1)
	go func() {
		m, _ := p.out.waitFor(re, timeout)
		found <- m
	}()
	select {
	case m := <-found:
		if m == nil {
			t.Fatalf("gowsgi did not print %s within %s; output:\n%s", re, timeout, p.out)
		}
		return m
	case <-p.done:
		if m := re.FindStringSubmatch(p.out.String()); m != nil {
			return m
		}
		t.Fatalf("gowsgi exited (%v) before printing %s; output:\n%s", p.err, re, p.out)
		return nil
	}
}

var uwsgiListeningRE = regexp.MustCompile(`listening on uwsgi://(127\.0\.0\.1:\d+)`)

// TestUwsgiNginx serves the test apps through nginx over both a TCP and a
// unix uwsgi socket of one gowsgi.
func TestUwsgiNginx(t *testing.T) {
	nginxBin(t)
	tmp := t.TempDir()
	sock := filepath.Join(tmp, "gowsgi.sock")
	g := launch(t, repoRoot(t), nil,
		"serve", "--socket", "127.0.0.1:0", "--socket", sock, "--buffer-size", "8192",
		"--chdir", "testdata/apps", "--wsgi-file", "all.py",
		"--processes", "2", "--threads", "2", "--python", testPython(t))
	m := waitOrExit(t, g, uwsgiListeningRE, 90*time.Second)
	if !strings.Contains(g.out.String(), "listening on uwsgi://unix:"+sock) {
		t.Errorf("the unix socket is not in the ready lines:\n%s", g.out)
	}
	ng := startNginx(t, m[1], sock)
	_, nginxPort, _ := net.SplitHostPort(ng.addr)

	for _, upstream := range []string{"tcp", "unix"} {
		hdr := map[string]string{"X-Upstream": upstream}
		t.Run(upstream+"/hello", func(t *testing.T) {
			resp := ng.do(t, "GET", "/hello/", nil, hdr)
			body := readAll(t, resp)
			if resp.StatusCode != 200 || body != "Hello, World!" || resp.Header.Get("Content-Type") != "text/plain" ||
				resp.Header.Get("Content-Length") != "13" {
				t.Fatalf("status %d, headers %v, body %q", resp.StatusCode, resp.Header, body)
			}
		})
		t.Run(upstream+"/environ", func(t *testing.T) {
			resp := ng.do(t, "GET", "/environ/a%20b/?x=1&y=%20", nil, map[string]string{
				"X-Upstream": upstream, "Connection": "keep-alive, X-Conn-Only", "X-Conn-Only": "1",
			})
			var env map[string]any
			if err := json.Unmarshal([]byte(readAll(t, resp)), &env); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{
				"REQUEST_METHOD":  "GET",
				"SCRIPT_NAME":     "/environ",
				"PATH_INFO":       "/a b/", // nginx's $document_uri is decoded
				"QUERY_STRING":    "x=1&y=%20",
				"REQUEST_URI":     "/environ/a%20b/?x=1&y=%20",
				"SERVER_PROTOCOL": "HTTP/1.1",
				"SERVER_NAME":     "gowsgi.test",
				"SERVER_PORT":     nginxPort,
				"REMOTE_ADDR":     "127.0.0.1",
				"HTTP_HOST":       "gowsgi.test",
				"REQUEST_SCHEME":  "http",
				"wsgi.url_scheme": "http",
				"wsgi.version":    []any{1.0, 0.0},
			}
			for k, v := range want {
				if got, ok := env[k]; !ok || fmt.Sprint(got) != fmt.Sprint(v) {
					t.Errorf("environ[%q] = %#v, want %#v", k, got, v)
				}
			}
			for _, k := range []string{"CONTENT_TYPE", "CONTENT_LENGTH", "HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH",
				"HTTP_CONNECTION", "HTTP_X_CONN_ONLY"} {
				if v, ok := env[k]; ok {
					t.Errorf("environ has %s = %v; it should not", k, v)
				}
			}
			if _, err := strconv.Atoi(fmt.Sprint(env["REMOTE_PORT"])); err != nil {
				t.Errorf("REMOTE_PORT = %v", env["REMOTE_PORT"])
			}
		})
	}

	t.Run("repeated header", func(t *testing.T) {
		// Issue: nginx 1.22 sends one HTTP_X_MULTI per header line.
		req, _ := http.NewRequest("GET", "http://"+ng.addr+"/environ/", nil)
		req.Host = "gowsgi.test"
		req.Header.Add("X-Multi", "a")
		req.Header.Add("X-Multi", "b")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var env map[string]any
		if err := json.Unmarshal([]byte(readAll(t, resp)), &env); err != nil {
			t.Fatal(err)
		}
		if env["HTTP_X_MULTI"] != "a, b" {
			t.Fatalf("HTTP_X_MULTI = %#v, want \"a, b\"", env["HTTP_X_MULTI"])
		}
	})

	t.Run("head", func(t *testing.T) {
		resp := ng.do(t, "HEAD", "/hello/", nil, nil)
		body := readAll(t, resp)
		if resp.StatusCode != 200 || body != "" || resp.Header.Get("Content-Length") != "13" {
			t.Fatalf("status %d, Content-Length %q, body %q", resp.StatusCode, resp.Header.Get("Content-Length"), body)
		}
	})

	t.Run("post", func(t *testing.T) {
		resp := ng.do(t, "POST", "/echo/p?q=1", strings.NewReader("name=gowsgi&x=1"),
			map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
		body := readAll(t, resp)
		if resp.StatusCode != 200 || body != "name=gowsgi&x=1" {
			t.Fatalf("status %d, body %q", resp.StatusCode, body)
		}
		for k, v := range map[string]string{"X-Method": "POST", "X-Query": "q=1", "X-Path": "/p", "X-Content-Length": "15",
			"Content-Type": "application/x-www-form-urlencoded"} {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
	})

	t.Run("large upload", func(t *testing.T) {
		const size = 64 << 20
		pr, pw := io.Pipe()
		sent := sha256.New()
		go func() {
			buf := make([]byte, 1<<20)
			for i := range buf {
				buf[i] = byte(i % 251)
			}
			for n := 0; n < size; n += len(buf) {
				buf[0] = byte(n >> 20) // every MiB differs
				sent.Write(buf)
				if _, err := pw.Write(buf); err != nil {
					return
				}
			}
			pw.Close()
		}()
		req, _ := http.NewRequest("POST", "http://"+ng.addr+"/echo/", pr)
		req.Host = "gowsgi.test"
		req.ContentLength = size
		resp, err := (&http.Client{Timeout: 5 * time.Minute}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		back := sha256.New()
		n, err := io.Copy(back, resp.Body)
		resp.Body.Close()
		want := hex.EncodeToString(sent.Sum(nil))
		if err != nil || n != size || hex.EncodeToString(back.Sum(nil)) != want {
			t.Fatalf("status %d, echoed %d bytes (err %v), want %d with sha256 %s", resp.StatusCode, n, err, size, want)
		}
		if got := resp.Header.Get("X-Body-Sha256"); got != want {
			t.Errorf("the app read a body with sha256 %s, want %s", got, want)
		}
	})

	t.Run("an upload the app does not read", func(t *testing.T) {
		// nginx sends the whole body before it reads the answer: gowsgi
		// must drain it, or nginx turns the app's answer into a 502.
		for _, tc := range []struct {
			path       string
			wantStatus int
			contains   string
		}{
			{"/hello/", 200, "Hello, World!"},
			{"/raises/", 500, "500 Internal Server Error"},
		} {
			body := strings.NewReader(strings.Repeat("x", 16<<20))
			resp := ng.do(t, "POST", tc.path, body, map[string]string{"Content-Type": "application/octet-stream"})
			got := readAll(t, resp)
			if resp.StatusCode != tc.wantStatus || !strings.Contains(got, tc.contains) {
				t.Errorf("POST %s with 16 MiB: status %d, body %q; want %d with %q", tc.path, resp.StatusCode, got, tc.wantStatus, tc.contains)
			}
		}
	})

	t.Run("streaming reaches the client as yielded", func(t *testing.T) {
		gate := filepath.Join(tmp, "gate")
		// The app gives up waiting for the gate after 30s and yields
		// "second" anyway: a response held back until then must fail here,
		// not pass late.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+ng.addr+"/streaming_gate/?gate="+gate, nil)
		req.Host = "gowsgi.test"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		r := bufio.NewReader(resp.Body)
		// The app yields "second" only once the gate exists: reading
		// "first" before creating it proves nothing held it back.
		if line := readLine(t, r); line != "first\n" {
			t.Fatalf("first line %q", line)
		}
		if err := os.WriteFile(gate, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if line := readLine(t, r); line != "second\n" {
			t.Fatalf("second line %q", line)
		}
	})

	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			name, path string
			wantStatus int
			contains   string
		}{
			{"app raises", "/raises/", 500, "500 Internal Server Error\n\nThe application raised an exception"},
			{"header with CRLF", "/bad_header/?kind=crlf", 500, "500 Internal Server Error"},
			{"hop-by-hop header", "/bad_header/?kind=hopbyhop", 500, "500 Internal Server Error"},
			{"invalid status", "/bad_header/?kind=status", 500, "500 Internal Server Error"},
			{"unknown app", "/nope/", 404, "no app named"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				resp := ng.do(t, "GET", tc.path, nil, nil)
				body := readAll(t, resp)
				if resp.StatusCode != tc.wantStatus || !strings.Contains(body, tc.contains) {
					t.Fatalf("status %d, body %q; want %d with %q", resp.StatusCode, body, tc.wantStatus, tc.contains)
				}
				if resp.Header.Get("X-Injected") != "" {
					t.Errorf("an injected header reached the client")
				}
			})
		}
	})

	t.Run("errors after headers cut the response", func(t *testing.T) {
		for _, path := range []string{"/exc_info/?mode=after", "/content_length_bare/?mode=short"} {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+ng.addr+path, nil)
			req.Host = "gowsgi.test"
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				cancel()
				t.Fatalf("%s: %v", path, err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			// nginx may have the response's start or not when the
			// connection is reset: a 502, or a 200 whose body breaks off.
			if ctx.Err() != nil || (resp.StatusCode == 200 && err == nil) {
				t.Errorf("%s: status %d, body %q, read error %v: want a broken response, not a complete one or a hang",
					path, resp.StatusCode, body, err)
			}
			cancel()
		}
	})

	t.Run("buffer size", func(t *testing.T) {
		// Two Cookie lines, as each must stay below nginx's own 8k line limit.
		cookies := func(n int) http.Header {
			return http.Header{"Cookie": {"a=" + strings.Repeat("a", n), "b=" + strings.Repeat("b", n)}}
		}
		for _, tc := range []struct {
			name       string
			each       int
			wantStatus int
		}{
			{"6 KiB of headers fit --buffer-size 8192", 3000, 200},
			{"9 KiB of headers do not", 4500, 502},
		} {
			t.Run(tc.name, func(t *testing.T) {
				req, _ := http.NewRequest("GET", "http://"+ng.addr+"/hello/", nil)
				req.Host = "gowsgi.test"
				req.Header = cookies(tc.each)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				readAll(t, resp)
				if resp.StatusCode != tc.wantStatus {
					t.Fatalf("status %d, want %d", resp.StatusCode, tc.wantStatus)
				}
			})
		}
		if _, ok := g.out.waitFor(regexp.MustCompile(`invalid request block size: 9\d\d\d \(max 8192\)\.\.\.skip; the request headers are too large for --buffer-size 8192`), 10*time.Second); !ok {
			t.Errorf("no log line for the refused packet:\n%s", g.out)
		}
	})

	t.Run("access log", func(t *testing.T) {
		for _, re := range []string{
			`127\.0\.0\.1 - \[[^]]+\] "GET /hello/ HTTP/1\.1" 200 13 [\d.]+ms pid=\d+ gen=\d+`,
			`"POST /echo/p\?q=1 HTTP/1\.1" 200 15 `,
		} {
			if _, ok := g.out.waitFor(regexp.MustCompile(re), 10*time.Second); !ok {
				t.Errorf("no access log line matching %s:\n%s", re, g.out)
			}
		}
	})

	// Every validated app ran under wsgiref.validate: a PEP 3333 violation
	// of the environ (HTTP_CONTENT_TYPE, a missing key) fails there.
	g.stop()
	if out := g.out.String(); strings.Contains(out, "AssertionError") || strings.Contains(out, "WSGIWarning") {
		t.Errorf("wsgiref.validate found a PEP 3333 violation:\n%s", out)
	}
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the unix socket %s is left after gowsgi stopped (%v)", sock, err)
	}
}
