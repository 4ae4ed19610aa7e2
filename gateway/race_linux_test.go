//go:build race

package gateway

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestRaceSeesEngineReads: the engine's reads are raw syscalls, but built
// with -race the detector still sees what read(2) writes into a buffer: a
// goroutine looking at the buffer unsynchronised while fdConn.Read fills
// it is reported. The racy part runs in a child test process, whose race
// report (and exit status) is what this test looks for.
func TestRaceSeesEngineReads(t *testing.T) {
	if os.Getenv("GOWSGI_RACY_READ") == "1" {
		racyRead(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRaceSeesEngineReads$", "-test.count=1")
	cmd.Env = append(os.Environ(), "GOWSGI_RACY_READ=1")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "WARNING: DATA RACE") || !strings.Contains(string(out), "fdConn") {
		t.Fatalf("an unsynchronised look at a buffer fdConn.Read fills was not reported (exit %v):\n%s", err, out)
	}
}

// racyRead reads into a buffer another goroutine reads at the same time.
func racyRead(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	unix.Write(fds[1], []byte("hello"))
	fc := fdConn{fd: fds[0]}
	buf := make([]byte, 8)
	done := make(chan byte)
	go func() { done <- buf[0] }()
	fc.Read(buf)
	<-done
}
