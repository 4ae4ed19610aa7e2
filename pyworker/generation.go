package pyworker

// This file is the generation: the set of workers spawned together by Start
// or Reload. It goes live (becomes the one Acquire takes slots from) only
// once every one of its workers is ready, and then retires the one before
// it. One that fails never goes live, so the old one keeps serving.

import (
	"context"
	"sync/atomic"
	"syscall"
	"time"
)

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

// Start spawns the first generation and waits until every worker is ready.
// An app that fails to import gives an error wrapping ErrAppLoad whose
// *BootError has the traceback. Once Stop or Kill was called it returns
// ErrStopping at once.
func (m *Manager) Start(ctx context.Context) error {
	return m.newGeneration(ctx)
}

// Reload starts a new generation; when all its workers are ready, new
// requests go to it and the old one drains and exits. If the new generation
// fails, the old one keeps serving and Reload returns why. Once Stop or Kill
// was called it returns ErrStopping at once.
func (m *Manager) Reload(ctx context.Context) error {
	start := time.Now()
	err := m.newGeneration(ctx)
	m.noteReload(start, err)
	return err
}

func (m *Manager) newGeneration(ctx context.Context) error {
	if m.stopped.Load() {
		return ErrStopping
	}
	reply := make(chan error, 1)
	if !m.send(startEvent{reply: reply}) {
		return ErrStopping
	}
	select {
	case err := <-reply:
		return err
	case <-m.done:
		// Stopped before the generation was ready: the answer, if any,
		// is already there.
		select {
		case err := <-reply:
			return err
		default:
			return ErrStopping
		}
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Generation returns the current generation number, or 0 before the first is live.
func (m *Manager) Generation() int {
	if g := m.current.Load(); g != nil {
		return g.n
	}
	return 0
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

// maybeReady puts a worker's slots in its generation's pool once its Ready
// frame and all its thread connections have arrived (in any order), and
// makes the generation live when it was the last one missing.
func (m *Manager) maybeReady(w *worker) {
	if !w.ready || m.opts.Engine == nil && len(w.slots) < m.opts.Threads || w.state != stateStarting {
		return
	}
	delete(m.pending, w.token)
	w.state = stateReady
	g := w.gen
	if g.isOld.Load() {
		m.retire(w, retireReplaced, "")
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
			m.retire(w, retirePoolFull, "")
			return
		}
	}
	if w.crashes > 0 {
		m.logf("%s is back", w)
	}
	if !g.live && !g.warming && m.readyCount(g) == m.opts.Processes {
		if m.opts.WarmUp == nil || m.opts.Engine != nil {
			// An engine worker ran the warm-up itself before its Ready.
			m.goLive(g)
			return
		}
		g.warming = true
		go m.warmUp(g, m.opts.Processes*m.opts.Threads)
	}
}

func (m *Manager) readyCount(g *generation) int {
	n := 0
	for _, w := range g.workers {
		if w.state == stateReady {
			n++
		}
	}
	return n
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
		if err := s.Do(context.Background(), m.opts.WarmUp(), discard{}); err != nil {
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

// discard is a Responder that drops the response.
type discard struct{}

func (discard) Start(string, [][2]string) error { return nil }
func (discard) Write([]byte) error              { return nil }
func (discard) Flush()                          {}

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

// RetireCurrent retires the live generation with none after it: dev mode
// on the engine, once a save fails to import, so that only the master
// answers (the error page) until a save fixes it; the next Reload goes
// live with no generation before it. It returns at once.
func (m *Manager) RetireCurrent() { m.send(retireCurrentEvent{}) }

func (m *Manager) retireCurrent() {
	g := m.current.Swap(nil)
	if g == nil {
		return
	}
	ch := make(chan struct{})
	close(*m.swapped.Swap(&ch))
	m.retireGeneration(g)
}

func (m *Manager) retireGeneration(g *generation) {
	if g.isOld.Swap(true) {
		return
	}
	close(g.retired)
	for _, w := range g.workers {
		m.retire(w, retireReplaced, "")
	}
	if g.zygote != nil && g.zygote.state != stateDead {
		m.stopProcess(g.zygote)
	}
}

// failGeneration gives up on a generation that never went live; its
// waiters get err. The live one, if any, keeps serving.
func (m *Manager) failGeneration(g *generation, err error) {
	if g == nil || g.failed != nil {
		return
	}
	g.failed = err
	g.isOld.Store(true)
	close(g.retired)
	for _, w := range g.workers {
		switch {
		case w.state == stateDead:
		case w.pid == 0 && w.forkedBy == nil:
			// Waiting for a zygote to fork it: no process to wait for.
			m.bury(w)
		default:
			w.state = stateStopping
			if w.pid > 0 {
				w.given = true
				m.procs.signal(w.pid, syscall.SIGKILL)
			}
			// A fork in flight is killed when its Forked frame comes
			// (onForked), or dies with its zygote (onZygoteExit).
		}
	}
	if g.zygote != nil && g.zygote.state != stateDead && g.zygote.pid > 0 {
		m.procs.signal(g.zygote.pid, syscall.SIGKILL)
	}
	for _, r := range g.waiters {
		r <- err
	}
	g.waiters = nil
}
