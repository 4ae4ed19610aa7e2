package pyworker

import (
	"context"
	"errors"
)

// ErrStopping is returned by Acquire once the manager is stopping.
var ErrStopping = errors.New("gowsgi is stopping")

// Acquire takes an idle slot of the current generation, waiting until one
// is free or ctx ends. It is the request path's only contact with the
// supervisor's world, so it touches channels and atomics only.
func (m *Manager) Acquire(ctx context.Context) (*Slot, error) {
	for {
		g := m.current.Load()
		swapped := *m.swapped.Load()
		if g == nil {
			select {
			case <-swapped:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-m.done:
				return nil, ErrStopping
			}
		}
		select {
		case s := <-g.idle:
			if s.w.retiring.Load() || s.w.dead.Load() || s.broken {
				m.send(slotBackEvent{s: s})
				continue
			}
			if n := s.w.requests.Add(1); m.opts.MaxRequests > 0 && n == int64(m.opts.MaxRequests) {
				s.w.retiring.Store(true)
				m.send(retireEvent{w: s.w})
			}
			return s, nil
		case <-g.retired:
			if g == m.current.Load() {
				// Stopping: no generation will follow.
				return nil, ErrStopping
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Release gives a slot back after Do.
func (m *Manager) Release(s *Slot) {
	m.checkRSS(s)
	if s.broken || s.w.retiring.Load() || s.w.dead.Load() || s.w.gen.isOld.Load() {
		m.send(slotBackEvent{s: s})
		return
	}
	s.w.gen.idle <- s
}
