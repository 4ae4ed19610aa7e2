//go:build linux

package master

// This file takes the listening sockets out of the master's own network
// poller when the workers serve them (issue 14, "Noticed": the master woke
// on every new connection, 12,645 context switches for 19,219 Connection:
// close requests, though it never accepts with the engine).
//
// Closing the master's net.Listeners would not do it. Go registers in its
// epoll every descriptor of a non-blocking socket it wraps, an os.File too
// (os.NewFile, since Go 1.12, registers a descriptor that is already
// non-blocking), and a listening socket's O_NONBLOCK belongs to the socket,
// which the workers need non-blocking: so the net.Listener, the dups the
// workers inherit, tableflip's own dups (kept to hand over on a HUP) and,
// after a HUP, the copies tableflip inherited are all in the master's
// epoll, edge-triggered, and each new connection wakes the thread waiting
// in it. Go has no call to unregister a descriptor and keep it open, so
// unpollSockets does it in the kernel: EPOLL_CTL_DEL of every descriptor
// of those sockets from every epoll instance of the process (the runtime's
// is the one it finds; /proc/self/fd names them).
//
// After that the master's net.Listeners still answer Addr and Close (a
// Close still wakes a goroutine parked in Accept), and tableflip still
// hands the sockets over; but an Accept that finds no connection waiting
// would wait for ever. The master never accepts on them with the engine;
// one that must (dev mode while the app does not import) makes a fresh
// descriptor, net.FileListener(engineSetup.files[i]), which Go registers
// anew.

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// unpollSockets removes every descriptor of the sockets files refer to
// from every epoll instance of this process, and returns how many
// registrations it removed.
func unpollSockets(files []*os.File) (int, error) {
	inodes := map[uint64]bool{}
	for _, f := range files {
		var st unix.Stat_t
		if err := unix.Fstat(int(fdOf(f)), &st); err != nil {
			return 0, fmt.Errorf("fstat %s: %w", f.Name(), err)
		}
		inodes[st.Ino] = true
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0, err
	}
	var polls, socks []int
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		link, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil {
			continue // the directory's own descriptor, closed by now
		}
		if link == "anon_inode:[eventpoll]" {
			polls = append(polls, fd)
			continue
		}
		if ino, ok := strings.CutPrefix(link, "socket:["); ok {
			n, err := strconv.ParseUint(strings.TrimSuffix(ino, "]"), 10, 64)
			if err == nil && inodes[n] {
				socks = append(socks, fd)
			}
		}
	}
	removed := 0
	for _, ep := range polls {
		for _, fd := range socks {
			// ENOENT: not registered in this one (another library's epoll).
			if unix.EpollCtl(ep, unix.EPOLL_CTL_DEL, fd, nil) == nil {
				removed++
			}
		}
	}
	if len(polls) == 0 {
		return 0, fmt.Errorf("no epoll instance in /proc/self/fd")
	}
	return removed, nil
}

// fdOf is f's descriptor, without Fd's side effect on a socket that net
// made (it would put the socket, the workers' too, in blocking mode).
func fdOf(f *os.File) uintptr {
	var fd uintptr
	if rc, err := f.SyscallConn(); err == nil {
		rc.Control(func(d uintptr) { fd = d })
	}
	return fd
}
