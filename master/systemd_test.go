package master

import (
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// fakeListener is a listener that only has an address, for matching.
type fakeListener struct{ addr net.Addr }

func (f fakeListener) Accept() (net.Conn, error) { return nil, io.EOF }
func (f fakeListener) Close() error              { return nil }
func (f fakeListener) Addr() net.Addr            { return f.addr }

func tcpAddr(s string) net.Addr {
	a, err := net.ResolveTCPAddr("tcp", s)
	if err != nil {
		panic(err)
	}
	return a
}

func unixAddr(s string) net.Addr { return &net.UnixAddr{Name: s, Net: "unix"} }

func TestMatchInherited(t *testing.T) {
	http8000 := Listen{Addr: "127.0.0.1:8000", Flag: "--http"}
	all8000 := Listen{Addr: ":8000", Flag: "--http"}
	sock := Listen{Addr: "unix:/run/mysite.sock", Flag: "--socket"}
	port0 := Listen{Addr: "127.0.0.1:0", Flag: "--http"}
	https := Listen{Addr: "127.0.0.1:8443", Flag: "--https"}
	type fd struct {
		name string
		addr net.Addr
	}
	tests := []struct {
		name  string
		fds   []fd
		specs []Listen
		want  []int // listener index per fd
		err   string
	}{
		{name: "by address, tcp and unix", specs: []Listen{http8000, sock},
			fds: []fd{{addr: unixAddr("/run/mysite.sock")}, {addr: tcpAddr("127.0.0.1:8000")}}, want: []int{1, 0}},
		{name: "every interface matches :8000", specs: []Listen{all8000},
			fds: []fd{{addr: tcpAddr("[::]:8000")}}, want: []int{0}},
		{name: "systemd's default names fall back to addresses", specs: []Listen{http8000, sock},
			fds: []fd{{name: "mysite.socket", addr: tcpAddr("127.0.0.1:8000")}, {name: "mysite.socket", addr: unixAddr("/run/mysite.sock")}}, want: []int{0, 1}},
		{name: "port 0 by key name", specs: []Listen{port0, sock},
			fds: []fd{{name: "socket", addr: unixAddr("/run/other.sock")}, {name: "http", addr: tcpAddr("127.0.0.1:41234")}}, want: []int{1, 0}},
		{name: "name is the address as written", specs: []Listen{http8000, https},
			fds: []fd{{name: "127.0.0.1:8443", addr: tcpAddr("127.0.0.1:9999")}, {addr: tcpAddr("127.0.0.1:8000")}}, want: []int{1, 0}},
		{name: "a shared key goes to the listener with the fd's address", specs: []Listen{port0, http8000},
			fds: []fd{{name: "http", addr: tcpAddr("127.0.0.1:8000")}, {name: "http", addr: tcpAddr("127.0.0.1:5555")}}, want: []int{1, 0}},
		{name: "an fd nobody configured", specs: []Listen{http8000},
			fds: []fd{{addr: tcpAddr("127.0.0.1:8000")}, {addr: tcpAddr("127.0.0.1:9000")}},
			err: "inherited fd 4 (127.0.0.1:9000) matches no listener in the configuration"},
		{name: "a listener with no fd", specs: []Listen{http8000, sock},
			fds: []fd{{addr: tcpAddr("127.0.0.1:8000")}},
			err: "--socket unix:/run/mysite.sock has no socket from systemd (it passed inherited fd 3 (127.0.0.1:8000))"},
		{name: "port 0 cannot match by address", specs: []Listen{port0},
			fds: []fd{{addr: tcpAddr("127.0.0.1:8000")}}, err: "matches no listener"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var fds []inheritedFd
			for i, f := range tc.fds {
				fds = append(fds, inheritedFd{fd: listenFdsStart + i, name: f.name, ln: fakeListener{f.addr}})
			}
			got, err := matchInherited(fds, tc.specs)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("matched %v, want %v", got, tc.want)
			}
		})
	}
}

// TestNotifierAbstractSocket: NOTIFY_SOCKET may be an abstract socket
// ("@name"), as systemd uses for user services in containers.
func TestNotifierAbstractSocket(t *testing.T) {
	name := fmt.Sprintf("@gowsgi-test-%d", os.Getpid())
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := newNotifier(name).send("READY=1", "STATUS=ok"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(buf[:n]); got != "READY=1\nSTATUS=ok\n" {
		t.Fatalf("got %q", got)
	}
	if newNotifier("") != nil || newNotifier("vsock:2:1") != nil {
		t.Fatal("a notifier without a usable socket")
	}
}
