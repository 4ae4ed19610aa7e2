package main

import (
	"bufio"
	"encoding/binary"
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

	"github.com/gowsgi/gowsgi/master"
)

// notifyReader collects the datagrams gowsgi sends to NOTIFY_SOCKET.
type notifyReader struct {
	t    *testing.T
	msgs chan string
}

func listenNotify(t *testing.T, path string) *notifyReader {
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r := &notifyReader{t: t, msgs: make(chan string, 64)}
	go readNotify(c, r.msgs)
	return r
}

func readNotify(c *net.UnixConn, out chan<- string) {
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if err != nil {
			close(out)
			return
		}
		out <- string(buf[:n])
	}
}

// next returns the next message, failing after timeout.
func (r *notifyReader) next(timeout time.Duration, what string, p *proc) string {
	r.t.Helper()
	select {
	case m := <-r.msgs:
		return m
	case <-time.After(timeout):
		r.t.Fatalf("no notify message (%s) within %s; output:\n%s", what, timeout, p.out)
	}
	return ""
}

// uwsgiGet sends one uwsgi-protocol GET over conn and returns the response.
func uwsgiGet(t *testing.T, network, addr, path string) (int, string) {
	t.Helper()
	c, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dialing %s: %v", addr, err)
	}
	defer c.Close()
	var vars []byte
	for _, kv := range [][2]string{{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", path}, {"PATH_INFO", path},
		{"QUERY_STRING", ""}, {"SERVER_PROTOCOL", "HTTP/1.1"}, {"SERVER_NAME", "localhost"}, {"SERVER_PORT", "80"},
		{"REMOTE_ADDR", "127.0.0.1"}, {"HTTP_HOST", "localhost"}} {
		vars = binary.LittleEndian.AppendUint16(vars, uint16(len(kv[0])))
		vars = append(vars, kv[0]...)
		vars = binary.LittleEndian.AppendUint16(vars, uint16(len(kv[1])))
		vars = append(vars, kv[1]...)
	}
	pkt := append([]byte{0, byte(len(vars)), byte(len(vars) >> 8), 0}, vars...)
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write(pkt); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("uwsgi GET %s on %s: %v", path, addr, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// activatedGowsgi starts gowsgi as systemd would: the listening sockets are
// fds 3, 4, ... and LISTEN_PID is gowsgi's pid, which only the child knows,
// so a shell sets it and execs gowsgi (exec keeps the pid).
func activatedGowsgi(t *testing.T, lns []net.Listener, env []string, args ...string) *proc {
	t.Helper()
	var files []*os.File
	for _, ln := range lns {
		f, err := ln.(interface{ File() (*os.File, error) }).File()
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	cmd := exec.Command("sh", append([]string{"-c", `LISTEN_PID=$$ exec "$0" "$@"`, gowsgiBin}, args...)...)
	cmd.ExtraFiles = files
	env = append(env, "LISTEN_FDS="+strconv.Itoa(len(lns)))
	p := launchCmd(t, repoRoot(t), env, cmd)
	// Only gowsgi holds the sockets now.
	for i, ln := range lns {
		if ul, ok := ln.(*net.UnixListener); ok {
			ul.SetUnlinkOnClose(false)
		}
		ln.Close()
		files[i].Close()
	}
	return p
}

// TestSystemdSocketActivation: gowsgi serves HTTP and uwsgi on the TCP and
// unix sockets systemd passes, tells systemd READY=1 once the workers are
// ready, RELOADING=1 then (from the new master) MAINPID= and READY=1 on a
// HUP, which passes the sockets on, and STOPPING=1 on SIGTERM; the unix
// socket, systemd's, is left in place.
func TestSystemdSocketActivation(t *testing.T) {
	dir := t.TempDir()
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sockPath := filepath.Join(dir, "uwsgi.sock")
	unix, err := net.ListenUnix("unix", &net.UnixAddr{Name: sockPath, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	notify := listenNotify(t, filepath.Join(dir, "notify.sock"))
	pidfile := filepath.Join(dir, "gowsgi.pid")
	t.Cleanup(func() { killByPidfile(t, pidfile) })
	httpAddr := tcp.Addr().String()
	p := activatedGowsgi(t, []net.Listener{tcp, unix}, []string{"NOTIFY_SOCKET=" + filepath.Join(dir, "notify.sock")},
		"serve", "--http", httpAddr, "--socket", sockPath, "--chdir", "testdata/apps", "--wsgi-file", "all.py",
		"--processes", "2", "--python", testPython(t), "--pidfile", pidfile)

	if m := notify.next(90*time.Second, "READY=1", p); m != "READY=1\nSTATUS=2 workers ready, generation 1\n" {
		t.Fatalf("first notify message %q, want READY=1 with the status; output:\n%s", m, p.out)
	}
	check := func(when string) {
		t.Helper()
		if code, _, body := get(t, nil, "http://"+httpAddr+"/hello/"); code != 200 || body != "Hello, World!" {
			t.Fatalf("%s: HTTP on the inherited TCP socket: %d %q", when, code, body)
		}
		if code, body := uwsgiGet(t, "unix", sockPath, "/hello/"); code != 200 || body != "Hello, World!" {
			t.Fatalf("%s: uwsgi on the inherited unix socket: %d %q", when, code, body)
		}
	}
	check("after start")
	if strings.Contains(p.out.String(), "LISTEN_") {
		t.Errorf("output mentions LISTEN_:\n%s", p.out)
	}

	old := p.cmd.Process.Pid
	syscall.Kill(old, syscall.SIGHUP)
	if m := notify.next(30*time.Second, "RELOADING=1", p); !regexp.MustCompile(`^RELOADING=1\nMONOTONIC_USEC=\d+\nSTATUS=reloading`).MatchString(m) {
		t.Fatalf("after SIGHUP: %q, want RELOADING=1", m)
	}
	newPid := waitNewMaster(t, pidfile, old)
	want := fmt.Sprintf("MAINPID=%d\nREADY=1\nSTATUS=2 workers ready, generation 1\n", newPid)
	if m := notify.next(30*time.Second, "the new master's READY=1", p); m != want {
		t.Fatalf("after the handover: %q, want %q", m, want)
	}
	check("after the HUP")

	syscall.Kill(newPid, syscall.SIGTERM)
	if m := notify.next(30*time.Second, "STOPPING=1", p); !strings.HasPrefix(m, "STOPPING=1\n") {
		t.Fatalf("after SIGTERM: %q, want STOPPING=1", m)
	}
	deadline := time.Now().Add(30 * time.Second)
	for master.IsGowsgi(newPid) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	// The socket is checked after the master is gone: while it runs, the
	// file is there whatever its stop will do (issue 13, bug 6).
	if master.IsGowsgi(newPid) {
		t.Fatalf("the master (pid %d) still runs 30s after STOPPING=1; output:\n%s", newPid, p.out)
	}
	select {
	case m, ok := <-notify.msgs:
		if ok {
			t.Errorf("unexpected notify message after STOPPING=1: %q", m)
		}
	default:
	}
	if _, err := os.Stat(sockPath); err != nil {
		t.Errorf("the unix socket systemd owns was removed: %v", err)
	}
}

// TestSystemdActivationMismatch: a passed socket the configuration does not
// name, or a configured listener with no socket, stops the start (exit 2)
// with both sides named.
func TestSystemdActivationMismatch(t *testing.T) {
	tests := []struct {
		name string
		args func(addr string) []string
		want string
	}{
		{name: "fd matches no listener", args: func(addr string) []string { return []string{"--http", "127.0.0.1:1"} },
			want: `inherited fd 3 \(127\.0\.0\.1:\d+\) matches no listener in the configuration`},
		{name: "listener has no fd", args: func(addr string) []string { return []string{"--http", addr, "--socket", "127.0.0.1:1"} },
			want: `--socket 127\.0\.0\.1:1 has no socket from systemd \(it passed inherited fd 3 \(127\.0\.0\.1:\d+\)\)\nhint: add ListenStream=127\.0\.0\.1:1`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			args := append([]string{"serve", "--chdir", "testdata/apps", "--wsgi-file", "hello.py", "--python", testPython(t)}, tc.args(ln.Addr().String())...)
			p := activatedGowsgi(t, []net.Listener{ln}, nil, args...)
			if code := p.wait(30 * time.Second); code != exitUsage {
				t.Fatalf("exit %d, want %d; output:\n%s", code, exitUsage, p.out)
			}
			if !regexp.MustCompile(tc.want).MatchString(p.out.String()) {
				t.Fatalf("output does not match %q:\n%s", tc.want, p.out)
			}
		})
	}
}
