package master

import (
	"fmt"
	"net"
	"syscall"
	"time"
)

// setDeferAccept makes the kernel hold a new connection of ln until its
// first bytes arrive, for d at most (TCP_DEFER_ACCEPT, whole seconds, as
// uWSGI sets it to its socket-timeout): a worker is not woken for a
// connection it can only read nothing from, and accept brings the request
// with it (behind nginx, one read and a third of the waits less per
// request). A silent connection is accepted after about d (the kernel
// counts it in SYN-ACK retransmissions), and socket-timeout applies from
// there. d < 0 turns the deferral off.
func setDeferAccept(ln net.Listener, d time.Duration) error {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return nil // not a socket of ours (a test's listenFn)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	secs := max(int((d+time.Second-1)/time.Second), 0)
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_DEFER_ACCEPT, secs)
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("deferring accept for %ds (no-defer-accept turns it off): %w", secs, serr)
	}
	return nil
}
