package main

// Tests of the stats endpoint (metrics, status page) and reload-on-rss,
// against a real gowsgi with real python workers serving testdata/apps.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/master"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

var statsRE = regexp.MustCompile(`stats on http://(\S+)/ `)

// startAppsWithStats serves testdata/apps with a stats endpoint on a port
// the kernel picks and returns the server and the endpoint's base URL.
// (localhost:0, because config refuses two listeners on 127.0.0.1:0.)
func startAppsWithStats(t *testing.T, extra ...string) (*proc, string) {
	t.Helper()
	args := append([]string{"serve", "--http", "127.0.0.1:0", "--stats", "localhost:0", "--chdir", "testdata/apps",
		"--wsgi-file", "all.py", "--python", testPython(t)}, extra...)
	p := startGowsgi(t, repoRoot(t), nil, args...)
	m := statsRE.FindStringSubmatch(p.out.String())
	if m == nil {
		t.Fatalf("no stats address in the output:\n%s", p.out)
	}
	return p, "http://" + m[1]
}

// scrape fetches /metrics and parses it as the Prometheus text format.
func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics is not the Prometheus text format: %v", err)
	}
	return fams
}

// value returns the value of the sample of family name whose labels
// include want (a counter, gauge, or a histogram's count).
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want ...string) float64 {
	t.Helper()
	mf := fams[name]
	if mf == nil {
		t.Fatalf("no metric %s", name)
	}
	var found []float64
	for _, m := range mf.Metric {
		ok := true
		for i := 0; i+1 < len(want); i += 2 {
			match := false
			for _, l := range m.Label {
				if l.GetName() == want[i] && l.GetValue() == want[i+1] {
					match = true
				}
			}
			ok = ok && match
		}
		if !ok {
			continue
		}
		switch {
		case m.Counter != nil:
			found = append(found, m.Counter.GetValue())
		case m.Gauge != nil:
			found = append(found, m.Gauge.GetValue())
		case m.Histogram != nil:
			found = append(found, float64(m.Histogram.GetSampleCount()))
		case m.Summary != nil:
			found = append(found, float64(m.Summary.GetSampleCount()))
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s%v: %d samples, want 1", name, want, len(found))
	}
	return found[0]
}

func TestStatsMetrics(t *testing.T) {
	p, stats := startAppsWithStats(t, "--processes", "2", "--threads", "2")
	before := scrape(t, stats)
	for _, tc := range []struct {
		path string
		n    int
		want int
	}{{"/hello/", 5, 200}, {"/nope/", 2, 404}, {"/raises/", 1, 500}} {
		for i := 0; i < tc.n; i++ {
			if code, _, _ := get(t, nil, p.url+tc.path); code != tc.want {
				t.Fatalf("GET %s: %d, want %d", tc.path, code, tc.want)
			}
		}
	}
	after := scrape(t, stats)
	for _, tc := range []struct {
		name   string
		labels []string
		delta  float64
	}{
		{"gowsgi_requests_total", []string{"class", "2xx"}, 5},
		{"gowsgi_requests_total", []string{"class", "4xx"}, 2},
		{"gowsgi_requests_total", []string{"class", "5xx"}, 1},
		{"gowsgi_request_duration_seconds", []string{"class", "2xx"}, 5},
		{"gowsgi_request_duration_seconds", []string{"class", "5xx"}, 1},
		{"gowsgi_queue_wait_seconds", nil, 8},
	} {
		t.Run(fmt.Sprint(tc.name, tc.labels), func(t *testing.T) {
			if d := value(t, after, tc.name, tc.labels...) - value(t, before, tc.name, tc.labels...); d != tc.delta {
				t.Errorf("moved by %v, want %v", d, tc.delta)
			}
		})
	}
	if v := value(t, after, "gowsgi_requests_in_flight"); v != 0 {
		t.Errorf("in flight after the requests: %v", v)
	}
	if v := value(t, after, "gowsgi_workers", "state", "ready"); v != 2 {
		t.Errorf("ready workers: %v, want 2", v)
	}
	if v := value(t, after, "gowsgi_master_rss_bytes"); v < 1<<20 {
		t.Errorf("master RSS %v bytes", v)
	}
	if n := len(after["gowsgi_worker_rss_bytes"].GetMetric()); n != 2 {
		t.Errorf("%d worker RSS samples, want 2", n)
	}
	for _, m := range after["gowsgi_worker_rss_bytes"].GetMetric() {
		if m.Gauge.GetValue() < 1<<20 {
			t.Errorf("worker RSS %v bytes", m.Gauge.GetValue())
		}
	}
	for _, name := range []string{"gowsgi_worker_exits_total", "gowsgi_harakiri_kills_total", "gowsgi_reloads_total", "gowsgi_hup_handovers_total", "gowsgi_requests_queued_total"} {
		if after[name] == nil {
			t.Errorf("no metric %s", name)
		}
	}
}

// TestStatusPage checks the status page and status.json list the workers
// and show a running request's path.
func TestStatusPage(t *testing.T) {
	p, stats := startAppsWithStats(t, "--processes", "2", "--threads", "1")
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		http.Get(p.url + "/pid_slow/?s=3")
	}()
	defer wg.Wait()

	var doc master.StatusDoc
	deadline := time.Now().Add(10 * time.Second)
	busy := ""
	for busy == "" && time.Now().Before(deadline) {
		_, _, body := get(t, nil, stats+"/status.json")
		doc = master.StatusDoc{}
		if err := json.Unmarshal([]byte(body), &doc); err != nil {
			t.Fatalf("status.json: %v\n%s", err, body)
		}
		for _, w := range doc.Workers {
			for _, th := range w.Threads {
				if th.Path != "" {
					busy = th.Path
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if busy != "/pid_slow/" {
		t.Errorf("status.json shows no thread on /pid_slow/ (got %q)", busy)
	}
	if len(doc.Workers) != 2 {
		t.Fatalf("status.json lists %d workers, want 2: %+v", len(doc.Workers), doc.Workers)
	}
	if len(doc.Listeners) != 1 || doc.Listeners[0] != p.url {
		t.Errorf("listeners %v, want [%s]", doc.Listeners, p.url)
	}
	code, hd, html := get(t, nil, stats+"/")
	if code != 200 || !strings.HasPrefix(hd.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", code, hd.Get("Content-Type"))
	}
	for _, w := range doc.Workers {
		if w.State != "ready" || w.RSS == 0 || w.Generation != 1 {
			t.Errorf("worker %+v", w)
		}
		if !strings.Contains(html, "<td>"+strconv.Itoa(w.Pid)+"</td>") {
			t.Errorf("the status page does not list worker pid %d:\n%s", w.Pid, html)
		}
	}
	if code, _, _ := get(t, nil, stats+"/nothing"); code != 404 {
		t.Errorf("GET /nothing: %d, want 404", code)
	}
}

// TestStatsMetricsAlias: without stats no endpoint starts; --metrics is
// stats' alias, and an address on every interface is allowed with a warning.
func TestStatsMetricsAlias(t *testing.T) {
	p := startGowsgi(t, repoRoot(t), nil, "serve", "--http", "127.0.0.1:0", "--chdir", "testdata/apps",
		"--wsgi-file", "all.py", "--python", testPython(t))
	if strings.Contains(p.out.String(), "stats on") {
		t.Errorf("a stats endpoint without stats:\n%s", p.out)
	}
	p2 := startGowsgi(t, repoRoot(t), nil, "serve", "--http", "127.0.0.1:0", "--metrics", "0.0.0.0:0", "--chdir", "testdata/apps",
		"--wsgi-file", "all.py", "--python", testPython(t))
	if !strings.Contains(p2.out.String(), "WARNING: stats on 0.0.0.0:") {
		t.Errorf("no warning for stats on every interface:\n%s", p2.out)
	}
}

// TestReloadOnRSS: a request that takes its worker past reload-on-rss is
// answered; the worker is then retired and replaced.
func TestReloadOnRSS(t *testing.T) {
	p, stats := startAppsWithStats(t, "--processes", "1", "--reload-on-rss", "100")
	code, _, pid := get(t, nil, p.url+"/rss/?mb=150")
	if code != 200 {
		t.Fatalf("the request that crossed the limit failed: %d", code)
	}
	re := regexp.MustCompile(`retiring worker \d+ \(gen 1, pid ` + pid + `\): reload-on-rss: resident memory \d+ MiB is over the limit of 100 MiB`)
	if _, ok := p.out.waitFor(re, 10*time.Second); !ok {
		t.Fatalf("worker %s was not retired; output:\n%s", pid, p.out)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, _, got := get(t, nil, p.url+"/pid/")
		if code != 200 {
			t.Fatalf("GET /pid/ after the retirement: %d", code)
		}
		if got != pid {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still served by worker %s", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if v := value(t, scrape(t, stats), "gowsgi_worker_retirements_total", "reason", "reload-on-rss"); v != 1 {
		t.Errorf("reload-on-rss retirements: %v, want 1", v)
	}
}

// TestStatsAcrossHUP: after a HUP the new master serves the stats address
// (inherited like the other sockets) and counts the handover.
func TestStatsAcrossHUP(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "gowsgi.pid")
	_, stats := startAppsWithStats(t, "--pidfile", pidfile)
	t.Cleanup(func() { killByPidfile(t, pidfile) })
	old := readPid(t, pidfile)
	if old == 0 {
		t.Fatal("no pidfile")
	}
	syscall.Kill(old, syscall.SIGHUP)
	pid := waitNewMaster(t, pidfile, old)
	var doc master.StatusDoc
	_, _, body := get(t, nil, stats+"/status.json")
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("status.json: %v\n%s", err, body)
	}
	if doc.Pid != pid || doc.Handovers != 1 {
		t.Errorf("status.json from pid %d with %d handovers, want pid %d and 1", doc.Pid, doc.Handovers, pid)
	}
	if r := doc.LastReload; r == nil || !strings.HasPrefix(r.Trigger, "SIGHUP") || r.Outcome != "ok" || r.DurationMS <= 0 {
		t.Errorf("last reload %+v, want an ok SIGHUP", r)
	}
	if v := value(t, scrape(t, stats), "gowsgi_hup_handovers_total", "outcome", "ok"); v != 1 {
		t.Errorf("gowsgi_hup_handovers_total{outcome=ok} = %v, want 1", v)
	}
}

// TestEvilReloadOnRSS: a worker past evil-reload-on-rss is killed without
// waiting for its requests, and replaced.
func TestEvilReloadOnRSS(t *testing.T) {
	p, stats := startAppsWithStats(t, "--processes", "1", "--evil-reload-on-rss", "100")
	_, _, pid := get(t, nil, p.url+"/pid/")
	// The kill may land while this request still runs (then it is a 502):
	// that is what evil means.
	get(t, nil, p.url+"/rss/?mb=150")
	re := regexp.MustCompile(`evil-reload-on-rss: worker \d+ \(gen 1, pid ` + pid + `\) uses \d+ MiB, over the limit of 100 MiB; killing it`)
	if _, ok := p.out.waitFor(re, 10*time.Second); !ok {
		t.Fatalf("worker %s was not killed; output:\n%s", pid, p.out)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		if code, _, got := get(t, nil, p.url+"/pid/"); code == 200 && got != pid {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new worker replaced %s; output:\n%s", pid, p.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if v := value(t, scrape(t, stats), "gowsgi_evil_rss_kills_total"); v != 1 {
		t.Errorf("gowsgi_evil_rss_kills_total = %v, want 1", v)
	}
}
