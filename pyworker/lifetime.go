package pyworker

// This file is uWSGI's max-worker-lifetime: a worker that has run for
// Options.MaxLifetime is retired gracefully (it finishes its requests; a
// replacement starts at once), as after max-requests. The supervisor's
// tick checks the ages (every 250ms; uWSGI's master checks once a second).

import (
	"fmt"
	"time"
)

// retireOld retires the ready workers older than Options.MaxLifetime; it
// runs on the supervisor goroutine.
func (m *Manager) retireOld(now time.Time) {
	limit := m.opts.MaxLifetime
	for _, g := range m.gens {
		if !g.live {
			continue
		}
		for _, w := range g.workers {
			if w.state != stateReady || w.retiring.Load() || now.Sub(w.started) < limit {
				continue
			}
			m.retire(w, retireLifetime, fmt.Sprintf("it has run for %s (the limit is %s)", now.Sub(w.started).Round(time.Second), limit))
		}
	}
}
