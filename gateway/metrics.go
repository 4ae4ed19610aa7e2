package gateway

// This file is the request side of the Prometheus metrics: counts and
// latencies by status class, requests in flight, and the time a ready
// request waits for a worker. Every observation is an atomic add on a
// collector resolved once at start, so the request path takes no lock and
// makes no map lookup for them.

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gowsgi/gowsgi/pyworker"
)

// statusClasses are the values of the class label; index status/100, with
// "other" for what is not a 1xx-5xx code (0: the client went away before
// an answer was chosen).
var statusClasses = [...]string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"}

// Metrics observes requests of every listener (HTTP and uwsgi). A nil
// *Metrics observes nothing.
type Metrics struct {
	inFlight  prometheus.Gauge
	requests  [len(statusClasses)]prometheus.Counter
	latency   [len(statusClasses)]prometheus.Observer
	queueWait prometheus.Histogram
}

// NewMetrics creates the request metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gowsgi_requests_total",
		Help: "Requests answered, by status class (499, a client that went away, is 4xx).",
	}, []string{"class"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gowsgi_request_duration_seconds",
		Help:    "Time from the request's headers to the end of its response, by status class.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"class"})
	m := &Metrics{
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gowsgi_requests_in_flight",
			Help: "Requests being served now (queued or running in a worker).",
		}),
		queueWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gowsgi_queue_wait_seconds",
			Help:    "Time a ready request (headers and the first 64 KiB of body read) waited for a free worker thread.",
			Buckets: []float64{.0001, .0005, .001, .005, .01, .05, .1, .5, 1, 5, 10, 60},
		}),
	}
	for i, c := range statusClasses {
		m.requests[i] = requests.WithLabelValues(c)
		m.latency[i] = latency.WithLabelValues(c)
	}
	reg.MustRegister(requests, latency, m.inFlight, m.queueWait)
	return m
}

// begin counts a request in flight.
func (m *Metrics) begin() {
	if m != nil {
		m.inFlight.Inc()
	}
}

// done records a finished request.
func (m *Metrics) done(status int, d time.Duration) {
	if m == nil {
		return
	}
	m.inFlight.Dec()
	i := status / 100
	if status < 100 || i >= len(statusClasses) {
		i = 0
	}
	m.requests[i].Inc()
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

func (b *meteredBackend) Acquire(ctx context.Context) (*pyworker.Slot, error) {
	start := time.Now()
	s, err := b.Backend.Acquire(ctx)
	if err == nil {
		b.m.queueWait.Observe(time.Since(start).Seconds())
	}
	return s, err
}
