package gateway

// This file is the request side of the Prometheus metrics: counts and
// latencies by status class, requests in flight, and the time a ready
// request waits for a worker. Every observation is an atomic add on a
// counter or histogram made at start, so the request path takes no lock
// and makes no map lookup for them; internal/prom writes them out.

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/gowsgi/gowsgi/internal/prom"
	"github.com/gowsgi/gowsgi/pyworker"
)

// statusClasses are the values of the class label; index status/100, with
// "other" for what is not a 1xx-5xx code (0: the client went away before
// an answer was chosen).
var statusClasses = [...]string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"}

// Metrics observes requests of every listener (HTTP and uwsgi). A nil
// *Metrics observes nothing.
type Metrics struct {
	inFlight  atomic.Int64
	requests  [len(statusClasses)]atomic.Uint64
	latency   [len(statusClasses)]*prom.Histogram
	queueWait *prom.Histogram
	// board, when set, is the engine's scoreboard: in a worker, the
	// observations go to its row; in the master, Write adds every row's.
	board boardObserver
}

// boardObserver is the scoreboard as Metrics uses it (scoreboard_linux.go).
type boardObserver interface {
	begin()
	done(class int, seconds float64)
	waited(seconds float64)
	totals() boardMetrics
}

// boardMetrics are request metrics summed over the scoreboard's rows.
type boardMetrics struct {
	inFlight uint64
	class    [len(statusClasses)]uint64
	latency  [len(statusClasses)][latencyBuckets]uint64
	latSum   [len(statusClasses)]float64
	queue    [queueBuckets]uint64
	queueSum float64
}

// The latency and queue-wait buckets, which NewMetrics and the scoreboard
// share.
var (
	latencyBounds = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	queueBounds   = []float64{.0001, .0005, .001, .005, .01, .05, .1, .5, 1, 5, 10, 60}
)

const (
	latencyBuckets = 15 // len(latencyBounds) + 1
	queueBuckets   = 13 // len(queueBounds) + 1
)

// NewMetrics creates the request metrics.
func NewMetrics() *Metrics {
	m := &Metrics{
		queueWait: prom.NewHistogram(queueBounds...),
	}
	for i := range statusClasses {
		m.latency[i] = prom.NewHistogram(latencyBounds...)
	}
	return m
}

// Write writes the request metrics in the text format.
func (m *Metrics) Write(w *prom.Writer) {
	var t boardMetrics
	if m.board != nil {
		// The engines' requests; the master serves none itself.
		t = m.board.totals()
	}
	w.Family("gowsgi_requests_total", "Requests answered, by status class (499, a client that went away, is 4xx).", "counter")
	for i, c := range statusClasses {
		w.Sample("gowsgi_requests_total", float64(m.requests[i].Load()+t.class[i]), "class", c)
	}
	w.Family("gowsgi_request_duration_seconds", "Time from the request's headers to the end of its response, by status class.", "histogram")
	for i, c := range statusClasses {
		if m.board != nil {
			w.Histogram("gowsgi_request_duration_seconds", latencyBounds, t.latency[i][:], t.latSum[i], "class", c)
		} else {
			m.latency[i].Write(w, "gowsgi_request_duration_seconds", "class", c)
		}
	}
	w.Family("gowsgi_requests_in_flight", "Requests being served now (queued or running in a worker).", "gauge")
	w.Sample("gowsgi_requests_in_flight", float64(m.inFlight.Load()+int64(t.inFlight)))
	w.Family("gowsgi_queue_wait_seconds", "Time a ready request (headers and the first 64 KiB of body read) waited for a free worker thread (0 in the engine, where the thread that read a request runs it).", "histogram")
	if m.board != nil {
		w.Histogram("gowsgi_queue_wait_seconds", queueBounds, t.queue[:], t.queueSum)
	} else {
		m.queueWait.Write(w, "gowsgi_queue_wait_seconds")
	}
}

// begin counts a request in flight.
func (m *Metrics) begin() {
	switch {
	case m == nil:
	case m.board != nil:
		m.board.begin()
	default:
		m.inFlight.Add(1)
	}
}

// done records a finished request.
func (m *Metrics) done(status int, d time.Duration) {
	if m == nil {
		return
	}
	i := status / 100
	if status < 100 || i >= len(statusClasses) {
		i = 0
	}
	if m.board != nil {
		m.board.done(i, d.Seconds())
		return
	}
	m.inFlight.Add(-1)
	m.requests[i].Add(1)
	m.latency[i].Observe(d.Seconds())
}

// Backend wraps b so that the time each Acquire waits is observed as the
// queue wait. With a nil m it returns b itself.
func (m *Metrics) Backend(b Backend) Backend {
	if m == nil {
		return b
	}
	return &meteredBackend{Backend: b, m: m}
}

type meteredBackend struct {
	Backend
	m *Metrics
}

func (b *meteredBackend) Acquire(ctx context.Context, req *pyworker.Request) (Slot, error) {
	start := time.Now()
	s, err := b.Backend.Acquire(ctx, req)
	if err == nil {
		b.m.queueWait.Observe(time.Since(start).Seconds())
	}
	return s, err
}
