package pyworker

// This file is the supervisor's owner loop: one goroutine (Manager.run) owns
// all worker state and handles one event at a time. Other goroutines only
// send it events: the accept loop (helloEvent), control readers (readyEvent,
// bootErrorEvent, forkedEvent, ...), process waiters (exitEvent), timers
// (respawnEvent), the request path (slotBackEvent, retireEvent) and the
// public methods (startEvent, stopEvent, statusEvent). The rest of the
// supervisor is split by concept:
//
//	generation.go  a set of workers that goes live together; Start, Reload
//	spawn.go       the procs seam (how processes start), exec'd workers
//	zygote.go      the zygote that forks workers, and its replacement
//	control.go     the control connection: its reader and its writer
//	respawn.go     exits: classify, then respawn with back-off (workers and zygotes)
//	retire.go      retiring a worker gracefully, with a typed reason
//	stop.go        Stop and Kill
//	status.go      snapshots for the status page

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"
)

// Manager runs the Python workers of one app and hands out their slots.
type Manager struct {
	opts       Options
	procs      procs // how processes start and are signalled (spawn.go)
	runtimeDir string
	sockDir    string
	ln         net.Listener

	events  chan event
	current atomic.Pointer[generation]
	swapped atomic.Pointer[chan struct{}] // closed and replaced when current changes
	done    chan struct{}                 // closed when the supervisor has finished
	ended   chan struct{}                 // closed when run has returned
	// stopped is set by Stop and Kill, before they ask run: Start and
	// Reload return ErrStopping from then on without asking anything.
	stopped atomic.Bool

	// Owned by run.
	nextWorker int
	// rows are the scoreboard rows of the engine (EngineOptions.Rows), by
	// the worker that holds each; nil entries are free.
	rows       []*worker
	nextGen    int
	pending    map[string]*worker // by token, until the Hello arrives
	byPid      map[int]*worker    // forked workers, by pid
	gens       []*generation
	zygote     *worker   // shared zygote (Preload "site"/"none")
	oldZygotes []*worker // replaced shared zygotes, stopped once their workers are gone
	stopping   bool
	stopWait   []chan error

	pythonVersion string
	files         atomic.Pointer[[]string] // the newest worker's imported files
	stats         metrics                  // counters for the stats endpoint (metrics.go)
}

// New prepares a Manager: it extracts the Python runtime and opens the
// master socket the workers connect back to. Start spawns the workers.
func New(opts Options) (*Manager, error) {
	rt, err := ExtractRuntimeIn(opts.CacheDir)
	if err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	return newManager(opts, execProcs{opts: &opts, runtimeDir: rt})
}

// newManager is New with the processes started by p: the tests give it a
// fake that plays Python (fake_test.go).
func newManager(opts Options, p procs) (*Manager, error) {
	opts = opts.withDefaults()
	dir, err := os.MkdirTemp("", "gowsgi-")
	if err != nil {
		return nil, fmt.Errorf("creating the worker socket directory: %w", err)
	}
	ln, err := net.Listen("unix", filepath.Join(dir, "master.sock"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("listening for workers: %w", err)
	}
	m := &Manager{
		opts: opts, procs: p, sockDir: dir, ln: ln,
		events:  make(chan event, 1024),
		done:    make(chan struct{}),
		ended:   make(chan struct{}),
		pending: map[string]*worker{},
		byPid:   map[int]*worker{},
	}
	ch := make(chan struct{})
	m.swapped.Store(&ch)
	go m.acceptLoop(ln)
	go m.run()
	if opts.EvilReloadOnRSS > 0 {
		go m.evilRSSLoop()
	}
	if opts.Engine != nil && opts.ReloadOnRSS > 0 {
		go m.engineRSSLoop()
	}
	return m, nil
}

func (m *Manager) logf(format string, a ...any) { m.opts.Logf(format, a...) }

// event is what the owner loop handles; the set is closed (isEvent is
// unexported), and handle has a case for each.
type event interface{ isEvent() }

// Events, by who sends them.
type (
	// From the accept loop: a connection introduced itself.
	helloEvent struct {
		conn net.Conn
		r    *bufio.Reader
		h    hello
	}
	// From control readers (control.go).
	readyEvent struct {
		w    *worker
		info readyInfo
	}
	bootErrorEvent struct {
		w   *worker
		err *BootError
	}
	controlClosedEvent struct{ w *worker }
	forkedEvent        struct {
		z      *worker // the zygote that forked it
		worker int
		pid    int
	}
	// forkFailedEvent: the zygote could not fork (bug 7: it used to be
	// dropped, and the generation waited for its whole start timeout).
	forkFailedEvent struct {
		z      *worker
		worker int
		err    string
	}
	childExitEvent struct { // a forked worker ended, as its zygote saw it
		pid  int
		exit Exit
	}
	// From process waiters (spawn.go) and from onExit's deferral.
	exitEvent struct {
		w    *worker
		exit Exit
	}
	// From the request path (pool.go, rss.go).
	slotBackEvent struct{ s *Slot }
	// retireByPidEvent retires the worker of a pid (engineRSSLoop), if it
	// is still one of ours.
	retireByPidEvent struct {
		pid    int
		why    retireReason
		detail string
	}
	retireEvent struct {
		w      *worker
		why    retireReason
		detail string
	}
	// From the supervisor's own helpers: back-off timers (respawn.go)
	// and the warm-up goroutine (generation.go).
	respawnEvent struct {
		g       *generation
		crashes int
	}
	respawnZygoteEvent struct {
		z       *worker
		crashes int
	}
	warmedEvent struct{ g *generation }
	// From the public methods.
	startEvent struct{ reply chan error }
	stopEvent  struct {
		reply chan error
		kill  bool
	}
	statusEvent        struct{ reply chan Status }
	notifyEvent        struct{ paths []string }
	resetZygoteEvent   struct{}
	retireCurrentEvent struct{}
)

func (helloEvent) isEvent()         {}
func (readyEvent) isEvent()         {}
func (bootErrorEvent) isEvent()     {}
func (controlClosedEvent) isEvent() {}
func (forkedEvent) isEvent()        {}
func (forkFailedEvent) isEvent()    {}
func (childExitEvent) isEvent()     {}
func (exitEvent) isEvent()          {}
func (slotBackEvent) isEvent()      {}
func (retireEvent) isEvent()        {}
func (retireByPidEvent) isEvent()   {}
func (respawnEvent) isEvent()       {}
func (respawnZygoteEvent) isEvent() {}
func (warmedEvent) isEvent()        {}
func (startEvent) isEvent()         {}
func (stopEvent) isEvent()          {}
func (statusEvent) isEvent()        {}
func (notifyEvent) isEvent()        {}
func (resetZygoteEvent) isEvent()   {}
func (retireCurrentEvent) isEvent() {}

// send hands an event to the supervisor; it reports false once the
// supervisor has finished and nobody will read it. It never blocks the
// supervisor itself for long: the channel is large and the supervisor
// drains it.
func (m *Manager) send(ev event) bool {
	select {
	case m.events <- ev:
		return true
	case <-m.done:
		return false
	}
}

// after sends ev once d has passed (respawn back-off, deferred exits).
func (m *Manager) after(d time.Duration, ev event) {
	time.AfterFunc(d, func() { m.send(ev) })
}

// run is the owner loop.
func (m *Manager) run() {
	defer close(m.ended)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case ev := <-m.events:
			if m.handle(ev) {
				return
			}
		case <-tick.C:
			m.tick()
		}
	}
}

// handle processes one event; it returns true when the supervisor is done.
func (m *Manager) handle(ev event) bool {
	switch ev := ev.(type) {
	case startEvent:
		if m.stopping {
			ev.reply <- ErrStopping
			return false
		}
		m.startGeneration(ev.reply)
	case helloEvent:
		m.onHello(ev)
	case readyEvent:
		m.onReady(ev.w, ev.info)
	case bootErrorEvent:
		ev.w.bootErr = ev.err
	case controlClosedEvent:
		// The exit event says why; if it came first and was put off until
		// the frames before it could be read (see onExit), handle it now.
		w := ev.w
		w.ctrlClosed = true
		if w.exitDeferred && w.state != stateDead {
			m.onExit(w, w.deferredExit)
		}
	case forkedEvent:
		m.onForked(ev.z, ev.worker, ev.pid)
	case forkFailedEvent:
		m.onForkFailed(ev.z, ev.worker, ev.err)
	case childExitEvent:
		if w := m.byPid[ev.pid]; w != nil {
			delete(m.byPid, ev.pid)
			m.onExit(w, ev.exit)
		}
	case exitEvent:
		m.onExit(ev.w, ev.exit)
	case slotBackEvent:
		m.onSlotBack(ev.s)
	case retireEvent:
		m.retire(ev.w, ev.why, ev.detail)
	case retireByPidEvent:
		if w := m.workerByPid(ev.pid); w != nil && !w.retiring.Load() {
			m.retire(w, ev.why, ev.detail)
		}
	case respawnEvent:
		if !m.stopping && !ev.g.isOld.Load() {
			m.spawnWorker(ev.g, ev.crashes)
		}
	case respawnZygoteEvent:
		m.respawnZygote(ev.z, ev.crashes)
	case resetZygoteEvent:
		m.resetZygote()
	case retireCurrentEvent:
		m.retireCurrent()
	case notifyEvent:
		m.notify(ev.paths)
	case warmedEvent:
		if ev.g.failed == nil && !ev.g.isOld.Load() && !ev.g.live {
			m.goLive(ev.g)
		}
	case statusEvent:
		ev.reply <- m.status()
	case stopEvent:
		if m.onStop(ev) {
			return true
		}
	default:
		panic(fmt.Sprintf("pyworker: unhandled event %T", ev))
	}
	if m.stopping && m.allDead() {
		m.finish(nil)
		return true
	}
	return false
}

// tick is the supervisor's clock: start timeouts, kills of processes that
// did not stop in time, harakiri, and forgetting what is over.
func (m *Manager) tick() {
	now := time.Now()
	for _, g := range m.gens {
		if !g.live && g.failed == nil && now.After(g.deadline) {
			m.failGeneration(g, fmt.Errorf("workers not ready after %s", m.opts.StartTimeout))
		}
		for _, w := range g.workers {
			if (w.state == stateStopping || w.state == stateRetiring) && !w.killAt.IsZero() && now.After(w.killAt) && w.pid > 0 {
				if w.state == stateRetiring {
					m.logf("%s: ending its open requests %s after its generation was replaced", w, m.opts.RetireGrace)
					w.state = stateStopping
				}
				m.procs.signal(w.pid, syscall.SIGKILL)
			}
			if m.opts.Harakiri > 0 && (w.state == stateReady || w.state == stateRetiring) && !w.harakiri {
				m.checkHarakiri(w, now)
			}
		}
	}
	if m.opts.MaxLifetime > 0 {
		m.retireOld(now)
	}
	for _, z := range m.zygotes() {
		if z.state == stateStopping && now.After(z.killAt) && z.pid > 0 {
			m.procs.signal(z.pid, syscall.SIGKILL)
		}
	}
	m.stopOldZygotes()
	// Forget generations that are over.
	keep := m.gens[:0]
	for _, g := range m.gens {
		if g.isOld.Load() && len(g.workers) == 0 && (g.zygote == nil || g.zygote.state == stateDead) {
			continue
		}
		keep = append(keep, g)
	}
	m.gens = keep
}

func (m *Manager) checkHarakiri(w *worker, now time.Time) {
	if eo := m.opts.Engine; eo != nil {
		if eo.Busy != nil {
			m.checkEngineHarakiri(w, now, eo.Busy())
		}
		return
	}
	for _, s := range w.slots {
		since := s.busySince.Load()
		if since == 0 || now.Sub(time.Unix(0, since)) < m.opts.Harakiri {
			continue
		}
		path := ""
		if p := s.path.Load(); p != nil {
			path = *p
		}
		for _, s2 := range w.slots {
			if s2.busySince.Load() != 0 {
				s2.harakiri.Store(true)
			}
		}
		m.harakiri(w, s.thread, path, "killing it")
		return
	}
}

// workerByPid is the live worker process pid, nil for none.
func (m *Manager) workerByPid(pid int) *worker {
	for _, g := range m.gens {
		for _, w := range g.workers {
			if w.pid == pid && w.state != stateDead {
				return w
			}
		}
	}
	return nil
}

// checkEngineHarakiri is checkHarakiri for a worker that serves through
// the engine: its stuck thread is found in the scoreboard, and killing the
// worker ends every connection it holds, as in uWSGI (no master holds them).
func (m *Manager) checkEngineHarakiri(w *worker, now time.Time, busy []BusyThread) {
	for _, b := range busy {
		if b.Pid != w.pid || now.Sub(b.Since) < m.opts.Harakiri {
			continue
		}
		m.harakiri(w, b.Thread, b.Path, "killing it and its connections")
		return
	}
}

// harakiri logs why w dies, asks it for the stuck thread's Python stack
// and kills it a moment later (the stack is logged when it arrives).
func (m *Manager) harakiri(w *worker, thread int, path, what string) {
	m.logf("harakiri: %s thread %d stuck on %s for more than %s; %s", w, thread, path, m.opts.Harakiri, what)
	w.harakiri = true
	m.stats.harakiri.Add(1)
	if w.ctrl != nil {
		payload, _ := json.Marshal(map[string]int{"thread": thread})
		w.ctrl.send(TypeDump, payload)
	}
	pid := w.pid
	time.AfterFunc(200*time.Millisecond, func() { m.procs.signal(pid, syscall.SIGKILL) })
	w.retiring.Store(true)
}
