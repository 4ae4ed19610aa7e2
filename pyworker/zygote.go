package pyworker

// This file is the zygote from the supervisor's side: a Python process that
// imports the app (Preload "app", one per generation) or the installed
// packages (Preload "site"/"none", one shared by all generations) and forks
// the workers. The supervisor asks it with a Fork frame; it answers Forked
// with the child's pid, or with the error fork gave (bug 7), and reports
// each child's end with Exited, since only it can wait for them.

import (
	"encoding/json"
	"fmt"
	"syscall"
	"time"
)

// spawnZygote starts a zygote; g is nil for the shared one.
func (m *Manager) spawnZygote(g *generation) *worker {
	m.nextWorker++
	z := &worker{m: m, id: m.nextWorker, gen: g, token: newToken(), started: time.Now(), isZygote: true}
	if g == nil {
		z.gen = &generation{n: 0}
	}
	cfg := m.baseConfig("zygote")
	cfg.Token, cfg.Worker, cfg.Generation = z.token, z.id, z.gen.n
	pid, err := m.procs.start(cfg, func(e Exit) { m.send(exitEvent{w: z, exit: e}) })
	if err != nil {
		m.failGeneration(g, fmt.Errorf("%w: %w", ErrNoPython, err))
		return nil
	}
	z.pid = pid
	m.pending[z.token] = z
	return z
}

func (m *Manager) zygoteFor(g *generation) *worker {
	if g.zygote != nil {
		return g.zygote
	}
	return m.zygote
}

// fork asks z to fork w. If the frame cannot be queued the control
// connection is broken: the zygote's exit follows, and its replacement
// forks w (onZygoteExit).
func (m *Manager) fork(z, w *worker) {
	payload, _ := json.Marshal(map[string]any{"worker": w.id, "generation": w.gen.n, "token": w.token, "row": w.row})
	if !z.ctrl.send(TypeFork, payload) {
		m.logf("asking %s to fork: its control connection is closed or stuck", z)
	}
	w.forkedBy = z
}

// onZygoteReady forks the workers that were waiting for z.
func (m *Manager) onZygoteReady(z *worker, info readyInfo) {
	delete(m.pending, z.token)
	z.state = stateReady
	m.pythonVersion = info.Python
	for _, g := range m.gens {
		if m.zygoteFor(g) != z {
			continue
		}
		for _, w := range g.workers {
			if w.forkedBy == nil && w.state == stateStarting {
				m.fork(z, w)
			}
		}
	}
}

// forkedChild returns the worker z was asked to fork as worker id.
func (m *Manager) forkedChild(z *worker, id int) *worker {
	for _, g := range m.gens {
		if w := g.workers[id]; w != nil && w.forkedBy == z {
			return w
		}
	}
	return nil
}

func (m *Manager) onForked(z *worker, id, pid int) {
	w := m.forkedChild(z, id)
	if w == nil {
		// Forgotten already (its zygote's generation failed and was
		// dropped): its Hello will be refused; do not let it linger.
		m.procs.signal(pid, syscall.SIGKILL)
		return
	}
	// Bug 5: w.pid is read without a lock by the goroutines that serve w
	// (its control reader, and the request path once its slots are in the
	// pool). The Hello of its control connection carries the pid too and
	// is handled before any of them starts; a Forked frame that arrives
	// after it used to write w.pid again while they read it. Now the pid
	// is written only while it is unknown, which is before they start.
	if w.pid == 0 {
		w.pid = pid
	}
	m.byPid[pid] = w
	switch {
	case w.state == stateDead || w.gen.failed != nil:
		// Killed, or its generation given up, before we learned its pid.
		m.procs.signal(pid, syscall.SIGKILL)
	case w.state == stateStopping:
		// Asked to stop while its fork was in flight: stopProcess had no
		// pid to signal then (its kill deadline still stands).
		m.procs.signal(pid, syscall.SIGTERM)
	}
}

// onForkFailed handles a Forked frame without a pid (bug 7): the zygote
// could not fork (EAGAIN at the process limit, ENOMEM). A generation that
// is starting fails at once with the zygote's error instead of waiting for
// its start timeout; a live one gets the worker again after the back-off.
func (m *Manager) onForkFailed(z *worker, id int, why string) {
	w := m.forkedChild(z, id)
	if w == nil || w.state == stateDead {
		return
	}
	err := fmt.Errorf("%s could not fork worker %d: %s", z, id, why)
	g := w.gen
	m.bury(w)
	if m.stopping || g.isOld.Load() {
		return
	}
	if !g.live {
		m.failGeneration(g, err)
		return
	}
	m.logf("%v", err)
	crashes := crashesInARow(w, time.Now())
	m.respawnLater(w, crashes, respawnEvent{g: g, crashes: crashes})
}

// onZygoteExit handles the end of a zygote: its children die with it
// (PDEATHSIG) and are replaced, and it is restarted with the same back-off
// as a worker, unless it failed to import the app.
func (m *Manager) onZygoteExit(z *worker, e Exit, prev workerState) {
	// Its children did nothing wrong: put fresh ones in their place, to be
	// forked by the next zygote.
	for _, g := range m.gens {
		for _, w := range g.workers {
			if w.forkedBy != z || w.state == stateDead {
				continue
			}
			if w.pid > 0 {
				m.procs.signal(w.pid, syscall.SIGKILL)
			}
			m.bury(w)
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
	if be := bootErrorOf(z, e); be != nil {
		if len(waiting) == 0 {
			m.logf("%s: %s\n%s", z, be.Error(), be.Traceback)
		}
		for _, g := range waiting {
			m.failGeneration(g, be)
		}
		return
	}
	m.logf("%s %s%s", z, e.Describe(), hintSuffix(e, false))
	if e.Cause() == ExitCouldNotStart {
		for _, g := range waiting {
			m.failGeneration(g, errRuntimeCouldNotStart)
		}
		return
	}
	crashes := crashesInARow(z, time.Now())
	if crashes >= maxBootCrashes && len(waiting) > 0 {
		for _, g := range waiting {
			m.failGeneration(g, &BootError{Type: "WorkerCrash",
				Message: fmt.Sprintf("the zygote died %d times while importing the app; the last time it was %s%s", crashes, e.Describe(), hintSuffix(e, false))})
		}
		return
	}
	// Start a new zygote; its Ready forks the workers still missing.
	m.respawnLater(z, crashes, respawnZygoteEvent{z: z, crashes: crashes})
}

// respawnZygote replaces z, a zygote that died, after its back-off.
func (m *Manager) respawnZygote(z *worker, crashes int) {
	if m.stopping {
		return
	}
	if m.zygote == z {
		m.zygote = m.spawnZygote(nil)
		if m.zygote != nil {
			m.zygote.crashes = crashes
		}
	}
	for _, g := range m.gens {
		if g.zygote == z && !g.isOld.Load() {
			g.zygote = m.spawnZygote(g)
			if g.zygote != nil {
				g.zygote.crashes = crashes
			}
		}
	}
}

// ResetZygote stops the shared zygote (Preload "site"), so the next Reload
// starts a fresh one that imports the installed packages again: after a
// package upgrade, the old zygote's modules are stale.
func (m *Manager) ResetZygote() {
	m.send(resetZygoteEvent{})
}

func (m *Manager) resetZygote() {
	if z := m.zygote; z != nil {
		// Its workers die with it (PDEATHSIG): it is stopped only once
		// none of them is left (stopOldZygotes), after the next
		// generation, forked by a new zygote, has replaced them.
		m.zygote = nil
		m.oldZygotes = append(m.oldZygotes, z)
	}
}

// stopOldZygotes stops replaced shared zygotes whose workers are all gone.
func (m *Manager) stopOldZygotes() {
	keep := m.oldZygotes[:0]
	for _, z := range m.oldZygotes {
		if z.state == stateDead {
			continue
		}
		if !m.hasChildren(z) {
			m.stopProcess(z)
		}
		keep = append(keep, z)
	}
	m.oldZygotes = keep
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

// zygotes returns every zygote still alive.
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
