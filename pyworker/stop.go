package pyworker

// This file stops the supervisor. Stop is graceful: no new requests, every
// worker finishes what it runs and gets its Stop frame, zygotes last. Kill
// is the second ^C: SIGKILL to every process at once. Both end the owner
// loop; from the moment either is called, Start and Reload return
// ErrStopping at once.

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"
)

// ErrStopping is returned by Acquire once the manager is stopping, and by
// Start and Reload once Stop or Kill was called.
var ErrStopping = errors.New("gowsgi is stopping")

// errKilled is what Stop returns when Kill overtook it.
var errKilled = errors.New("killed")

// Stop stops every worker gracefully: each finishes its requests, then
// exits. When ctx ends first, the rest are killed.
func (m *Manager) Stop(ctx context.Context) error {
	m.stopped.Store(true)
	reply := make(chan error, 1)
	if !m.send(stopEvent{reply: reply}) {
		return nil // stopped already
	}
	select {
	case err := <-reply:
		return err
	case <-m.done:
		// Finished by another Stop or a Kill, which answered every Stop
		// it had read; ours may not have been.
		select {
		case err := <-reply:
			return err
		default:
			return nil
		}
	case <-ctx.Done():
		m.Kill()
		return ctx.Err()
	}
}

// killWait bounds how long Kill waits for the owner loop to end. The loop
// never blocks (its writes to Python are queued, control.go), so this is a
// guard against a bug, not a wait anyone should see.
const killWait = 5 * time.Second

// Kill kills every Python process at once and returns once the supervisor
// goroutine has ended.
func (m *Manager) Kill() {
	m.stopped.Store(true)
	reply := make(chan error, 1)
	m.send(stopEvent{reply: reply, kill: true})
	select {
	case <-m.ended:
	case <-time.After(killWait):
		m.logf("the supervisor did not end %s after a kill", killWait)
	}
}

// onStop starts stopping; it returns true when the supervisor is done (a kill).
func (m *Manager) onStop(ev stopEvent) bool {
	m.stopWait = append(m.stopWait, ev.reply)
	if ev.kill {
		m.stopping = true
		for _, g := range m.gens {
			for _, r := range g.waiters {
				r <- ErrStopping
			}
			g.waiters = nil
			for _, w := range g.workers {
				if w.pid > 0 && w.state != stateDead {
					m.procs.signal(w.pid, syscall.SIGKILL)
				}
			}
		}
		for _, z := range m.zygotes() {
			m.procs.signal(z.pid, syscall.SIGKILL)
		}
		// Bug 8: run used to go on after a kill, its goroutine left behind.
		m.finish(errKilled)
		return true
	}
	if m.stopping {
		return false
	}
	m.stopping = true
	for _, g := range m.gens {
		if !g.isOld.Swap(true) {
			close(g.retired)
		}
		for _, r := range g.waiters {
			r <- ErrStopping
		}
		g.waiters = nil
		for _, w := range g.workers {
			switch w.state {
			case stateReady:
				w.state = stateRetiring
				w.retiring.Store(true)
			case stateStarting:
				if w.pid == 0 && w.forkedBy == nil {
					// Waiting for its zygote to be asked to fork it: there
					// is no process to stop (a fork in flight is stopped
					// when its Forked frame comes, onForked).
					m.bury(w)
					continue
				}
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
	return false
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

// finish answers every Stop and closes done; run returns right after.
func (m *Manager) finish(err error) {
	select {
	case <-m.done:
		return
	default:
	}
	m.ln.Close()
	os.RemoveAll(m.sockDir)
	// No control writer outlives the supervisor (after a kill, some may
	// still hold frames for processes that are dying).
	for _, g := range m.gens {
		for _, w := range g.workers {
			if w.ctrl != nil {
				w.ctrl.close()
			}
		}
	}
	for _, z := range m.zygotes() {
		if z.ctrl != nil {
			z.ctrl.close()
		}
	}
	for _, r := range m.stopWait {
		r <- err
	}
	close(m.done)
}
