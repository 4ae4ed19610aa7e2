package master

// This file is uWSGI's listen = N, the listen queue of each socket. Go's
// net.Listen always asks for the kernel's maximum (net.core.somaxconn);
// calling listen(2) again on the bound socket sets another length, which
// Linux allows at any time.

import (
	"fmt"
	"net"
	"syscall"
)

// setBacklog sets ln's listen queue to n connections (the kernel caps it
// at net.core.somaxconn).
func setBacklog(ln net.Listener, n int) error {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return nil // not a socket of ours (a test listener): nothing to set
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var lerr error
	if err := raw.Control(func(fd uintptr) { lerr = syscall.Listen(int(fd), n) }); err != nil {
		return err
	}
	if lerr != nil {
		return fmt.Errorf("setting the listen queue to %d: %w", n, lerr)
	}
	return nil
}
