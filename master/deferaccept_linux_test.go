package master

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/config"
)

// TestDeferAccept: with accept deferred (the default, socket-timeout), a
// connection that has sent nothing is not accepted yet, and is once its
// first bytes arrive; with no-defer-accept (-1) it is accepted at once,
// also on a socket that had it deferred (inherited over a HUP).
func TestDeferAccept(t *testing.T) {
	for _, d := range []time.Duration{-1, 30 * time.Second} {
		// The socket as a previous master left it: deferred.
		inherited := func(network, addr string) (net.Listener, error) {
			ln, err := net.Listen(network, addr)
			if err == nil {
				err = setDeferAccept(ln, 10*time.Second)
			}
			return ln, err
		}
		ln, err := listen(Listen{Addr: "127.0.0.1:0", Flag: "--http", DeferAccept: d}, inherited)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		raw, err := ln.(*net.TCPListener).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var secs int
		var accepted bool
		tryAccept := func() {
			raw.Control(func(fd uintptr) {
				secs, _ = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_DEFER_ACCEPT)
				syscall.SetNonblock(int(fd), true)
				nfd, _, err := syscall.Accept(int(fd))
				if err == nil {
					syscall.Close(nfd)
				} else if !errors.Is(err, syscall.EAGAIN) {
					t.Fatalf("accept: %v", err)
				}
				accepted = err == nil
			})
		}
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		time.Sleep(100 * time.Millisecond) // the handshake is over on the client's side
		tryAccept()
		if d < 0 {
			if secs != 0 || !accepted {
				t.Fatalf("no-defer-accept: TCP_DEFER_ACCEPT %d, accepted before a byte: %v; want 0, true", secs, accepted)
			}
			continue
		}
		if secs == 0 || accepted {
			t.Fatalf("deferred %v: TCP_DEFER_ACCEPT %d, accepted before a byte: %v; want >0, false", d, secs, accepted)
		}
		c.Write([]byte("G"))
		deadline := time.Now().Add(5 * time.Second)
		for tryAccept(); !accepted && time.Now().Before(deadline); tryAccept() {
			time.Sleep(10 * time.Millisecond)
		}
		if !accepted {
			t.Fatal("the connection was not accepted after its first byte")
		}
	}
}

// The listeners defer accept for socket-timeout unless no-defer-accept.
func TestDeferAcceptFromConfig(t *testing.T) {
	for _, no := range []bool{false, true} {
		mc := Config{HTTP: []Listen{{Addr: "127.0.0.1:0"}}, Uwsgi: []Listen{{Addr: "127.0.0.1:0"}}}
		if err := applyUwsgiOptions(&mc, config.Config{SocketTimeout: 7 * time.Second, NoDeferAccept: no}); err != nil {
			t.Fatal(err)
		}
		want := 7 * time.Second
		if no {
			want = -1
		}
		for _, l := range append(mc.HTTP, mc.Uwsgi...) {
			if l.DeferAccept != want {
				t.Errorf("no-defer-accept %v: DeferAccept %v, want %v", no, l.DeferAccept, want)
			}
		}
	}
}
