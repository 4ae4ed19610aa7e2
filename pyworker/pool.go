package pyworker

// This file hands out slots. A request takes a free slot if there is one.
// With Options.QueueGets (queue-gets), when every slot is busy, a GET or
// HEAD without body (Request.Queueable) may instead queue behind the
// request running on a slot: its Request frame is written at once, so the
// Python thread finds it the moment it sends the previous answer, instead
// of waiting for the master to read that answer, hand the slot to the next
// goroutine and write to it (about a hundred microseconds of an idle
// worker per request on a busy machine; hello-world went 41% and Django
// 20% faster with it).
//
// Queueing behind a request is a bet that it ends soon, so a slot takes
// one queued request at most, and only while its requests are short: the
// average of its recent requests and the running one's age must both be
// under queueLimit. Slow apps do not queue, and gain nothing from it
// anyway: the time saved is fixed per request. The bet can still lose: a
// request that starts like the others and then runs long (a slow report,
// a stream, a long poll) holds the GET queued behind it until it ends,
// even if another thread is free by then, because the GET's frame is at
// the worker already. That is why it is off by default.

import (
	"context"
	"time"
)

// queueLimit: a slot whose requests take longer than this on average, or
// whose running request has run longer, takes no queued request.
const queueLimit = 5 * time.Millisecond

// Acquire takes a slot of the current generation for req, waiting until
// one is free (or, for a queueable req, can queue it) or ctx ends. It is
// the request path's only contact with the supervisor's world, so it
// touches channels, atomics and the slot's own lock only.
func (m *Manager) Acquire(ctx context.Context, req *Request) (*Slot, error) {
	queueable := m.opts.QueueGets && req != nil && req.Queueable()
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
		var queue chan *Slot
		if queueable {
			queue = g.queue
		}
		var s *Slot
		queued := false
		select {
		case s = <-g.idle: // a free slot first
		default:
			select {
			case s = <-g.idle:
			case s = <-queue:
				queued = true
			case <-g.retired:
				if g == m.current.Load() {
					// Stopping: no generation will follow.
					return nil, ErrStopping
				}
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if queued {
			if !s.takeQueue() {
				continue
			}
		} else {
			if s.w.retiring.Load() || s.w.dead.Load() || s.broken.Load() {
				m.send(slotBackEvent{s: s})
				continue
			}
			s.mu.Lock()
			s.holders++
			s.mu.Unlock()
		}
		if n := s.w.requests.Add(1); m.opts.MaxRequests > 0 && n == int64(m.opts.MaxRequests) {
			s.w.retiring.Store(true)
			m.send(retireEvent{w: s.w, why: retireMaxRequests})
		}
		return s, nil
	}
}

// openQueue is called by the request running on s once its frames are
// written: a queueable request may now queue behind it.
func (s *Slot) openQueue() {
	if !s.w.m.opts.QueueGets {
		return // no lock per request when nothing can queue
	}
	s.mu.Lock()
	s.open = true
	s.mu.Unlock()
	s.offer()
}

// offer puts s in its generation's queue channel when a request may queue
// behind the one holding it.
func (s *Slot) offer() {
	if !s.w.m.opts.QueueGets {
		return
	}
	s.mu.Lock()
	ok := !s.offered && s.open && s.holders == 1 && s.avg < queueLimit
	s.offered = ok || s.offered
	s.mu.Unlock()
	if !ok {
		return
	}
	select {
	case s.w.gen.queue <- s:
	default:
		// Full of stale places (slots that went idle, or of workers that
		// died, before anyone queued behind them): they are dropped as
		// requests take them, and s is offered again at its next request.
		s.mu.Lock()
		s.offered = false
		s.mu.Unlock()
	}
}

// takeQueue claims the queue place of s taken from the queue channel, if
// it is still good: the slot may have become free (it is in the idle
// channel then), got its queued request, broken, or be running a request
// that has gone on for too long by now.
func (s *Slot) takeQueue() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offered = false
	if !s.open || s.holders != 1 || s.avg >= queueLimit || s.broken.Load() ||
		s.w.retiring.Load() || s.w.dead.Load() || s.w.gen.isOld.Load() {
		return false
	}
	if since := s.busySince.Load(); since != 0 && time.Now().UnixNano()-since >= int64(queueLimit) {
		return false
	}
	s.holders = 2
	return true
}

// Release gives a slot back after Do.
func (m *Manager) Release(s *Slot) {
	s.mu.Lock()
	s.holders--
	left := s.holders
	s.mu.Unlock()
	if left > 0 {
		// The request queued behind this one holds it now.
		s.offer()
		return
	}
	m.checkRSS(s)
	if s.broken.Load() || s.w.retiring.Load() || s.w.dead.Load() || s.w.gen.isOld.Load() {
		m.send(slotBackEvent{s: s})
		return
	}
	s.w.gen.idle <- s
}
