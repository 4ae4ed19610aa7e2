package gateway

// This file is the engine's socket I/O on Linux: epoll, accept4, and
// fdConn, a net.Conn over a non-blocking socket whose reads and writes,
// when they must wait, wait in poll(2) on the calling thread. The engine
// never uses Go's network poller: the thread that calls into the engine is
// a Python thread, and handing its work to a goroutine is the thread
// boundary the engine exists to remove (see engine.go).

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// epoll is one epoll instance. Every connection is registered with
// EPOLLONESHOT, so that one event goes to one thread, which owns the
// connection until it re-arms it.
type epoll struct{ fd int }

func newEpoll() (*epoll, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	return &epoll{fd: fd}, nil
}

const (
	evIn  = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT
	evOut = unix.EPOLLOUT | unix.EPOLLONESHOT
)

func (e *epoll) add(fd int, events uint32) error {
	ev := unix.EpollEvent{Events: events, Fd: int32(fd)}
	return os.NewSyscallError("epoll_ctl", unix.EpollCtl(e.fd, unix.EPOLL_CTL_ADD, fd, &ev))
}

func (e *epoll) rearm(fd int, events uint32) error {
	ev := unix.EpollEvent{Events: events, Fd: int32(fd)}
	return os.NewSyscallError("epoll_ctl", unix.EpollCtl(e.fd, unix.EPOLL_CTL_MOD, fd, &ev))
}

func (e *epoll) remove(fd int) {
	unix.EpollCtl(e.fd, unix.EPOLL_CTL_DEL, fd, nil)
}

// wait waits for one event at most for timeout; it returns ok false on
// a timeout or an interrupted wait.
func (e *epoll) wait(timeout time.Duration) (fd int, events uint32, ok bool) {
	var evs [1]unix.EpollEvent
	n, err := unix.EpollWait(e.fd, evs[:], int(timeout/time.Millisecond)+1)
	if err != nil || n == 0 {
		return 0, 0, false
	}
	return int(evs[0].Fd), evs[0].Events, true
}

func (e *epoll) close() { unix.Close(e.fd) }

// acceptConn accepts one connection from listening socket lfd, non-blocking
// and close-on-exec. It returns errWouldBlock when none is waiting.
func acceptConn(lfd int) (int, unix.Sockaddr, error) {
	for {
		fd, sa, err := accept4(lfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		switch {
		case err == nil:
			return fd, sa, nil
		case errors.Is(err, unix.EINTR), errors.Is(err, unix.ECONNABORTED):
			continue
		case errors.Is(err, unix.EAGAIN):
			return -1, nil, errWouldBlock
		}
		return -1, nil, os.NewSyscallError("accept4", err)
	}
}

// accept4 is unix.Accept4 without its getsockopt(SO_PROTOCOL) on the
// listening socket for every IPv4 peer (x/sys/unix asks, to tell an L2TP
// socket from a TCP one): a syscall per connection the engine's TCP and
// unix listeners do not need. Unlike the engine's reads and writes it
// tells the scheduler (Syscall6, not RawSyscall6): a listening socket's
// O_NONBLOCK belongs to a file description the master, every worker and
// the next master share, so the engine does not own it, and a raw accept4
// on a listener left blocking would sit on its P and stop the next garbage
// collection, and with it the whole worker's Go side
// (TestEngineAcceptOnABlockingListener).
func accept4(lfd, flags int) (int, unix.Sockaddr, error) {
	var rsa unix.RawSockaddrAny
	n := uint32(unix.SizeofSockaddrAny)
	r, _, errno := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(lfd), uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&n)), uintptr(flags), 0, 0)
	if errno != 0 {
		return -1, nil, errno
	}
	fd := int(r)
	switch rsa.Addr.Family {
	case unix.AF_INET:
		p := (*unix.RawSockaddrInet4)(unsafe.Pointer(&rsa))
		port := (*[2]byte)(unsafe.Pointer(&p.Port))
		return fd, &unix.SockaddrInet4{Port: int(port[0])<<8 | int(port[1]), Addr: p.Addr}, nil
	case unix.AF_INET6:
		p := (*unix.RawSockaddrInet6)(unsafe.Pointer(&rsa))
		port := (*[2]byte)(unsafe.Pointer(&p.Port))
		return fd, &unix.SockaddrInet6{Port: int(port[0])<<8 | int(port[1]), ZoneId: p.Scope_id, Addr: p.Addr}, nil
	case unix.AF_UNIX:
		// As x/sys/unix names it: an unnamed or abstract peer starts
		// with "@".
		p := (*unix.RawSockaddrUnix)(unsafe.Pointer(&rsa))
		path := unsafe.Slice((*byte)(unsafe.Pointer(&p.Path[0])), len(p.Path))
		if path[0] == 0 {
			path[0] = '@'
		}
		end := bytes.IndexByte(path, 0)
		if end < 0 {
			end = len(path)
		}
		return fd, &unix.SockaddrUnix{Name: string(path[:end])}, nil
	}
	return fd, nil, nil
}

// The engine's connections are non-blocking, and it never sets a lingering
// close: a read, a write or a close of one does not sleep, so it is a raw
// syscall, without telling the Go scheduler about it. Telling it
// (entersyscall, exitsyscall) was 2.6% of a worker's CPU behind nginx
// (perf, hello): a syscall that returns in microseconds has no P to give
// away. The calls that wait (epoll_wait, poll) keep the scheduler's.

func rawRead(fd int, p []byte) (int, error)  { return rawIO(unix.SYS_READ, fd, p) }
func rawWrite(fd int, p []byte) (int, error) { return rawIO(unix.SYS_WRITE, fd, p) }

// rawIO is a read or a write (trap) of p on fd. Built with -race it is
// unix.Read or unix.Write, which tell the race detector which bytes of p the
// kernel wrote or read: without that, a slice still in use when its buffer
// is read into again goes unreported (TestRaceSeesEngineReads).
func rawIO(trap uintptr, fd int, p []byte) (int, error) {
	if raceEnabled {
		if trap == unix.SYS_READ {
			return unix.Read(fd, p)
		}
		return unix.Write(fd, p)
	}
	var ptr unsafe.Pointer
	if len(p) > 0 {
		ptr = unsafe.Pointer(&p[0])
	}
	r, _, errno := unix.RawSyscall(trap, uintptr(fd), uintptr(ptr), uintptr(len(p)))
	if errno != 0 {
		return 0, errno
	}
	return int(r), nil
}

func rawClose(fd int) error {
	if _, _, errno := unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0); errno != 0 {
		return errno
	}
	return nil
}

// errWouldBlock is a non-blocking call that found nothing to do.
var errWouldBlock = errors.New("would block")

// sockaddrAddr turns a peer or local address into a net.Addr as net
// reports it (unix sockets: "@" for an unnamed peer).
func sockaddrAddr(sa unix.Sockaddr, unixSocket bool) net.Addr {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: netip.AddrFrom4(a.Addr).AsSlice(), Port: a.Port}
	case *unix.SockaddrInet6:
		return &net.TCPAddr{IP: netip.AddrFrom16(a.Addr).AsSlice(), Port: a.Port}
	case *unix.SockaddrUnix:
		return &net.UnixAddr{Name: a.Name, Net: "unix"}
	}
	if unixSocket {
		return &net.UnixAddr{Name: "@", Net: "unix"}
	}
	return &net.TCPAddr{}
}

// fdConn is a net.Conn over a non-blocking connected socket. A Read or a
// Write that cannot go on at once waits in poll(2) until its deadline,
// on the calling thread.
//
// Writes are buffered within a bound: what the socket does not take at
// once is kept (up to outBound bytes) and the Write returns; the engine
// writes the rest when the socket is writable again (flushOut), so a slow
// reader of a response that fits holds no thread. Only a response larger
// than the bound waits, in Write, for the client to read.
type fdConn struct {
	fd            int
	local, remote net.Addr
	rdl, wdl      time.Time
	out           []byte // written, not yet taken by the socket
	outBound      int
	closed        bool
}

// outBound is how much of a response fdConn keeps for a slow reader.
const outBound = 256 << 10

func (c *fdConn) Read(p []byte) (int, error) {
	for {
		n, err := rawRead(c.fd, p)
		switch {
		case err == nil && n == 0 && len(p) > 0:
			return 0, io.EOF
		case err == nil:
			return n, nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			if err := pollFD(c.fd, unix.POLLIN, c.rdl); err != nil {
				return 0, err
			}
			continue
		}
		return 0, &net.OpError{Op: "read", Net: "tcp", Addr: c.remote, Err: err}
	}
}

// readNow reads what the socket holds without waiting: errWouldBlock when
// it holds nothing, io.EOF when the peer closed.
func (c *fdConn) readNow(p []byte) (int, error) {
	for {
		n, err := rawRead(c.fd, p)
		switch {
		case err == nil && n == 0:
			return 0, io.EOF
		case err == nil:
			return n, nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			return 0, errWouldBlock
		}
		return 0, err
	}
}

func (c *fdConn) Write(p []byte) (int, error) {
	if len(c.out) == 0 {
		n, err := c.writeNow(p)
		if err != nil {
			return n, err
		}
		if n == len(p) {
			return n, nil
		}
		c.out = append(c.out, p[n:]...)
	} else {
		c.out = append(c.out, p...)
	}
	for len(c.out) > c.outBound {
		if err := c.flushOut(); err != nil {
			return len(p), err
		}
		if len(c.out) <= c.outBound {
			break
		}
		if err := pollFD(c.fd, unix.POLLOUT, c.wdl); err != nil {
			return len(p), err
		}
	}
	return len(p), nil
}

// flushOut writes what the socket takes of the kept output now.
func (c *fdConn) flushOut() error {
	if len(c.out) == 0 {
		return nil
	}
	n, err := c.writeNow(c.out)
	c.out = c.out[:copy(c.out, c.out[n:])]
	return err
}

// waitOut waits until the kept output is written, for the write deadline.
func (c *fdConn) waitOut() error {
	for len(c.out) > 0 {
		if err := c.flushOut(); err != nil {
			return err
		}
		if len(c.out) == 0 {
			return nil
		}
		if err := pollFD(c.fd, unix.POLLOUT, c.wdl); err != nil {
			return err
		}
	}
	return nil
}

// writeNow writes what the socket takes of p without waiting.
func (c *fdConn) writeNow(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n, err := rawWrite(c.fd, p[done:])
		if n > 0 {
			done += n
		}
		switch {
		case err == nil:
			continue
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			return done, nil
		}
		return done, &net.OpError{Op: "write", Net: "tcp", Addr: c.remote, Err: err}
	}
	return done, nil
}

// sendFile sends n bytes of f from off with sendfile(2), after the kept
// output; it returns how many it sent.
func (c *fdConn) sendFile(fd int, off, n int64) (int64, error) {
	if err := c.waitOut(); err != nil {
		return 0, err
	}
	var sent int64
	for sent < n {
		o := off + sent
		m, err := unix.Sendfile(c.fd, fd, &o, int(min(n-sent, 1<<30)))
		if m > 0 {
			sent += int64(m)
		}
		switch {
		case err == nil && m == 0:
			return sent, io.ErrUnexpectedEOF // the file shrank
		case err == nil, errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			if err := pollFD(c.fd, unix.POLLOUT, c.wdl); err != nil {
				return sent, err
			}
			continue
		}
		return sent, &net.OpError{Op: "sendfile", Net: "tcp", Addr: c.remote, Err: err}
	}
	return sent, nil
}

// pollFD waits until fd is ready for events or the deadline passes
// (os.ErrDeadlineExceeded). A zero deadline waits without end.
func pollFD(fd int, events int16, deadline time.Time) error {
	for {
		ms := -1
		if !deadline.IsZero() {
			d := time.Until(deadline)
			if d <= 0 {
				return os.ErrDeadlineExceeded
			}
			ms = int(d/time.Millisecond) + 1
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: events}}
		n, err := unix.Poll(fds, ms)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return os.NewSyscallError("poll", err)
		case n == 0:
			continue // the deadline is checked above
		}
		return nil
	}
}

func (c *fdConn) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	return rawClose(c.fd)
}

// reset closes the connection with a reset (SO_LINGER 0): the client sees
// its response cut, not ended.
func (c *fdConn) reset() {
	if !c.closed {
		unix.SetsockoptLinger(c.fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	}
	c.Close()
}

// closeWrite shuts the sending side: the response is complete.
func (c *fdConn) closeWrite() { unix.Shutdown(c.fd, unix.SHUT_WR) }

func (c *fdConn) LocalAddr() net.Addr                { return c.local }
func (c *fdConn) RemoteAddr() net.Addr               { return c.remote }
func (c *fdConn) SetDeadline(t time.Time) error      { c.rdl, c.wdl = t, t; return nil }
func (c *fdConn) SetReadDeadline(t time.Time) error  { c.rdl = t; return nil }
func (c *fdConn) SetWriteDeadline(t time.Time) error { c.wdl = t; return nil }

// setNoDelay turns Nagle off on a TCP connection, as net does.
func setNoDelay(fd int) { unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1) }

// isUnixSocket reports whether listening socket fd is a unix socket.
func isUnixSocket(fd int) bool {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return false
	}
	_, ok := sa.(*unix.SockaddrUnix)
	return ok
}

// localAddrOf is the local address of socket fd.
func localAddrOf(fd int, unixSocket bool) net.Addr {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return sockaddrAddr(nil, unixSocket)
	}
	return sockaddrAddr(sa, unixSocket)
}

// preadFD reads from fd at off.
func preadFD(fd int, p []byte, off int64) (int, error) { return unix.Pread(fd, p, off) }

// hasPendingInput reports whether socket fd holds received bytes not yet
// read.
func hasPendingInput(fd int) bool {
	n, err := unix.IoctlGetInt(fd, unix.SIOCINQ)
	return err == nil && n > 0
}
