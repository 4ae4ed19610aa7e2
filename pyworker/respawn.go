package pyworker

// This file handles the end of a process: classify it (exit.go), tell the
// generation waiting for it, and start a replacement with back-off. The
// back-off is written once, here, for workers and zygotes alike: a process
// that dies young counts one more crash in a row, and the next start waits
// 100ms, doubling up to 10s, so a crash loop never spins the CPU. An app
// that fails to import fails the generation that was starting instead of
// being respawned in a loop.

import (
	"errors"
	"fmt"
	"syscall"
	"time"
)

const (
	// youngDeath: a process that dies sooner than this after its start
	// counts one more crash in a row.
	youngDeath = 10 * time.Second
	// firstDelay and maxDelay bound the back-off.
	firstDelay = 100 * time.Millisecond
	maxDelay   = 10 * time.Second
	// maxBootCrashes is how many times workers (or the zygote) of a new
	// generation may die before they are ready before it is given up.
	maxBootCrashes = 3
)

var errRuntimeCouldNotStart = errors.New("the python runtime could not start (see its message above)")

// crashesInARow is p's count of consecutive young deaths, this one
// included; 0 when it lived longer than youngDeath.
func crashesInARow(p *worker, now time.Time) int {
	if now.Sub(p.started) < youngDeath {
		return p.crashes + 1
	}
	return 0
}

// restartDelay is the wait before the next start after crashes young
// deaths in a row: none after a long life, then firstDelay doubling up to
// maxDelay.
func restartDelay(crashes int) time.Duration {
	if crashes <= 0 {
		return 0
	}
	return min(firstDelay<<min(crashes-1, 7), maxDelay)
}

// respawnLater sends ev, the start of p's replacement, after the back-off.
func (m *Manager) respawnLater(p *worker, crashes int, ev event) {
	delay := restartDelay(crashes)
	if crashes > 1 {
		m.logf("%s died %d times in a row; next start in %s", p, crashes, delay)
	}
	m.after(delay, ev)
}

// bootErrorOf returns the import failure p reported, or nil if it did not
// fail to import.
func bootErrorOf(p *worker, e Exit) *BootError {
	if p.bootErr != nil {
		return p.bootErr
	}
	if e.Cause() == ExitAppLoad {
		return &BootError{Type: "Error", Message: "the app failed to import (no details were sent)"}
	}
	return nil
}

// hintSuffix is "; " and the exit's hint, for a log line.
func hintSuffix(e Exit, harakiri bool) string {
	if harakiri {
		return "; killed by harakiri"
	}
	if h := e.Hint(); h != "" {
		return "; " + h
	}
	return ""
}

// bury marks w dead and drops it from the supervisor's books; its
// connections are closed.
func (m *Manager) bury(w *worker) {
	w.state = stateDead
	w.dead.Store(true)
	delete(m.pending, w.token)
	if w.pid > 0 && m.byPid[w.pid] == w {
		delete(m.byPid, w.pid)
	}
	for _, s := range w.slots {
		s.conn.Close()
	}
	if w.ctrl != nil {
		w.ctrl.close()
	}
	if !w.isZygote {
		m.drainIdle(w.gen)
		delete(w.gen.workers, w.id)
	}
}

// onExit handles the end of a worker or zygote process.
func (m *Manager) onExit(w *worker, e Exit) {
	if w.state == stateDead {
		return
	}
	// The exit can overtake the last frames of the control connection:
	// the BootError of a process that said "app failed to import" (exit
	// 4), or a zygote's Exited frames for the children it reaped before it
	// exited. Wait for the control connection to close, a second at most.
	unread := e.Cause() == ExitAppLoad && w.bootErr == nil || w.isZygote && w.ctrl != nil && !w.ctrlClosed
	if unread && !w.exitDeferred {
		w.exitDeferred, w.deferredExit = true, e
		m.after(time.Second, exitEvent{w: w, exit: e})
		return
	}
	prev := w.state
	m.noteExit(w, e)
	m.bury(w)
	m.freeRow(w)
	if w.isZygote {
		m.onZygoteExit(w, e, prev)
		return
	}
	g := w.gen
	// A retiring worker's replacement was started when it began retiring.
	expected := prev == stateStopping || prev == stateRetiring || m.stopping
	if expected && e.Cause() == ExitClean {
		return
	}
	if expected && e.Signal == syscall.SIGKILL && !w.killAt.IsZero() && time.Now().After(w.killAt) {
		m.logf("%s did not stop in time and was killed", w)
		return
	}
	if expected && e.Signal == syscall.SIGKILL && w.given {
		return // the generation's failure says why; no guessing at out of memory
	}
	if be := bootErrorOf(w, e); be != nil {
		if !g.live {
			m.failGeneration(g, be)
			return
		}
		m.logf("%s: %s\n%s", w, be.Error(), be.Traceback)
		crashes := crashesInARow(w, time.Now())
		m.respawnLater(w, crashes, respawnEvent{g: g, crashes: crashes})
		return
	}
	m.logf("%s %s%s", w, e.Describe(), hintSuffix(e, w.harakiri))
	if expected || g.isOld.Load() {
		return
	}
	if !g.live && e.Cause() == ExitCouldNotStart {
		m.failGeneration(g, fmt.Errorf("worker %s: %w", e.Describe(), errRuntimeCouldNotStart))
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
	crashes := crashesInARow(w, time.Now())
	m.respawnLater(w, crashes, respawnEvent{g: g, crashes: crashes})
}
