package gateway

// This file is the engine: the request path inside a Python worker
// (issue 14). The master binds the listening sockets and the worker
// inherits them; the engine, a Go library the worker loads after its
// fork, accepts on them, reads and parses requests and writes the
// answers, driven by the worker's own Python threads: each calls Serve,
// and inside that call the thread waits in epoll, reads a connection,
// runs the request through the pipeline (pipeline.go) and the app
// (EngineApp, on this same thread), writes the answer, and goes back to
// epoll. No goroutine and no other thread is in between.
//
// A connection that has sent part of a request, or whose answer is kept
// because the client reads slowly (fdConn), waits in epoll, not on a
// thread: a request is handed to the app only once all of it has
// arrived (the framing guard counts whole requests, guard.go), and a kept
// answer is written by whichever thread sees the socket writable.
//
// Every connection is registered EPOLLONESHOT: the thread that takes its
// event owns it until it re-arms it, so a connection's state needs no
// lock. The connection table (conns) and the listeners' arming are under
// mu. A worker with one thread (SetThreads) has no other thread to keep
// out: its connections and listeners are level-triggered, registered
// once, and the re-arm after every request and every accept (an
// epoll_ctl each) is skipped while the events wanted stay the same.

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Engine serves one worker's connections.
type Engine struct {
	s       *EngineSettings
	ep      *epoll
	wake    int // an eventfd: Stop wakes the threads in epoll through it
	timer   int // a timerfd: wakes a thread when a hold is over (hold)
	ls      map[int]*engineListener
	log     *AccessLog
	metrics *Metrics
	logf    func(format string, a ...any)
	board   Balancer
	sb      *Scoreboard // the master's, when it has one (board is then sb)

	mu    sync.Mutex
	conns map[int]*engineConn

	held     atomic.Bool  // a listener is held out of epoll (hold); under mu
	timerAt  time.Time    // when the timer is set to fire; under mu
	stopping atomic.Bool  // Stop was called: accept nothing more, close idle connections
	stopAt   atomic.Int64 // unix nanos of Stop
	closed   atomic.Bool  // every thread must leave Serve
	single   bool         // one thread serves: level-triggered registrations (SetThreads)
	forks    *ForkWatch   // the process's forks (SetForkWatch); nil: assume it forked
	strays   atomic.Int64 // events for a descriptor that is not a connection (tests)
	rearmed  atomic.Int64 // connections armed again before a thread took their event (a bug; tests)
	threads  atomic.Int32
	gone     chan struct{} // closed when the last thread leaves after a stop
	goneOnce sync.Once
	sweepAt  atomic.Int64 // unix nanos of the next timeout sweep
	gen      atomic.Int64 // the worker's generation (Serve's)
}

// Balancer spreads connections over a server's worker processes (the
// scoreboard, scoreboard.go): a worker takes a new connection only while
// it does not hold more than its share.
type Balancer interface {
	// MayAccept says whether this worker may take one more connection
	// now that it holds open of them.
	MayAccept(open int) bool
	// Opened and Closed count this worker's connections.
	Opened()
	Closed()
}

// engineListener is one inherited listening socket.
type engineListener struct {
	fd       int
	kind     string // "http" or "uwsgi"
	unix     bool
	noDelay  bool // TCP_NODELAY is set on the listener, so its connections have it
	local    net.Addr
	pipeline pipeline
	environ  Environ
	armed    bool // registered and armed in epoll
	// deferredSince is when this worker last left a waiting connection to
	// the others (Balancer); past balanceWait it takes it anyway.
	deferredSince time.Time
	// heldUntil, when not zero, is when the listener, taken out of epoll
	// for a while (hold), is armed again; heldForShare: sooner, once this
	// worker's share allows it a connection again.
	heldUntil    time.Time
	heldForShare bool
}

// balanceWait is how long a worker over its share leaves a waiting
// connection to the other workers before it takes it itself: a worker
// whose threads are all busy accepts nothing, and its connections must
// not wait on it.
const balanceWait = 20 * time.Millisecond

// balanceRetry is how long a worker over its share stops listening before
// it looks at the shares again: its listener is out of epoll meanwhile
// (hold), so its threads go on serving the connections it has.
const balanceRetry = time.Millisecond

// sweepEvery is how often the connections' timeouts are looked at.
const sweepEvery = 250 * time.Millisecond

// NewEngine prepares an engine for the settings' listeners, which must be
// listening sockets this process holds. app runs each request.
func NewEngine(s *EngineSettings, logf func(format string, a ...any)) (*Engine, error) {
	ep, err := newEpoll()
	if err != nil {
		return nil, err
	}
	e := &Engine{s: s, ep: ep, ls: map[int]*engineListener{}, conns: map[int]*engineConn{}, logf: logf, gone: make(chan struct{})}
	if logf == nil {
		e.logf = func(string, ...any) {}
	}
	e.wake, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		ep.close()
		return nil, os.NewSyscallError("eventfd", err)
	}
	if err := ep.add(e.wake, unix.EPOLLIN|unix.EPOLLONESHOT); err != nil {
		e.closeFDs()
		return nil, err
	}
	// The wake eventfd is never read (every thread must see a stop), so a
	// hold's end has its own descriptor, registered unarmed until a hold.
	e.timer, err = unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		e.closeFDs()
		return nil, os.NewSyscallError("timerfd_create", err)
	}
	if err := ep.add(e.timer, 0); err != nil {
		e.closeFDs()
		return nil, err
	}
	if s.AccessLog != nil {
		e.log = NewBatchedAccessLog(Stderr)
		e.log.Format, e.log.Skip = s.AccessLog.Build()
	}
	parts, err := s.parts()
	if err != nil {
		e.closeFDs()
		return nil, err
	}
	for _, l := range s.Listeners {
		if l.Kind != "http" && l.Kind != "uwsgi" {
			e.closeFDs()
			return nil, fmt.Errorf("engine: listener fd %d: kind %q is neither http nor uwsgi", l.FD, l.Kind)
		}
		if err := unix.SetNonblock(l.FD, true); err != nil {
			e.closeFDs()
			return nil, fmt.Errorf("engine: listener fd %d: %w", l.FD, err)
		}
		el := &engineListener{fd: l.FD, kind: l.Kind, unix: isUnixSocket(l.FD)}
		if !el.unix {
			// Linux gives an accepted TCP socket its listener's
			// TCP_NODELAY: set once here, it is not a setsockopt per
			// connection (TestEngineConnectionsHaveNoDelay).
			el.noDelay = unix.SetsockoptInt(l.FD, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1) == nil
		}
		el.local = localAddrOf(l.FD, el.unix)
		el.environ = Environ{ScriptName: s.ScriptName, Scheme: l.Scheme, LocalAddr: el.local, Proxies: parts.proxies}
		if el.environ.Scheme == "" {
			el.environ.Scheme = "http"
		}
		el.pipeline = pipeline{static: parts.static, headers: parts.headers, limitPost: s.LimitPost, timeout: timeoutOr(s.Timeout),
			log: e.log, logFn: e.logf}
		e.ls[l.FD] = el
	}
	return e, nil
}

// SetBalancer makes the engine share connections with the other workers.
func (e *Engine) SetBalancer(b Balancer) { e.board = b }

// SetBoard makes the engine keep row of the master's scoreboard: its
// connections (for balancing), and each thread's request (harakiri, the
// status page).
func (e *Engine) SetBoard(b *Scoreboard, row int) {
	b.Claim(row, os.Getpid())
	e.sb, e.board = b, b
	e.SetMetrics(BoardMetrics(b))
}

// SetMetrics makes the engine count its requests in m.
func (e *Engine) SetMetrics(m *Metrics) {
	e.metrics = m
	for _, l := range e.ls {
		l.pipeline.metrics = m
	}
}

// Accept starts taking connections. A worker of a generation that is not
// live yet has an engine that does not accept (dev mode's swap).
func (e *Engine) Accept() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, l := range e.ls {
		if err := e.armListener(l, true); err != nil {
			return err
		}
	}
	return nil
}

// armListener registers or re-arms l; e.mu is held.
func (e *Engine) armListener(l *engineListener, first bool) error {
	if e.stopping.Load() {
		return nil
	}
	if first && !l.armed {
		l.armed = true
		return e.ep.add(l.fd, e.listenEvents())
	}
	if e.single {
		return nil // level-triggered: still armed
	}
	return e.ep.rearm(l.fd, e.listenEvents())
}

// listenEvents is what a listener is registered for.
func (e *Engine) listenEvents() uint32 {
	if e.single {
		return unix.EPOLLIN
	}
	return unix.EPOLLIN | unix.EPOLLONESHOT
}

// hold takes l out of epoll for d (e.mu is held): a worker over its share
// of connections (forShare), or out of descriptors, leaves the waiting
// ones to the others meanwhile, and its threads go on serving what they
// have, where a sleep on the thread held up its own connections too.
//
// With several threads, the timer wakes one when the hold is over: the
// thread that held may be running a long request by then, and the others
// may be in a wait that began before the hold, which would otherwise end
// only at the next sweep (TestEngineHoldEndsOnTime). A lone thread holds
// only between requests, and its next wait is short (waitFor): it needs
// no timer, and is spared its three syscalls per hold (behind nginx, a
// hold for nearly every connection).
func (e *Engine) hold(l *engineListener, now time.Time, d time.Duration, forShare bool) {
	if e.single {
		e.ep.rearm(l.fd, 0) // level-triggered, it would fire again at once (one-shot, its event was taken)
	}
	l.heldUntil, l.heldForShare = now.Add(d), forShare
	e.held.Store(true)
	if !e.single {
		e.armTimer(now, l.heldUntil)
	}
}

// armTimer makes the timer wake one thread at the time at, unless it is
// set to fire before then already (e.mu is held).
func (e *Engine) armTimer(now, at time.Time) {
	if e.timerAt.After(now) && !e.timerAt.After(at) {
		return
	}
	d := at.Sub(now)
	if d <= 0 {
		d = time.Microsecond // zero would disarm it
	}
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(d.Nanoseconds())}
	if err := unix.TimerfdSettime(e.timer, 0, &spec, nil); err != nil {
		return // the threads' short waits while held (waitFor) still end the hold
	}
	e.timerAt = at
	e.ep.rearm(e.timer, unix.EPOLLIN|unix.EPOLLONESHOT)
}

// onTimer takes the timer's expiry (the thread's loop has just ended the
// holds that are over, releaseHeld).
func (e *Engine) onTimer() {
	var b [8]byte
	unix.Read(e.timer, b[:])
}

// releaseHeld arms again the listeners whose hold is over, or, held for
// this worker's share, may take a connection again: a worker that served
// the connections it had must not sit idle out the rest of a hold while
// connections wait (behind nginx, that was a third of the CPU idle).
func (e *Engine) releaseHeld(now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	still := false
	var next time.Time // the earliest hold still on
	for _, l := range e.ls {
		switch {
		case l.heldUntil.IsZero():
		case now.Before(l.heldUntil) && !(l.heldForShare && e.board.MayAccept(len(e.conns))):
			still = true
			if next.IsZero() || l.heldUntil.Before(next) {
				next = l.heldUntil
			}
		default:
			l.heldUntil = time.Time{}
			if !e.stopping.Load() {
				e.ep.rearm(l.fd, e.listenEvents())
			}
		}
	}
	e.held.Store(still)
	if still && !e.single {
		e.armTimer(now, next)
	}
}

// waitFor is how long a thread may wait in epoll: until the next sweep,
// or, while a listener is held, a hold's length.
func (e *Engine) waitFor() time.Duration {
	if e.held.Load() {
		return balanceRetry
	}
	return e.sweepInterval()
}

// SetThreads tells the engine how many threads will serve (before
// Accept): with one, it registers level-triggered (see above).
func (e *Engine) SetThreads(n int) { e.single = n == 1 }

// ForkWatch is how the engine learns of the process's forks
// (engine/forks.c): two counters the fork's prepare handler shares with
// the engine's closes. Until a fork, no other process holds a copy of a
// connection, and a close alone ends it (see closeConn).
type ForkWatch struct {
	// Forked is set, before the fork, once the process has forked.
	Forked *int32
	// Closing counts the closes under way; a fork waits for it to be 0.
	Closing *int32
}

// SetForkWatch makes the engine spare the syscalls a connection copied
// into a child needs, until the process forks. Without one the engine
// assumes a fork.
func (e *Engine) SetForkWatch(w *ForkWatch) { e.forks = w }

// Serve runs the calling thread as one of the engine's threads until the
// engine stops: it returns nil once Stop was called and nothing is left to
// serve, or at once after Close.
//
// thread is the thread's number in the worker (0..threads-1), its slot in
// the scoreboard.
func (e *Engine) Serve(app EngineApp, pid, gen, thread int) error {
	e.threads.Add(1)
	e.gen.Store(int64(gen))
	defer func() {
		if e.threads.Add(-1) == 0 && e.stopping.Load() {
			e.goneOnce.Do(func() { close(e.gone) })
		}
	}()
	be := &threadBackend{slot: threadSlot{app: app, pid: pid, gen: gen, board: e.sb, thread: thread}}
	buf := make([]byte, 64<<10)
	// One look at the clock per wake-up, for the yield, the holds and the
	// sweep (a clock read is ~45 ns here, and there were three).
	var yielded, now time.Time
	for !e.closed.Load() {
		if e.stopping.Load() && e.idle() {
			return nil
		}
		if now.Sub(yielded) > yieldEvery {
			runtime.Gosched()
			yielded = now
		}
		fd, events, ok := e.ep.wait(e.waitFor())
		now = time.Now()
		be.now = now
		if e.held.Load() {
			e.releaseHeld(now)
		}
		e.maybeSweep(now)
		if e.log != nil {
			e.log.FlushIfOld(100 * time.Millisecond)
		}
		if !ok {
			continue
		}
		switch {
		case fd == e.wake:
			e.onWake()
		case fd == e.timer:
			e.onTimer()
		case e.ls[fd] != nil:
			if c := e.accept(e.ls[fd], now); c != nil {
				c.onReadable(e, be, buf)
			}
		default:
			e.mu.Lock()
			c := e.conns[fd]
			e.mu.Unlock()
			if c == nil {
				e.strays.Add(1)
				continue
			}
			if events&unix.EPOLLOUT != 0 && len(c.fc.out) > 0 {
				c.onWritable(e, be, buf)
			} else {
				c.onReadable(e, be, buf)
			}
		}
	}
	return nil
}

// yieldEvery is how often a serving thread passes through the Go
// scheduler. The thread never blocks in Go's terms (its waits are raw
// epoll_wait calls and its app runs inside a call into C), so to the
// runtime's sysmon its goroutine looks like one that has run for ever: every
// 10 ms sysmon preempts it or takes its P away, and after each of those it
// polls every 20 µs again, a timer wake-up and a context switch each time
// (1800 a second per worker, measured under wrk on a 2-core machine, with a
// tgkill now and then). A Gosched now and then is progress sysmon can see;
// on a thread locked to its goroutine it costs two futex wake-ups, so only
// just under sysmon's 10 ms.
const yieldEvery = 8 * time.Millisecond

// accept takes one waiting connection of l, when this worker's share
// allows, and re-arms l for the next; the new connection is returned to be
// read at once (its request has often arrived with it).
func (e *Engine) accept(l *engineListener, now time.Time) *engineConn {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !l.heldUntil.IsZero() {
		return nil // an event from before the hold
	}
	if e.board != nil && !e.board.MayAccept(len(e.conns)) {
		if l.deferredSince.IsZero() {
			l.deferredSince = now
		}
		if now.Sub(l.deferredSince) < balanceWait {
			// Leave it to a worker with fewer connections; look again soon.
			e.hold(l, now, balanceRetry, true)
			return nil
		}
	}
	l.deferredSince = time.Time{}
	fd, sa, err := acceptConn(l.fd)
	if err != nil {
		if !errors.Is(err, errWouldBlock) {
			e.logf("engine: accepting on %s: %v", l.local, err)
			if errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) {
				e.hold(l, now, 10*time.Millisecond, false) // out of descriptors: let some close
				return nil
			}
		}
		e.armListener(l, false)
		return nil
	}
	e.armListener(l, false)
	if !l.unix && !l.noDelay {
		setNoDelay(fd)
	}
	c := newEngineConn(fd, l, sockaddrAddr(sa, l.unix), now)
	e.conns[fd] = c
	if e.board != nil {
		e.board.Opened()
	}
	return c
}

// register adds c to epoll for its first event.
func (e *Engine) register(c *engineConn, events uint32) {
	if e.single {
		events &^= unix.EPOLLONESHOT
		if c.registered && c.events == events {
			return
		}
	} else {
		if c.armed {
			e.rearmed.Add(1)
		}
		c.armed = true
	}
	c.events = events
	if c.registered {
		if err := e.ep.rearm(c.fd, events); err != nil {
			e.drop(c)
		}
		return
	}
	c.registered = true
	if err := e.ep.add(c.fd, events); err != nil {
		e.drop(c)
	}
}

// drop closes c and forgets it.
func (e *Engine) drop(c *engineConn) { e.closeConn(c, closePlain) }

// How closeConn ends a connection.
const (
	closePlain = iota // the answer is complete (or there is none)
	closeFin          // the close is what ends the answer (uwsgi, HTTP/1.0 without a length)
	closeReset        // the answer was cut: the client must see a reset, not an end
)

// closeConn closes c and forgets it. Once the process has forked, a child
// may hold a copy of the socket, and closing the engine's descriptor does
// nothing to the socket but that: the engine then shuts it itself (the
// sending side for closeFin, else the peer would wait for the end of the
// answer until the child exits; both for closeReset, whose SO_LINGER 0
// cannot reset a socket that stays open: the client sees its answer end
// short), and removes a level-triggered registration, else epoll would go
// on reporting a descriptor the engine no longer has at every wait
// (TestEngineForkedSocket, TestEngineAppThatForks). A worker that never
// forked is spared those syscalls. The look at the fork flag and the close
// are one section a fork waits for (engine/forks.c). The connection is
// forgotten before its descriptor is closed: once closed, another thread's
// accept may be given the same number.
func (e *Engine) closeConn(c *engineConn, how int) {
	e.mu.Lock()
	if e.conns[c.fd] == c {
		delete(e.conns, c.fd)
		if e.board != nil {
			e.board.Closed()
		}
	}
	e.mu.Unlock()
	if e.forks != nil {
		atomic.AddInt32(e.forks.Closing, 1)
	}
	if e.forks == nil || atomic.LoadInt32(e.forks.Forked) != 0 {
		switch {
		case c.dead:
		case how == closeFin:
			c.fc.closeWrite()
		case how == closeReset:
			unix.Shutdown(c.fd, unix.SHUT_RDWR)
		}
		if e.single && c.registered && !c.dead {
			e.ep.remove(c.fd)
		}
	}
	if how == closeReset && !c.dead {
		c.fc.reset() // SO_LINGER 0 and the close
	}
	c.close()
	if e.forks != nil {
		atomic.AddInt32(e.forks.Closing, -1)
	}
}

// idle reports whether no connection is left.
func (e *Engine) idle() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.conns) == 0
}

// Stop stops accepting and lets the connections finish: each answers its
// next request with Connection: close, and one that sends none within
// stopIdleGrace is closed (as the proxy path's Drain does: a client that
// just reused an idle connection must not see it close under its request).
// The threads leave Serve once none is left. It returns at once.
func (e *Engine) Stop() {
	if e.stopping.Swap(true) {
		return
	}
	e.stopAt.Store(time.Now().UnixNano())
	e.mu.Lock()
	for _, l := range e.ls {
		if l.armed {
			e.ep.remove(l.fd)
		}
	}
	e.mu.Unlock()
	if e.sb != nil {
		e.sb.StopAccepting()
	}
	var one [8]byte
	one[0] = 1
	unix.Write(e.wake, one[:])
	if e.threads.Load() == 0 {
		e.goneOnce.Do(func() { close(e.gone) })
	}
}

// Wait waits until every thread left Serve after Stop, or until timeout.
func (e *Engine) Wait(timeout time.Duration) bool {
	select {
	case <-e.gone:
		return true
	case <-time.After(timeout):
		return false
	}
}

// Close makes every thread leave Serve at its next wake-up.
func (e *Engine) Close() {
	e.closed.Store(true)
	e.Stop()
}

// onWake passes the wake-up on to the next thread (the eventfd is
// one-shot), so that every thread sees the stop.
func (e *Engine) onWake() {
	e.ep.rearm(e.wake, unix.EPOLLIN|unix.EPOLLONESHOT)
}

// stopIdleGrace is how long an idle connection may still send a request
// after Stop.
const stopIdleGrace = 2 * time.Second

// maybeSweep closes the connections whose timeout passed, at most every
// sweepEvery, on whichever thread gets there first.
func (e *Engine) maybeSweep(now time.Time) {
	next := e.sweepAt.Load()
	if now.UnixNano() < next || !e.sweepAt.CompareAndSwap(next, now.Add(e.sweepInterval()).UnixNano()) {
		return
	}
	if e.s.Dev && !e.stopping.Load() {
		if _, serving := e.liveState(); !serving {
			e.Stop() // a newer generation serves (or the master): do not wait for the stop frame
		}
	}
	e.mu.Lock()
	var late []*engineConn
	stopping := e.stopping.Load()
	sinceStop := time.Duration(now.UnixNano() - e.stopAt.Load())
	for _, c := range e.conns {
		if c.mu.TryLock() {
			graceOver := stopping && sinceStop > stopIdleGrace
			if stopping && e.s.Dev && sinceStop > stopIdleQuiet && now.Sub(c.lastIO) > stopIdleQuiet {
				// Dev mode: a quiet connection of the old generation is
				// closed soon, so the browser's reload finds the new one.
				graceOver = true
			}
			if c.live != nil && c.sweepLive(e, now) || c.expired(now, timeoutOr(e.s.Timeout), graceOver) {
				late = append(late, c)
			} else {
				c.mu.Unlock()
			}
		}
	}
	e.mu.Unlock()
	for _, c := range late {
		e.ep.remove(c.fd)
		c.onTimeout(e)
		e.drop(c)
		c.mu.Unlock()
	}
}

func (e *Engine) closeFDs() {
	e.ep.close()
	if e.wake > 0 {
		unix.Close(e.wake)
	}
	if e.timer > 0 {
		unix.Close(e.timer)
	}
}

// Conns is the number of open connections (for tests and the scoreboard).
func (e *Engine) Conns() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.conns)
}

// Stderr is the worker's standard error written with write(2) itself.
// Through os.Stderr, Go raises SIGPIPE on a write to a closed pipe on
// descriptor 1 or 2, and in a worker the signal's default action ends the
// process: a master whose log reader went away (a HUP's first master
// gone, `gowsgi serve | tee` with tee stopped) would lose every worker at
// its next access log line. Here the write just fails.
var Stderr io.Writer = rawFD(2)

type rawFD int

func (fd rawFD) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k, err := unix.Write(int(fd), p[n:])
		if k > 0 {
			n += k
		}
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
