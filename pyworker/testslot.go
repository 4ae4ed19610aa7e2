package pyworker

import (
	"bufio"
	"net"
)

// NewTestSlot returns a Slot whose Python thread is whatever serves the
// other end of conn with the frames of protocol.go, for the tests of code
// that runs requests on slots without Python (the gateway's: a request
// stuck in the app, a worker that dies mid-response). Its worker has pid
// and generation 1, and belongs to no Manager: give it back to nothing.
func NewTestSlot(conn net.Conn, pid int) *Slot {
	m := &Manager{opts: Options{Logf: func(string, ...any) {}}}
	w := &worker{m: m, id: 1, pid: pid, gen: &generation{n: 1}}
	return newSlot(w, 0, conn, bufio.NewReader(conn))
}
