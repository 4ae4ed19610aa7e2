package master

import (
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

// TestListenersArePlainTCP: the sockets gowsgi binds for its TCP listeners
// are TCP, as uWSGI's are, not the MPTCP net.Listen has opened on Linux
// since Go 1.24. On a kernel with MPTCP the test first sees net.Listen's
// own socket be MPTCP, so it can tell the two apart here.
func TestListenersArePlainTCP(t *testing.T) {
	proto := func(ln net.Listener) int {
		t.Helper()
		raw, err := ln.(*net.TCPListener).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var p int
		var perr error
		raw.Control(func(fd uintptr) { p, perr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PROTOCOL) })
		if perr != nil {
			t.Fatal(perr)
		}
		return p
	}
	if fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, unix.IPPROTO_MPTCP); err == nil {
		unix.Close(fd)
		def, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := proto(def)
		def.Close()
		if p != unix.IPPROTO_MPTCP {
			t.Logf("net.Listen opened protocol %d here, not MPTCP (%d): this test cannot fail on this machine", p, unix.IPPROTO_MPTCP)
		}
	} else {
		t.Logf("this kernel has no MPTCP (%v): this test cannot fail on this machine", err)
	}
	for _, bind := range []struct {
		name string
		fn   func(network, addr string) (net.Listener, error)
	}{
		{"listen", nil},
		{"systemd's bind without a passed socket", (*activation)(nil).bind},
	} {
		ln, err := listen(Listen{Addr: "127.0.0.1:0", Flag: "--http"}, bind.fn)
		if err != nil {
			t.Fatal(err)
		}
		if p := proto(ln); p != unix.IPPROTO_TCP {
			t.Errorf("%s: the listener's protocol is %d, want TCP (%d)", bind.name, p, unix.IPPROTO_TCP)
		}
		ln.Close()
	}
}
