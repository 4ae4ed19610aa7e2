package gateway

import (
	"fmt"
	"net"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestEngineAcceptOnABlockingListener: a listening socket's O_NONBLOCK is
// the shared file description's, not the engine's. A listener left
// blocking keeps one thread in accept4 until a connection comes, but the
// rest of the worker's Go side goes on: a garbage collection completes
// meanwhile (with a raw accept4 the thread held its P and the collection
// waited for it for ever).
func TestEngineAcceptOnABlockingListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lfd := int(f.Fd())
	if err := syscall.SetNonblock(lfd, false); err != nil {
		t.Fatal(err)
	}
	accepted := make(chan error, 1)
	in := make(chan struct{})
	go func() {
		runtime.LockOSThread() // as an engine thread is
		close(in)
		fd, _, err := acceptConn(lfd)
		if err == nil {
			unix.Close(fd)
		}
		accepted <- err
	}()
	<-in
	time.Sleep(100 * time.Millisecond) // into accept4, which blocks
	select {
	case err := <-accepted:
		t.Fatalf("accept4 on a blocking listener returned (%v) with no connection: the test did not block it", err)
	default:
	}
	// What ends the accept comes from outside: if the collection waits
	// for the thread, nothing in this process runs until it does.
	port := ln.Addr().(*net.TCPAddr).Port
	dial := exec.Command("bash", "-c", fmt.Sprintf("sleep 3; exec 3<>/dev/tcp/127.0.0.1/%d; sleep 1", port))
	dial.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its sleep is stopped with it
	if err := dial.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { syscall.Kill(-dial.Process.Pid, syscall.SIGKILL); dial.Wait() }()
	start := time.Now()
	runtime.GC()
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("a garbage collection took %s: it waited for the thread in accept4", took.Round(time.Millisecond))
	}
	if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		defer c.Close() // the accept's connection, unless bash's came first
	}
	if err := <-accepted; err != nil {
		t.Fatalf("accept4: %v", err)
	}
}
