//go:build !linux

package master

import (
	"net"
	"time"
)

// setDeferAccept does nothing where there is no TCP_DEFER_ACCEPT (see
// deferaccept_linux.go): connections are accepted as they are made.
func setDeferAccept(ln net.Listener, d time.Duration) error { return nil }
