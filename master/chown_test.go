package master

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestResolveOwner: chown-socket takes user[:group], names or numbers.
func TestResolveOwner(t *testing.T) {
	me := strconv.Itoa(os.Getuid())
	for _, tc := range []struct {
		spec     string
		uid, gid int
		err      bool
	}{
		{spec: me + ":" + strconv.Itoa(os.Getgid()), uid: os.Getuid(), gid: os.Getgid()},
		{spec: me, uid: os.Getuid(), gid: -1},
		{spec: "root:root", uid: 0, gid: 0},
		{spec: "no-such-user-gowsgi", err: true},
		{spec: "root:no-such-group-gowsgi", err: true},
	} {
		uid, gid, err := ResolveOwner(tc.spec)
		if (err != nil) != tc.err || (!tc.err && (uid != tc.uid || gid != tc.gid)) {
			t.Errorf("%s: %d %d %v", tc.spec, uid, gid, err)
		}
	}
	// Giving a socket to its own owner needs no privilege.
	p := filepath.Join(t.TempDir(), "s.sock")
	os.WriteFile(p, nil, 0o600)
	id := Identity{chown: []socketOwner{{path: p, uid: os.Getuid(), gid: os.Getgid()}}}
	if err := id.chownSockets(); err != nil {
		t.Fatal(err)
	}
}

// TestSetBacklog: listen = N reaches the socket: /proc/net/tcp's queue
// limit is not exposed, so the test checks that a small queue fills up
// (connections past it are not accepted by the kernel at once).
func TestSetBacklog(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := setBacklog(ln, 1); err != nil {
		t.Fatal(err)
	}
	// With a queue of 1 (the kernel keeps backlog+1), a few dials
	// complete and the next ones wait for a SYN retry.
	var done int
	for i := 0; i < 8; i++ {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 300*time.Millisecond)
		if err != nil {
			break
		}
		defer c.Close()
		done++
	}
	if done >= 8 {
		t.Errorf("%d connections queued with listen = 1", done)
	}
}
