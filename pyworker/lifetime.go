package pyworker

// This file is uWSGI's max-worker-lifetime: a worker that has run for
// Options.MaxLifetime is retired gracefully (it finishes its requests; a
// replacement starts at once), as after max-requests.

import (
	"fmt"
	"time"
)

// whyLifetime names max-worker-lifetime retirements in the log and the
// metrics.
const whyLifetime = "max-worker-lifetime"

// lifetimeInterval is how often worker ages are checked: uWSGI's master
// checks them once a second too.
const lifetimeInterval = time.Second

// lifetimeLoop asks the supervisor every lifetimeInterval to retire the
// ready workers older than Options.MaxLifetime.
func (m *Manager) lifetimeLoop() {
	t := time.NewTicker(lifetimeInterval)
	defer t.Stop()
	for {
		select {
		case <-m.done:
			return
		case <-t.C:
		}
		m.send(callEvent{f: m.retireOld})
	}
}

// retireOld runs on the supervisor goroutine.
func (m *Manager) retireOld() {
	limit := m.opts.MaxLifetime
	for _, g := range m.gens {
		for _, w := range g.workers {
			if w.state != stateReady || w.retiring.Load() || time.Since(w.started) < limit {
				continue
			}
			m.retire(w, fmt.Sprintf("%s: it has run for %s (the limit is %s)", whyLifetime, time.Since(w.started).Round(time.Second), limit))
		}
	}
}
