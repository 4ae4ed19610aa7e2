package pyworker

// This file implements the supervisor: one goroutine (Manager.run) owns all
// worker state. Other goroutines only send it events: the accept loop
// (helloEvent), control readers (readyEvent, bootErrorEvent, ...), process
// waiters (exitEvent), the request path (slotBackEvent, retireEvent) and the
// public methods (startEvent, stopEvent).

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// SpawnMode says how worker processes start.
type SpawnMode int

const (
	// SpawnZygote starts one Python process that imports Preload once and
	// forks every worker, so their memory is shared copy-on-write and a new
	// worker is ready in milliseconds.
	SpawnZygote SpawnMode = iota
	// SpawnExec starts every worker as a fresh interpreter that imports the
	// app itself (uWSGI's lazy-apps).
	SpawnExec
)

// Options configure a Manager.
type Options struct {
	Python     string   // interpreter, see FindPython
	Dir        string   // the app's directory (chdir); also sys.path[0]
	Module     string   // "pkg.mod" or "pkg.mod:callable"
	WSGIFile   string   // a file defining the callable, instead of Module
	Callable   string   // default "application"
	PythonPath []string // more sys.path entries
	Env        []string // KEY=VALUE added to the workers' environment
	Processes  int
	Threads    int

	Spawn          SpawnMode
	Preload        string // zygote: "app" (default), "site" or "none"
	DjangoSettings string // zygote "site": the settings module, to preload Django
	// EagerURLConf imports a Django project's URLconf (and its views) at
	// boot, so their import errors are boot errors (dev mode).
	EagerURLConf bool
	// ReportFiles makes each worker list the project files it imported
	// (see ImportedFiles).
	ReportFiles bool

	// WarmUp, when set, is sent to every worker of a new generation before
	// it goes live (its answer is discarded), so the first real request
	// does not pay for lazy imports such as Django's URLconf.
	WarmUp func() *Request

	// QueueGets lets a GET queue behind a short running request (pool.go).
	QueueGets bool

	MaxRequests  int           // retire a worker after this many requests; 0 = never
	MaxLifetime  time.Duration // retire a worker that has run this long (lifetime.go); 0 = never
	Harakiri     time.Duration // kill a worker stuck on one request this long; 0 = never
	StartTimeout time.Duration // how long a generation may take to be ready; default 60s

	// ReloadOnRSS retires a worker whose RSS passes this many bytes after
	// its request (see rss.go); EvilReloadOnRSS kills it at once. 0 = never.
	ReloadOnRSS, EvilReloadOnRSS int64

	Stdout, Stderr io.Writer                     // the workers' stdout/stderr; default os.Stdout/os.Stderr
	Logf           func(format string, a ...any) // log lines; default: stderr
}

// Manager runs the Python workers of one app and hands out their slots.
type Manager struct {
	opts       Options
	runtimeDir string
	sockDir    string
	ln         net.Listener

	events  chan any
	current atomic.Pointer[generation]
	swapped atomic.Pointer[chan struct{}] // closed and replaced when current changes
	done    chan struct{}                 // closed when run returns

	// Owned by run.
	nextWorker int
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

// ImportedFiles returns the project files the newest ready worker had
// imported (Options.ReportFiles), or nil.
func (m *Manager) ImportedFiles() []string {
	if p := m.files.Load(); p != nil {
		return *p
	}
	return nil
}

type generation struct {
	n       int
	idle    chan *Slot
	queue   chan *Slot    // slots a queueable request may queue behind (pool.go)
	retired chan struct{} // closed when it stops taking new requests
	isOld   atomic.Bool
	workers map[int]*worker
	zygote  *worker // its own zygote (Preload "app")
	waiters []chan error
	live    bool // has been current
	warming bool // a warm-up is running
	// bootCrashes counts workers that died before the generation went live.
	bootCrashes int
	failed      error
	deadline    time.Time
}

// generation returns the current generation number, or 0 before the first is live.
func (m *Manager) Generation() int {
	if g := m.current.Load(); g != nil {
		return g.n
	}
	return 0
}

// New prepares a Manager: it extracts the Python runtime and opens the
// master socket the workers connect back to. Start spawns the workers.
func New(opts Options) (*Manager, error) {
	if opts.Processes < 1 {
		opts.Processes = 1
	}
	if opts.Threads < 1 {
		opts.Threads = 1
	}
	if opts.Callable == "" {
		opts.Callable = "application"
	}
	if opts.Preload == "" {
		opts.Preload = "app"
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 60 * time.Second
	}
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	if opts.Logf == nil {
		opts.Logf = func(format string, a ...any) { fmt.Fprintf(os.Stderr, "gowsgi: "+format+"\n", a...) }
	}
	rt, err := ExtractRuntime()
	if err != nil {
		return nil, err
	}
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
		opts: opts, runtimeDir: rt, sockDir: dir, ln: ln,
		events:  make(chan any, 1024),
		done:    make(chan struct{}),
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
	if opts.MaxLifetime > 0 {
		go m.lifetimeLoop()
	}
	return m, nil
}

func (m *Manager) logf(format string, a ...any) { m.opts.Logf(format, a...) }

// send hands an event to the supervisor. It never blocks the supervisor
// itself for long: the channel is large and the supervisor drains it.
func (m *Manager) send(ev any) {
	select {
	case m.events <- ev:
	case <-m.done:
	}
}

// Events.
type (
	helloEvent struct {
		conn net.Conn
		r    *bufio.Reader
		h    hello
	}
	readyEvent struct {
		w    *worker
		info readyInfo
	}
	bootErrorEvent struct {
		w   *worker
		err *BootError
	}
	controlClosedEvent struct{ w *worker }
	exitEvent          struct {
		w    *worker
		exit Exit
	}
	forkedEvent struct {
		worker int
		pid    int
	}
	zygoteExitEvent struct {
		pid  int
		exit Exit
	}
	slotBackEvent struct{ s *Slot }
	retireEvent   struct{ w *worker }
	respawnEvent  struct {
		g     *generation
		crash int
	}
	startEvent struct{ reply chan error }
	stopEvent  struct {
		reply chan error
		kill  bool
	}
	statusEvent struct{ reply chan Status }
	notifyEvent struct{ paths []string }
)

// ResetZygote stops the shared zygote (Preload "site"), so the next Reload
// starts a fresh one that imports the installed packages again: after a
// package upgrade, the old zygote's modules are stale.
func (m *Manager) ResetZygote() {
	m.send(resetZygoteEvent{})
}

type resetZygoteEvent struct{}

// Notify tells every live worker that files changed (templates, static
// files): the runtime passes them to Django's autoreload file_changed
// signal, which resets the template loaders' caches.
func (m *Manager) Notify(paths []string) {
	m.send(notifyEvent{paths: paths})
}

// Start spawns the first generation and waits until every worker is ready.
// An app that fails to import gives an error wrapping ErrAppLoad whose
// *BootError has the traceback.
func (m *Manager) Start(ctx context.Context) error {
	return m.newGeneration(ctx)
}

// Reload starts a new generation; when all its workers are ready, new
// requests go to it and the old one drains and exits. If the new generation
// fails, the old one keeps serving and Reload returns why.
func (m *Manager) Reload(ctx context.Context) error {
	start := time.Now()
	err := m.newGeneration(ctx)
	m.noteReload(start, err)
	return err
}

func (m *Manager) newGeneration(ctx context.Context) error {
	reply := make(chan error, 1)
	m.send(startEvent{reply: reply})
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stop stops every worker gracefully: each finishes its requests, then
// exits. When ctx ends first, the rest are killed.
func (m *Manager) Stop(ctx context.Context) error {
	reply := make(chan error, 1)
	m.send(stopEvent{reply: reply})
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		m.Kill()
		return ctx.Err()
	}
}

// Kill kills every Python process at once and waits for the supervisor to end.
func (m *Manager) Kill() {
	reply := make(chan error, 1)
	m.send(stopEvent{reply: reply, kill: true})
	select {
	case <-reply:
	case <-m.done:
	case <-time.After(5 * time.Second):
	}
}

func (m *Manager) run() {
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
func (m *Manager) handle(ev any) bool {
	switch ev := ev.(type) {
	case startEvent:
		if m.stopping {
			ev.reply <- errors.New("gowsgi is stopping")
			return false
		}
		m.startGeneration(ev.reply)
	case helloEvent:
		m.onHello(ev)
	case readyEvent:
		m.onReady(ev.w, ev.info)
	case bootErrorEvent:
		m.onBootError(ev.w, ev.err)
	case controlClosedEvent:
		// The exit event says why; if it came first and was put off until
		// the BootError could be read (see onExit), handle it now.
		if w := ev.w; w.exitDeferred && w.state != stateDead {
			m.onExit(w, w.deferredExit)
		}
	case forkedEvent:
		m.onForked(ev.worker, ev.pid)
	case zygoteExitEvent:
		if w := m.byPid[ev.pid]; w != nil {
			delete(m.byPid, ev.pid)
			m.onExit(w, ev.exit)
		}
	case exitEvent:
		m.onExit(ev.w, ev.exit)
	case slotBackEvent:
		m.onSlotBack(ev.s)
	case retireEvent:
		m.retire(ev.w, "max-requests reached")
	case respawnEvent:
		if !m.stopping && !ev.g.isOld.Load() {
			m.spawnWorker(ev.g, ev.crash)
		}
	case respawnZygoteEvent:
		if m.stopping {
			break
		}
		if m.zygote == ev.z {
			m.zygote = m.spawnZygote(nil)
			if m.zygote != nil {
				m.zygote.crashes = ev.crashes
			}
		}
		for _, g := range m.gens {
			if g.zygote == ev.z && !g.isOld.Load() {
				g.zygote = m.spawnZygote(g)
				if g.zygote != nil {
					g.zygote.crashes = ev.crashes
				}
			}
		}
	case resetZygoteEvent:
		if z := m.zygote; z != nil {
			// Its workers die with it (PDEATHSIG): it is stopped only once
			// none of them is left (see tick), after the next generation,
			// forked by a new zygote, has replaced them.
			m.zygote = nil
			m.oldZygotes = append(m.oldZygotes, z)
		}
	case notifyEvent:
		payload, _ := json.Marshal(map[string][]string{"changed": ev.paths})
		for _, g := range m.gens {
			for _, w := range g.workers {
				if w.state == stateReady && w.ctrl != nil {
					writeFrame(w.ctrl, TypeNotify, payload)
				}
			}
		}
	case warmedEvent:
		if ev.g.failed == nil && !ev.g.isOld.Load() && !ev.g.live {
			m.goLive(ev.g)
		}
	case statusEvent:
		ev.reply <- m.status()
	case callEvent:
		ev.f()
	case stopEvent:
		m.onStop(ev)
	}
	if m.stopping && m.allDead() {
		m.finish(nil)
		return true
	}
	return false
}

func (m *Manager) startGeneration(reply chan error) {
	m.nextGen++
	g := &generation{
		n:        m.nextGen,
		idle:     make(chan *Slot, m.opts.Processes*m.opts.Threads),
		queue:    make(chan *Slot, m.opts.Processes*m.opts.Threads),
		retired:  make(chan struct{}),
		workers:  map[int]*worker{},
		waiters:  []chan error{reply},
		deadline: time.Now().Add(m.opts.StartTimeout),
	}
	m.gens = append(m.gens, g)
	if m.opts.Spawn == SpawnZygote {
		if m.opts.Preload == "app" {
			g.zygote = m.spawnZygote(g)
			if g.zygote == nil {
				return
			}
		} else if m.zygote == nil || m.zygote.state == stateDead {
			m.zygote = m.spawnZygote(nil)
			if m.zygote == nil {
				return
			}
		}
	}
	for i := 0; i < m.opts.Processes; i++ {
		m.spawnWorker(g, 0)
	}
}

func (m *Manager) zygoteFor(g *generation) *worker {
	if g.zygote != nil {
		return g.zygote
	}
	return m.zygote
}

func (m *Manager) baseConfig(mode string) workerConfig {
	app := map[string]string{"callable": m.opts.Callable}
	if m.opts.WSGIFile != "" {
		app["wsgi_file"] = m.opts.WSGIFile
	} else {
		app["module"] = m.opts.Module
	}
	return workerConfig{
		Mode: mode, Socket: m.ln.Addr().String(), Chdir: m.opts.Dir, PythonPath: m.opts.PythonPath,
		App: app, Threads: m.opts.Threads, Processes: m.opts.Processes,
		Preload: m.opts.Preload, DjangoSettings: m.opts.DjangoSettings, EagerURLConf: m.opts.EagerURLConf,
		ReportFiles: m.opts.ReportFiles,
	}
}

// spawnZygote starts a zygote; g is nil for the shared one.
func (m *Manager) spawnZygote(g *generation) *worker {
	m.nextWorker++
	z := &worker{m: m, id: m.nextWorker, gen: g, token: newToken(), started: time.Now(), isZygote: true}
	if g == nil {
		z.gen = &generation{n: 0}
	}
	cfg := m.baseConfig("zygote")
	cfg.Token, cfg.Worker, cfg.Generation = z.token, z.id, z.gen.n
	cmd, err := m.startPython(cfg, func(e Exit) { m.send(exitEvent{w: z, exit: e}) })
	if err != nil {
		m.failGeneration(g, fmt.Errorf("%w: %v", ErrNoPython, err))
		return nil
	}
	z.cmd, z.pid = cmd, cmd.Process.Pid
	m.pending[z.token] = z
	return z
}

func (m *Manager) spawnWorker(g *generation, crashes int) {
	m.nextWorker++
	w := &worker{m: m, id: m.nextWorker, gen: g, token: newToken(), started: time.Now(), crashes: crashes}
	g.workers[w.id] = w
	m.pending[w.token] = w
	if m.opts.Spawn == SpawnExec {
		cfg := m.baseConfig("worker")
		cfg.Token, cfg.Worker, cfg.Generation = w.token, w.id, g.n
		cmd, err := m.startPython(cfg, func(e Exit) { m.send(exitEvent{w: w, exit: e}) })
		if err != nil {
			delete(g.workers, w.id)
			delete(m.pending, w.token)
			m.failGeneration(g, fmt.Errorf("%w: %v", ErrNoPython, err))
			return
		}
		w.cmd, w.pid = cmd, cmd.Process.Pid
		return
	}
	if z := m.zygoteFor(g); z != nil && z.state == stateReady {
		m.fork(z, w)
	}
	// Otherwise the zygote's Ready forks it.
}

func (m *Manager) fork(z, w *worker) {
	payload, _ := json.Marshal(map[string]any{"worker": w.id, "generation": w.gen.n, "token": w.token})
	if err := writeFrame(z.ctrl, TypeFork, payload); err != nil {
		m.logf("asking the zygote (pid %d) to fork: %v", z.pid, err)
	}
	w.forkedBy = z
}

func (m *Manager) onHello(ev helloEvent) {
	w := m.pending[ev.h.Token]
	if w == nil {
		m.logf("connection from pid %d with an unknown token refused", ev.h.Pid)
		ev.conn.Close()
		return
	}
	switch ev.h.Role {
	case "control", "zygote":
		if w.pid == 0 {
			w.pid = ev.h.Pid
		}
		w.ctrl = ev.conn
		go m.controlLoop(w, ev.conn, ev.r)
	case "thread":
		s := newSlot(w, ev.h.Thread, ev.conn, ev.r)
		w.slots = append(w.slots, s)
		m.maybeReady(w)
	default:
		m.logf("connection with unknown role %q refused", ev.h.Role)
		ev.conn.Close()
	}
}

func (m *Manager) onForked(id, pid int) {
	for _, g := range m.gens {
		if w := g.workers[id]; w != nil {
			w.pid = pid
			m.byPid[pid] = w
			if w.state == stateDead {
				// Killed before we learned its pid.
				syscall.Kill(pid, syscall.SIGKILL)
			}
			return
		}
	}
}

func (m *Manager) onReady(w *worker, info readyInfo) {
	if w.isZygote {
		delete(m.pending, w.token)
		w.state = stateReady
		m.pythonVersion = info.Python
		for _, g := range m.gens {
			if m.zygoteFor(g) != w {
				continue
			}
			for _, cw := range g.workers {
				if cw.forkedBy == nil && cw.state == stateStarting {
					m.fork(w, cw)
				}
			}
		}
		return
	}
	w.ready = true
	if info.Python != "" {
		m.pythonVersion = info.Python
	}
	if info.Files != nil {
		m.files.Store(&info.Files)
	}
	m.maybeReady(w)
}

// maybeReady puts a worker's slots in its generation's pool once its Ready
// frame and all its thread connections have arrived (in any order).
func (m *Manager) maybeReady(w *worker) {
	if !w.ready || len(w.slots) < m.opts.Threads || w.state != stateStarting {
		return
	}
	delete(m.pending, w.token)
	w.state = stateReady
	g := w.gen
	if g.isOld.Load() {
		m.retire(w, "its generation was replaced")
		return
	}
	m.drainIdle(g)
	for _, s := range w.slots {
		select {
		case g.idle <- s:
		default:
			// More live slots than the pool holds: a bug, but never a
			// reason to block the supervisor.
			m.logf("%s: the pool is full; retiring it", w)
			m.retire(w, "the pool is full")
			return
		}
	}
	if w.crashes > 0 {
		m.logf("%s is back", w)
	}
	if !g.live && !g.warming && m.readyCount(g) == m.opts.Processes {
		if m.opts.WarmUp == nil {
			m.goLive(g)
			return
		}
		g.warming = true
		go m.warmUp(g, m.opts.Processes*m.opts.Threads)
	}
}

// warmUp sends one warm-up request to each worker of g, which is not live
// yet, so nothing else takes its slots.
func (m *Manager) warmUp(g *generation, slots int) {
	seen := map[*worker]bool{}
	var taken []*Slot
	for i := 0; i < slots; i++ {
		var s *Slot
		select {
		case s = <-g.idle:
		case <-g.retired:
		}
		if s == nil {
			break
		}
		taken = append(taken, s)
		if seen[s.w] || s.w.dead.Load() {
			continue
		}
		seen[s.w] = true
		if err := s.Do(m.opts.WarmUp(), discard{}); err != nil {
			m.logf("warm-up request on %s: %v", s.w, err)
		}
	}
	for _, s := range taken {
		if s.broken.Load() || s.w.dead.Load() {
			m.send(slotBackEvent{s: s})
			continue
		}
		g.idle <- s
	}
	m.send(warmedEvent{g: g})
}

type warmedEvent struct{ g *generation }

// discard is a Responder that drops the response.
type discard struct{}

func (discard) Start(string, [][2]string) error { return nil }
func (discard) Write([]byte) error              { return nil }
func (discard) Flush()                          {}

func (m *Manager) readyCount(g *generation) int {
	n := 0
	for _, w := range g.workers {
		if w.state == stateReady {
			n++
		}
	}
	return n
}

// goLive makes g the current generation and retires the one before it.
func (m *Manager) goLive(g *generation) {
	g.live = true
	old := m.current.Swap(g)
	ch := make(chan struct{})
	prev := m.swapped.Swap(&ch)
	close(*prev)
	if old != nil {
		m.retireGeneration(old)
	}
	for _, r := range g.waiters {
		r <- nil
	}
	g.waiters = nil
}

func (m *Manager) retireGeneration(g *generation) {
	if g.isOld.Swap(true) {
		return
	}
	close(g.retired)
	for _, w := range g.workers {
		m.retire(w, "its generation was replaced")
	}
	if g.zygote != nil && g.zygote.state != stateDead {
		m.stopProcess(g.zygote)
	}
}

// retire stops giving w new requests and stops it once its slots are back.
func (m *Manager) retire(w *worker, why string) {
	switch w.state {
	case stateStarting:
		m.stopProcess(w)
		return
	case stateReady:
	default:
		return
	}
	w.state = stateRetiring
	w.retiring.Store(true)
	m.noteRetire(why)
	if why != "its generation was replaced" {
		m.logf("retiring %s: %s", w, why)
		if !w.gen.isOld.Load() && !m.stopping {
			m.spawnWorker(w.gen, 0)
		}
	}
	// Collect its idle slots; busy ones come back through Release.
	m.drainIdle(w.gen)
	m.maybeStop(w)
}

// drainIdle takes the slots of retiring workers out of g's idle channel.
func (m *Manager) drainIdle(g *generation) {
	n := len(g.idle)
	for i := 0; i < n; i++ {
		select {
		case s := <-g.idle:
			if s.w.retiring.Load() || s.w.dead.Load() || s.broken.Load() {
				s.w.back++
			} else {
				g.idle <- s
			}
		default:
			return
		}
	}
}

func (m *Manager) onSlotBack(s *Slot) {
	s.w.back++
	if s.broken.Load() && s.w.state == stateReady {
		// The connection broke but the process lives: replace the worker.
		m.retire(s.w, "a connection to it broke")
		return
	}
	m.maybeStop(s.w)
}

func (m *Manager) maybeStop(w *worker) {
	if w.state == stateRetiring && w.back >= len(w.slots) {
		m.stopProcess(w)
	}
}

// stopProcess asks w to exit (Stop frame, SIGTERM as fallback) and kills it
// when it has not exited after a grace period (see tick).
func (m *Manager) stopProcess(w *worker) {
	if w.state == stateDead || w.state == stateStopping {
		return
	}
	w.state = stateStopping
	w.retiring.Store(true)
	w.killAt = time.Now().Add(10 * time.Second)
	if w.ctrl == nil || writeFrame(w.ctrl, TypeStop, nil) != nil {
		if w.pid > 0 {
			syscall.Kill(w.pid, syscall.SIGTERM)
		}
	}
}

func (m *Manager) onBootError(w *worker, be *BootError) {
	w.bootErr = be
}

func (m *Manager) onExit(w *worker, e Exit) {
	if w.state == stateDead {
		return
	}
	if e.Cause() == ExitAppLoad && w.bootErr == nil && !w.exitDeferred {
		// The process said "app failed to import" and exited, but its
		// BootError frame (with the traceback) may not have been read yet:
		// the exit can overtake its Hello or its control frames. Wait for
		// the control connection to close, or a second at most.
		w.exitDeferred, w.deferredExit = true, e
		time.AfterFunc(time.Second, func() { m.send(exitEvent{w: w, exit: e}) })
		return
	}
	prev := w.state
	m.noteExit(w, e)
	w.state = stateDead
	w.dead.Store(true)
	delete(m.pending, w.token)
	if w.pid > 0 {
		delete(m.byPid, w.pid)
	}
	for _, s := range w.slots {
		s.conn.Close()
	}
	if w.ctrl != nil {
		w.ctrl.Close()
	}
	g := w.gen
	if w.isZygote {
		m.onZygoteExit(w, e, prev)
		return
	}
	m.drainIdle(g)
	delete(g.workers, w.id)
	// A retiring worker's replacement was started when it began retiring.
	expected := prev == stateStopping || prev == stateRetiring || m.stopping
	if expected && e.Cause() == ExitClean {
		return
	}
	if expected && e.Signal == syscall.SIGKILL && !w.killAt.IsZero() && time.Now().After(w.killAt) {
		m.logf("%s did not stop in time and was killed", w)
		return
	}
	if w.bootErr != nil || e.Cause() == ExitAppLoad {
		be := w.bootErr
		if be == nil {
			be = &BootError{Type: "Error", Message: "the app failed to import (no details were sent)"}
		}
		if !g.live {
			m.failGeneration(g, be)
			return
		}
		m.logf("%s: %s\n%s", w, be.Error(), be.Traceback)
		m.scheduleRespawn(w, e)
		return
	}
	hint := e.Hint()
	if hint != "" {
		hint = "; " + hint
	}
	if w.harakiri {
		hint = "; killed by harakiri"
	}
	m.logf("%s %s%s", w, e.Describe(), hint)
	if expected || g.isOld.Load() {
		return
	}
	if !g.live && e.Cause() == ExitCouldNotStart {
		m.failGeneration(g, fmt.Errorf("worker %s: %s", e.Describe(), "the python runtime could not start (see its message above)"))
		return
	}
	if !g.live {
		// A generation whose workers keep dying before they are ready
		// (a segfault while importing the app) will not get better by
		// waiting for the start timeout.
		g.bootCrashes++
		if g.bootCrashes >= maxBootCrashes {
			m.failGeneration(g, &BootError{Type: "WorkerCrash",
				Message: fmt.Sprintf("workers died %d times before they were ready; the last was %s (%s)", g.bootCrashes, e.Describe(), e.Hint())})
			return
		}
	}
	m.scheduleRespawn(w, e)
}

// maxBootCrashes is how many times workers of a new generation may die
// before they are ready before the generation is given up.
const maxBootCrashes = 3

// scheduleRespawn replaces a dead worker, backing off when it keeps dying
// young so a crash loop never spins the CPU.
func (m *Manager) scheduleRespawn(w *worker, e Exit) {
	crashes := 0
	if time.Since(w.started) < 10*time.Second {
		crashes = w.crashes + 1
	}
	delay := time.Duration(0)
	if crashes > 0 {
		delay = 100 * time.Millisecond << min(crashes-1, 7)
		if delay > 10*time.Second {
			delay = 10 * time.Second
		}
		if crashes > 1 {
			m.logf("%s died %d times in a row; next start in %s", w, crashes, delay)
		}
	}
	g := w.gen
	time.AfterFunc(delay, func() { m.send(respawnEvent{g: g, crash: crashes}) })
}

func (m *Manager) onZygoteExit(z *worker, e Exit, prev workerState) {
	// Its children die with it (PDEATHSIG). They did nothing wrong: put
	// fresh ones in their place, to be forked by the next zygote.
	for _, g := range m.gens {
		for _, w := range g.workers {
			if w.forkedBy != z || w.state == stateDead {
				continue
			}
			if w.pid > 0 {
				syscall.Kill(w.pid, syscall.SIGKILL)
			}
			w.state = stateDead
			w.dead.Store(true)
			delete(m.pending, w.token)
			for _, s := range w.slots {
				s.conn.Close()
			}
			m.drainIdle(g)
			delete(g.workers, w.id)
			if !m.stopping && !g.isOld.Load() {
				m.spawnWorker(g, 0)
			}
		}
	}
	if m.stopping || prev == stateStopping && e.Cause() == ExitClean {
		return
	}
	// The generations that were waiting for this zygote.
	var waiting []*generation
	for _, g := range m.gens {
		if !g.live && g.failed == nil && (g.zygote == z || g.zygote == nil && m.zygote == z) {
			waiting = append(waiting, g)
		}
	}
	if z.bootErr != nil || e.Cause() == ExitAppLoad {
		be := z.bootErr
		if be == nil {
			be = &BootError{Type: "Error", Message: "the app failed to import (no details were sent)"}
		}
		if len(waiting) == 0 {
			m.logf("zygote (pid %d): %s\n%s", z.pid, be.Error(), be.Traceback)
		}
		for _, g := range waiting {
			m.failGeneration(g, be)
		}
		return
	}
	hint := e.Hint()
	if hint != "" {
		hint = "; " + hint
	}
	m.logf("zygote (pid %d) %s%s", z.pid, e.Describe(), hint)
	if e.Cause() == ExitCouldNotStart {
		for _, g := range waiting {
			m.failGeneration(g, errors.New("the python runtime could not start (see its message above)"))
		}
		return
	}
	crashes := 0
	if time.Since(z.started) < 10*time.Second {
		crashes = z.crashes + 1
	}
	if crashes >= maxBootCrashes && len(waiting) > 0 {
		for _, g := range waiting {
			m.failGeneration(g, &BootError{Type: "WorkerCrash",
				Message: fmt.Sprintf("the zygote died %d times while importing the app; the last time it was %s%s", crashes, e.Describe(), hint)})
		}
		return
	}
	delay := 100 * time.Millisecond << min(max(crashes-1, 0), 7)
	if delay > 10*time.Second {
		delay = 10 * time.Second
	}
	if crashes > 1 {
		m.logf("zygote died %d times in a row; next start in %s", crashes, delay)
	}
	// Start a new zygote; its Ready forks the workers still missing.
	time.AfterFunc(delay, func() { m.send(respawnZygoteEvent{z: z, crashes: crashes}) })
}

type respawnZygoteEvent struct {
	z       *worker
	crashes int
}

// failGeneration gives up on a generation that never went live.
func (m *Manager) failGeneration(g *generation, err error) {
	if g == nil || g.failed != nil {
		return
	}
	g.failed = err
	g.isOld.Store(true)
	close(g.retired)
	for _, w := range g.workers {
		if w.state != stateDead {
			w.state = stateStopping
			if w.pid > 0 {
				syscall.Kill(w.pid, syscall.SIGKILL)
			}
		}
	}
	if g.zygote != nil && g.zygote.state != stateDead && g.zygote.pid > 0 {
		syscall.Kill(g.zygote.pid, syscall.SIGKILL)
	}
	for _, r := range g.waiters {
		r <- err
	}
	g.waiters = nil
}

func (m *Manager) tick() {
	now := time.Now()
	for _, g := range m.gens {
		if !g.live && g.failed == nil && now.After(g.deadline) {
			m.failGeneration(g, fmt.Errorf("workers not ready after %s", m.opts.StartTimeout))
		}
		for _, w := range g.workers {
			if w.state == stateStopping && !w.killAt.IsZero() && now.After(w.killAt) && w.pid > 0 {
				syscall.Kill(w.pid, syscall.SIGKILL)
			}
			if m.opts.Harakiri > 0 && (w.state == stateReady || w.state == stateRetiring) && !w.harakiri {
				m.checkHarakiri(w, now)
			}
		}
	}
	// Stop replaced zygotes whose workers are all gone.
	keepZ := m.oldZygotes[:0]
	for _, z := range m.oldZygotes {
		if z.state == stateDead {
			continue
		}
		if !m.hasChildren(z) {
			m.stopProcess(z)
		}
		keepZ = append(keepZ, z)
	}
	m.oldZygotes = keepZ
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
	for _, s := range w.slots {
		since := s.busySince.Load()
		if since == 0 || now.Sub(time.Unix(0, since)) < m.opts.Harakiri {
			continue
		}
		path := ""
		if p := s.path.Load(); p != nil {
			path = *p
		}
		m.logf("harakiri: %s thread %d stuck on %s for more than %s; killing it", w, s.thread, path, m.opts.Harakiri)
		w.harakiri = true
		m.stats.harakiri.Add(1)
		for _, s2 := range w.slots {
			if s2.busySince.Load() != 0 {
				s2.harakiri.Store(true)
			}
		}
		if w.ctrl != nil {
			payload, _ := json.Marshal(map[string]int{"thread": s.thread})
			writeFrame(w.ctrl, TypeDump, payload)
		}
		pid := w.pid
		// Give the stack dump a moment to arrive, then kill.
		time.AfterFunc(200*time.Millisecond, func() { syscall.Kill(pid, syscall.SIGKILL) })
		w.retiring.Store(true)
		return
	}
}

func (m *Manager) onStop(ev stopEvent) {
	m.stopWait = append(m.stopWait, ev.reply)
	if ev.kill {
		m.stopping = true
		for _, g := range m.gens {
			for _, w := range g.workers {
				if w.pid > 0 && w.state != stateDead {
					syscall.Kill(w.pid, syscall.SIGKILL)
				}
			}
		}
		for _, z := range m.zygotes() {
			syscall.Kill(z.pid, syscall.SIGKILL)
		}
		m.finish(errors.New("killed"))
		return
	}
	if m.stopping {
		return
	}
	m.stopping = true
	for _, g := range m.gens {
		if !g.isOld.Swap(true) {
			close(g.retired)
		}
		for _, r := range g.waiters {
			r <- errors.New("gowsgi is stopping")
		}
		g.waiters = nil
		for _, w := range g.workers {
			switch w.state {
			case stateReady:
				w.state = stateRetiring
				w.retiring.Store(true)
			case stateStarting:
				m.stopProcess(w)
			}
		}
		m.drainIdle(g)
		for _, w := range g.workers {
			m.maybeStop(w)
		}
	}
	for _, z := range m.zygotes() {
		m.stopProcess(z)
	}
}

// hasChildren reports whether a worker forked by z is still alive.
func (m *Manager) hasChildren(z *worker) bool {
	for _, g := range m.gens {
		for _, w := range g.workers {
			if w.forkedBy == z && w.state != stateDead {
				return true
			}
		}
	}
	return false
}

func (m *Manager) zygotes() []*worker {
	var zs []*worker
	for _, z := range m.oldZygotes {
		if z.state != stateDead {
			zs = append(zs, z)
		}
	}
	if m.zygote != nil && m.zygote.state != stateDead {
		zs = append(zs, m.zygote)
	}
	for _, g := range m.gens {
		if g.zygote != nil && g.zygote.state != stateDead {
			zs = append(zs, g.zygote)
		}
	}
	return zs
}

func (m *Manager) allDead() bool {
	for _, g := range m.gens {
		for _, w := range g.workers {
			if w.state != stateDead {
				return false
			}
		}
	}
	return len(m.zygotes()) == 0
}

func (m *Manager) finish(err error) {
	select {
	case <-m.done:
		return
	default:
	}
	m.ln.Close()
	os.RemoveAll(m.sockDir)
	for _, r := range m.stopWait {
		r <- err
	}
	close(m.done)
}

// Status is a snapshot of the workers, for logs and status pages.
type Status struct {
	Generation int
	Python     string
	Workers    []WorkerStatus
}

// WorkerStatus describes one worker process.
type WorkerStatus struct {
	ID, Pid, Generation int
	State               string
	Requests            int64
	Started             time.Time      // when the process was spawned
	Threads             []ThreadStatus // what each thread runs (metrics.go)
}

// Status returns a snapshot of the workers.
func (m *Manager) Status() Status {
	reply := make(chan Status, 1)
	m.send(statusEvent{reply: reply})
	select {
	case st := <-reply:
		return st
	case <-m.done:
		return Status{}
	}
}

func (m *Manager) status() Status {
	st := Status{Generation: m.Generation(), Python: m.pythonVersion}
	for _, g := range m.gens {
		for _, w := range g.workers {
			st.Workers = append(st.Workers, workerStatus(w, g))
		}
	}
	sort.Slice(st.Workers, func(i, j int) bool { return st.Workers[i].ID < st.Workers[j].ID })
	return st
}

// PythonVersion is the first line of the workers' sys.version.
func (m *Manager) PythonVersion() string {
	v := m.Status().Python
	if i := strings.IndexByte(v, ' '); i > 0 {
		return v[:i]
	}
	return v
}
