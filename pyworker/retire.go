package pyworker

// This file retires workers: a retiring worker takes no new request,
// finishes the ones it has, gets its Stop frame once all its slots are back
// and is killed if it has not exited 10s later. Why it retires is a typed
// reason, and the reason decides what happens: a worker whose generation
// was replaced is not replaced (the new generation has its own), any other
// is replaced at once.

import (
	"syscall"
	"time"
)

// retireReason says why a worker retires.
type retireReason int

const (
	retireReplaced    retireReason = iota // its generation was replaced
	retireMaxRequests                     // it served max-requests requests
	retireRSS                             // reload-on-rss: its memory is over the limit (rss.go)
	retireBroken                          // a connection to it broke, the process lives
	retirePoolFull                        // more slots than its generation's pool holds (a bug)
	retireLifetime                        // max-worker-lifetime: it has run long enough (lifetime.go)
)

// String is the reason as a log line says it.
func (r retireReason) String() string {
	switch r {
	case retireReplaced:
		return "its generation was replaced"
	case retireMaxRequests:
		return "max-requests reached"
	case retireRSS:
		return "reload-on-rss"
	case retireBroken:
		return "a connection to it broke"
	case retirePoolFull:
		return "the pool is full"
	case retireLifetime:
		return "max-worker-lifetime"
	}
	return "retired"
}

// label is the reason's name in Counters.Retired (retireLabels).
func (r retireReason) label() int {
	switch r {
	case retireMaxRequests:
		return 1
	case retireRSS:
		return 2
	case retireReplaced:
		return 3
	case retireBroken:
		return 4
	case retireLifetime:
		return 5
	}
	return 0 // "other"
}

// replaced says whether a new worker takes the retiring one's place at
// once: not when its whole generation is being replaced.
func (r retireReason) replaced() bool { return r != retireReplaced }

// retire stops giving w new requests and stops it once its slots are back.
// detail, when not empty, follows the reason in the log line.
func (m *Manager) retire(w *worker, why retireReason, detail string) {
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
	if why == retireReplaced && m.opts.RetireGrace > 0 {
		w.killAt = time.Now().Add(m.opts.RetireGrace) // see tick
	}
	if why.replaced() {
		if detail != "" {
			m.logf("retiring %s: %s: %s", w, why, detail)
		} else {
			m.logf("retiring %s: %s", w, why)
		}
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
		m.retire(s.w, retireBroken, "")
		return
	}
	m.maybeStop(s.w)
}

func (m *Manager) maybeStop(w *worker) {
	if w.state == stateRetiring && w.back >= len(w.slots) {
		m.stopProcess(w)
	}
}

// stopGrace is how long a process asked to stop has before it is killed.
const stopGrace = 10 * time.Second

// stopProcess asks w to exit (Stop frame, SIGTERM as fallback) and kills it
// when it has not exited after stopGrace (see tick).
func (m *Manager) stopProcess(w *worker) {
	if w.state == stateDead || w.state == stateStopping {
		return
	}
	w.state = stateStopping
	w.retiring.Store(true)
	kill := time.Now().Add(stopGrace)
	if !w.killAt.IsZero() && w.killAt.Before(kill) {
		// A replaced generation's RetireGrace (retire): an engine worker,
		// which has no slots to wait for, is stopped at once, and its
		// open requests still get only that long.
		kill = w.killAt
	}
	w.killAt = kill
	if w.ctrl == nil || !w.ctrl.send(TypeStop, nil) {
		if w.pid > 0 {
			m.procs.signal(w.pid, syscall.SIGTERM)
		}
	}
}
