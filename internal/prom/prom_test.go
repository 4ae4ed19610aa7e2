package prom

import (
	"bytes"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func TestExpositionParses(t *testing.T) {
	var w Writer
	w.Family("t_requests_total", "Requests.\nSecond line with a \\ backslash.", "counter")
	w.Sample("t_requests_total", 3, "class", "2xx", "path", "a \"quoted\"\nvalue\\")
	w.Sample("t_requests_total", 0, "class", "5xx", "path", "")
	w.Family("t_in_flight", "In flight.", "gauge")
	w.Sample("t_in_flight", -1)
	w.Family("t_inf", "Infinite.", "gauge")
	w.Sample("t_inf", math.Inf(1))
	h := NewHistogram(.1, 1)
	for _, v := range []float64{.05, .1, .5, 2, 3} {
		h.Observe(v)
	}
	w.Family("t_seconds", "Latency.", "histogram")
	h.Write(&w, "t_seconds", "class", "2xx")
	w.Family("t_reload_seconds", "Reloads.", "summary")
	w.Summary("t_reload_seconds", 2, 0.75)
	WriteRuntime(&w, time.Now())

	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(w.Bytes()))
	if err != nil {
		t.Fatalf("not the text format: %v\n%s", err, w.Bytes())
	}
	req := fams["t_requests_total"]
	if got := req.GetHelp(); got != "Requests.\nSecond line with a \\ backslash." {
		t.Errorf("help = %q", got)
	}
	if got := req.Metric[0].Label[1].GetValue(); got != "a \"quoted\"\nvalue\\" {
		t.Errorf("label value = %q", got)
	}
	if got := req.Metric[0].Counter.GetValue(); got != 3 {
		t.Errorf("counter = %v", got)
	}
	if got := fams["t_in_flight"].Metric[0].Gauge.GetValue(); got != -1 {
		t.Errorf("gauge = %v", got)
	}
	if got := fams["t_inf"].Metric[0].Gauge.GetValue(); !math.IsInf(got, 1) {
		t.Errorf("inf gauge = %v", got)
	}
	hist := fams["t_seconds"].Metric[0].Histogram
	if hist.GetSampleCount() != 5 || math.Abs(hist.GetSampleSum()-5.65) > 1e-9 {
		t.Errorf("histogram count %d sum %v, want 5 and 5.65", hist.GetSampleCount(), hist.GetSampleSum())
	}
	// Cumulative: le=0.1 holds .05 and .1 (bounds are inclusive), le=1 adds .5.
	want := map[float64]uint64{.1: 2, 1: 3}
	seen := 0
	for _, b := range hist.Bucket {
		n, ok := want[b.GetUpperBound()]
		if ok {
			seen++
		}
		if ok && b.GetCumulativeCount() != n {
			t.Errorf("bucket le=%v: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), n)
		}
	}
	// Missing buckets would leave nothing to compare (issue 13, bug 6).
	if seen != len(want) {
		t.Errorf("%d of the buckets le=0.1 and le=1 in %v", seen, hist.Bucket)
	}
	if s := fams["t_reload_seconds"].Metric[0].Summary; s.GetSampleCount() != 2 || s.GetSampleSum() != 0.75 {
		t.Errorf("summary = %v", s)
	}
	for _, name := range []string{"go_goroutines", "go_threads", "go_memstats_heap_alloc_bytes", "process_cpu_seconds_total",
		"process_resident_memory_bytes", "process_open_fds", "process_max_fds", "process_start_time_seconds"} {
		if fams[name] == nil {
			t.Errorf("no %s", name)
		}
	}
	if rss := fams["process_resident_memory_bytes"].Metric[0].Gauge.GetValue(); rss < 1<<20 {
		t.Errorf("process_resident_memory_bytes = %v, want at least 1 MiB", rss)
	}
}

func TestHistogramConcurrentObserve(t *testing.T) {
	h := NewHistogram(1)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				h.Observe(0.5)
			}
		}()
	}
	wg.Wait()
	var w Writer
	h.Write(&w, "x")
	out := string(w.Bytes())
	for _, line := range []string{`x_bucket{le="1"} 8000`, `x_bucket{le="+Inf"} 8000`, "x_sum 4000\n", "x_count 8000\n"} {
		if !strings.Contains(out, line) {
			t.Errorf("missing %q in\n%s", line, out)
		}
	}
}
