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
}

// NewMetrics creates the request metrics.
func NewMetrics() *Metrics {
	m := &Metrics{
		queueWait: prom.NewHistogram(.0001, .0005, .001, .005, .01, .05, .1, .5, 1, 5, 10, 60),
	}
	for i := range statusClasses {
		m.latency[i] = prom.NewHistogram(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30)
	}
	return m
}

// Write writes the request metrics in the text format.
func (m *Metrics) Write(w *prom.Writer) {
	w.Family("gowsgi_requests_total", "Requests answered, by status class (499, a client that went away, is 4xx).", "counter")
	for i, c := range statusClasses {
		w.Sample("gowsgi_requests_total", float64(m.requests[i].Load()), "class", c)
	}
	w.Family("gowsgi_request_duration_seconds", "Time from the request's headers to the end of its response, by status class.", "histogram")
	for i, c := range statusClasses {
		m.latency[i].Write(w, "gowsgi_request_duration_seconds", "class", c)
	}
	w.Family("gowsgi_requests_in_flight", "Requests being served now (queued or running in a worker).", "gauge")
	w.Sample("gowsgi_requests_in_flight", float64(m.inFlight.Load()))
	w.Family("gowsgi_queue_wait_seconds", "Time a ready request (headers and the first 64 KiB of body read) waited for a free worker thread.", "histogram")
	m.queueWait.Write(w, "gowsgi_queue_wait_seconds")
}

// begin counts a request in flight.
func (m *Metrics) begin() {
	if m != nil {
		m.inFlight.Add(1)
	}
}

// done records a finished request.
func (m *Metrics) done(status int, d time.Duration) {
	if m == nil {
		return
	}
	m.inFlight.Add(-1)
	i := status / 100
	if status < 100 || i >= len(statusClasses) {
		i = 0
	}
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
