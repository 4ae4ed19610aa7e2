// Package prom writes metrics in the Prometheus text exposition format
// (version 0.0.4) and keeps the lock-free histograms the request path
// observes into.
//
// gowsgi used the Prometheus client library for this. Linking it (with
// protobuf, which it needs) cost the master about 3 MiB of resident memory
// before a single metric was scraped, for a stats endpoint that is off by
// default; the handful of counters, gauges and histograms gowsgi exposes
// need only this file.
package prom

import (
	"math"
	"strconv"
	"strings"
	"sync/atomic"
)

// ContentType is the Content-Type of the text format.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Writer accumulates an exposition. The zero value is ready to use.
type Writer struct {
	b []byte
}

// Bytes returns what was written.
func (w *Writer) Bytes() []byte { return w.b }

// Family starts a metric family: its HELP and TYPE lines. typ is
// "counter", "gauge", "histogram" or "summary".
func (w *Writer) Family(name, help, typ string) {
	w.b = append(w.b, "# HELP "...)
	w.b = append(w.b, name...)
	w.b = append(w.b, ' ')
	w.b = append(w.b, helpEscaper.Replace(help)...)
	w.b = append(w.b, "\n# TYPE "...)
	w.b = append(w.b, name...)
	w.b = append(w.b, ' ')
	w.b = append(w.b, typ...)
	w.b = append(w.b, '\n')
}

// Sample writes one sample line; labels are name, value pairs.
func (w *Writer) Sample(name string, v float64, labels ...string) {
	w.b = append(w.b, name...)
	w.labels(labels, "", "")
	w.b = append(w.b, ' ')
	w.b = appendFloat(w.b, v)
	w.b = append(w.b, '\n')
}

// labels writes {a="1",b="2"} with one more pair (extraName, extraValue)
// at the end when extraName is not empty (a histogram's le).
func (w *Writer) labels(labels []string, extraName, extraValue string) {
	if len(labels) < 2 && extraName == "" {
		return
	}
	w.b = append(w.b, '{')
	sep := false
	for i := 0; i+1 < len(labels); i += 2 {
		w.pair(labels[i], labels[i+1], sep)
		sep = true
	}
	if extraName != "" {
		w.pair(extraName, extraValue, sep)
	}
	w.b = append(w.b, '}')
}

func (w *Writer) pair(name, value string, sep bool) {
	if sep {
		w.b = append(w.b, ',')
	}
	w.b = append(w.b, name...)
	w.b = append(w.b, '=', '"')
	w.b = append(w.b, labelEscaper.Replace(value)...)
	w.b = append(w.b, '"')
}

// Summary writes a summary without quantiles: its _sum and _count.
func (w *Writer) Summary(name string, count uint64, sum float64, labels ...string) {
	w.Sample(name+"_sum", sum, labels...)
	w.Sample(name+"_count", float64(count), labels...)
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

func appendFloat(b []byte, v float64) []byte {
	switch {
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	case math.IsNaN(v):
		return append(b, "NaN"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// Histogram counts observations into fixed buckets with atomic adds only.
type Histogram struct {
	bounds []float64       // upper bounds, ascending; +Inf is implied
	counts []atomic.Uint64 // per bucket, not cumulative; the last is +Inf
	sum    atomic.Uint64   // float64 bits
}

// NewHistogram returns a histogram with the given ascending upper bounds.
func NewHistogram(bounds ...float64) *Histogram {
	return &Histogram{bounds: bounds, counts: make([]atomic.Uint64, len(bounds)+1)}
}

// Observe adds one observation.
func (h *Histogram) Observe(v float64) {
	i := 0
	for i < len(h.bounds) && v > h.bounds[i] {
		i++
	}
	h.counts[i].Add(1)
	for {
		old := h.sum.Load()
		if h.sum.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

// Write writes the histogram's _bucket, _sum and _count samples.
func (h *Histogram) Write(w *Writer, name string, labels ...string) {
	counts := make([]uint64, len(h.counts))
	for i := range h.counts {
		counts[i] = h.counts[i].Load()
	}
	w.Histogram(name, h.bounds, counts, math.Float64frombits(h.sum.Load()), labels...)
}

// Histogram writes a histogram's samples from its bucket counts (one per
// bound and one for +Inf, not cumulative) and sum, for histograms counted
// elsewhere (the engine's scoreboard).
func (w *Writer) Histogram(name string, bounds []float64, counts []uint64, sum float64, labels ...string) {
	var cum uint64
	for i, b := range bounds {
		cum += counts[i]
		w.bucket(name, labels, strconv.FormatFloat(b, 'g', -1, 64), cum)
	}
	cum += counts[len(bounds)]
	w.bucket(name, labels, "+Inf", cum)
	w.Sample(name+"_sum", sum, labels...)
	w.Sample(name+"_count", float64(cum), labels...)
}

func (w *Writer) bucket(name string, labels []string, le string, n uint64) {
	w.b = append(w.b, name...)
	w.b = append(w.b, "_bucket"...)
	w.labels(labels, "le", le)
	w.b = append(w.b, ' ')
	w.b = strconv.AppendUint(w.b, n, 10)
	w.b = append(w.b, '\n')
}
