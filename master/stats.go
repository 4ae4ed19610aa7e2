package master

// This file is the stats endpoint (uWSGI's stats key): a status page at /
// (and /status.json) and Prometheus metrics at /metrics, on an address of
// its own that is off unless configured. Request counters live in the
// gateway (atomics); worker states and RSS are read when a page is asked
// for, so nothing here runs per request.
//
// The address rule: there is no default, so every stats address is one the
// user named. A loopback address or a unix socket is used as is; any other
// (0.0.0.0, :9191, a public IP) is used too, but logged with a warning at
// every start, because the page shows request paths, pids and memory to
// whoever can connect.

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gowsgi/gowsgi/config"
	"github.com/gowsgi/gowsgi/gateway"
	"github.com/gowsgi/gowsgi/internal/prom"
	"github.com/gowsgi/gowsgi/pyworker"
)

// opsConfig is the operations part of masterConfig.
type opsConfig struct {
	stats      config.Addr // zero: no stats endpoint
	logFormat  string      // access log format name, see gateway.AccessFormat
	logMaxSize int64       // rotate logto/daemonize past this size; 0: never
}

// Environment a master passes to the one a HUP starts, so the new master's
// status page and counters carry on: how many handovers came before it and
// when this one was asked for.
const (
	handoversEnv  = "GOWSGI_HUP_HANDOVERS"
	hupStartedEnv = "GOWSGI_HUP_STARTED"
	hupTriggerEnv = "GOWSGI_HUP_TRIGGER"
)

// opsState is the master's stats endpoint and what only the master knows:
// the HUP handovers.
type opsState struct {
	m       *Master
	started time.Time
	ln      net.Listener
	srv     *http.Server
	metrics *gateway.Metrics // nil without a stats endpoint

	handovers, handoverFails atomic.Int64
	hupAt                    time.Time // when this master was asked for, zero if not by a HUP
	hupTrigger               string    // what asked for it: SIGHUP, touch-reload or py-autoreload

	mu      sync.Mutex
	lastHUP *pyworker.ReloadInfo // the last handover seen from this master
}

// listenStats binds the stats address (through listenFn, so a HUP's new
// master inherits it) and prepares the metrics. Called with the other
// listeners, before privileges are dropped.
func (m *Master) listenStats() error {
	o := &opsState{m: m, started: time.Now()}
	m.ops = o
	if n, err := strconv.ParseInt(os.Getenv(handoversEnv), 10, 64); err == nil {
		o.handovers.Store(n)
	}
	if ns, err := strconv.ParseInt(os.Getenv(hupStartedEnv), 10, 64); err == nil {
		o.hupAt = time.Unix(0, ns)
	}
	o.hupTrigger = os.Getenv(hupTriggerEnv)
	if o.hupTrigger == "" {
		o.hupTrigger = "SIGHUP"
	}
	os.Unsetenv(handoversEnv)
	os.Unsetenv(hupStartedEnv)
	os.Unsetenv(hupTriggerEnv)
	a := m.cfg.Stats
	if a.IsZero() {
		return nil
	}
	ln, err := listen(Listen{Addr: ListenAddr(a), Flag: "--stats"}, m.listenFn)
	if err != nil {
		return err
	}
	o.ln = ln
	if a.Network == "tcp" && !isLoopbackHost(a.Host) {
		m.logf("WARNING: stats on %s (bound to %s) is reachable from the network: the status page and /metrics show request paths, pids and memory to anyone who connects. Bind it to 127.0.0.1 unless a firewall keeps others out.", a, ln.Addr())
	}
	o.metrics = gateway.NewMetrics()
	return nil
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// serveStats starts answering on the stats address; the workers are ready.
func (m *Master) serveStats() {
	o := m.ops
	if !o.hupAt.IsZero() {
		o.mu.Lock()
		o.lastHUP = &pyworker.ReloadInfo{Trigger: o.hupTrigger + " (this master replaced the previous one)", Started: o.hupAt, Duration: time.Since(o.hupAt)}
		o.mu.Unlock()
	}
	if o.ln == nil {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", o.serveMetrics)
	mux.HandleFunc("/status.json", o.serveJSON)
	mux.HandleFunc("/{$}", o.serveHTML)
	o.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go serveStatsLoop(o.srv, o.ln, m)
	m.logf("stats on http://%s/ (status page), /status.json and /metrics", o.ln.Addr())
}

func serveStatsLoop(srv *http.Server, ln net.Listener, m *Master) {
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
		m.logf("stats: %v", err)
	}
}

// stopStats stops answering; the listener is closed (a HUP's new master
// holds its own copy).
func (m *Master) stopStats() {
	o := m.ops
	if o == nil {
		return
	}
	if o.srv != nil {
		o.srv.Close()
	} else if o.ln != nil {
		o.ln.Close()
	}
}

// hupStarting is called when a SIGHUP (or touch-reload, py-autoreload:
// trigger) starts a new master: it hands the counters and the trigger on
// through the environment tableflip passes to it.
func (m *Master) hupStarting(trigger string) {
	o := m.ops
	os.Setenv(handoversEnv, strconv.FormatInt(o.handovers.Load()+1, 10))
	os.Setenv(hupStartedEnv, strconv.FormatInt(time.Now().UnixNano(), 10))
	os.Setenv(hupTriggerEnv, trigger)
	o.mu.Lock()
	o.lastHUP = &pyworker.ReloadInfo{Trigger: trigger, Started: time.Now()}
	o.mu.Unlock()
}

// hupDone records how a handover this master started ended.
func (m *Master) hupDone(err error) {
	o := m.ops
	os.Unsetenv(handoversEnv)
	os.Unsetenv(hupStartedEnv)
	os.Unsetenv(hupTriggerEnv)
	if err != nil {
		o.handoverFails.Add(1)
	} else {
		o.handovers.Add(1)
	}
	o.mu.Lock()
	if o.lastHUP != nil {
		r := *o.lastHUP
		r.Duration, r.Err = time.Since(r.Started), err
		o.lastHUP = &r
	}
	o.mu.Unlock()
}

// lastReload is the newer of the last in-process reload and the last HUP.
func (o *opsState) lastReload() *pyworker.ReloadInfo {
	o.mu.Lock()
	hup := o.lastHUP
	o.mu.Unlock()
	gen := o.m.mgr.LastReload()
	if gen == nil || hup != nil && hup.Started.After(gen.Started) {
		return hup
	}
	return gen
}

// serveMetrics is /metrics: the request metrics, the supervisor's state
// read now, and the master's go_* and process_* metrics.
func (o *opsState) serveMetrics(w http.ResponseWriter, r *http.Request) {
	var pw prom.Writer
	o.metrics.Write(&pw)
	o.writeManagerMetrics(&pw)
	prom.WriteRuntime(&pw, o.started)
	w.Header().Set("Content-Type", prom.ContentType)
	w.Write(pw.Bytes())
}

// writeManagerMetrics writes the workers' and reloads' metrics.
func (o *opsState) writeManagerMetrics(w *prom.Writer) {
	mgr := o.m.mgr
	st := mgr.Status()
	o.m.engineStatus(&st)
	states := map[string]float64{}
	for _, s := range pyworker.WorkerStates {
		states[s] = 0
	}
	for _, wk := range st.Workers {
		states[wk.State]++
	}
	sort.Slice(st.Workers, func(i, j int) bool { return st.Workers[i].ID < st.Workers[j].ID })
	workerLabels := func(wk pyworker.WorkerStatus) []string {
		return []string{"worker", strconv.Itoa(wk.ID), "pid", strconv.Itoa(wk.Pid), "generation", strconv.Itoa(wk.Generation)}
	}

	w.Family("gowsgi_workers", "Worker processes by state.", "gauge")
	for _, s := range pyworker.WorkerStates {
		w.Sample("gowsgi_workers", states[s], "state", s)
	}
	w.Family("gowsgi_worker_requests_total", "Requests started by each worker process.", "counter")
	for _, wk := range st.Workers {
		w.Sample("gowsgi_worker_requests_total", float64(wk.Requests), workerLabels(wk)...)
	}
	w.Family("gowsgi_worker_rss_bytes", "Resident memory of each worker process.", "gauge")
	for _, wk := range st.Workers {
		if rss, err := pyworker.RSS(wk.Pid); err == nil && wk.Pid > 0 {
			w.Sample("gowsgi_worker_rss_bytes", float64(rss), workerLabels(wk)...)
		}
	}
	k := mgr.Counters()
	w.Family("gowsgi_worker_exits_total", "Worker processes that ended, by cause (\"exited\" is a clean stop, e.g. after a retirement).", "counter")
	for _, cause := range sortedKeys(k.Exits, pyworker.ExitCause.String) {
		w.Sample("gowsgi_worker_exits_total", float64(k.Exits[cause]), "cause", cause.String())
	}
	w.Family("gowsgi_worker_retirements_total", "Graceful worker retirements, by reason.", "counter")
	for _, r := range sortedKeys(k.Retired, func(r string) string { return r }) {
		w.Sample("gowsgi_worker_retirements_total", float64(k.Retired[r]), "reason", r)
	}
	w.Family("gowsgi_harakiri_kills_total", "Workers killed by harakiri.", "counter")
	w.Sample("gowsgi_harakiri_kills_total", float64(k.Harakiri))
	w.Family("gowsgi_evil_rss_kills_total", "Workers killed at once by evil-reload-on-rss.", "counter")
	w.Sample("gowsgi_evil_rss_kills_total", float64(k.EvilRSSKills))
	w.Family("gowsgi_reloads_total", "In-process reloads (a new generation of workers), by outcome.", "counter")
	w.Sample("gowsgi_reloads_total", float64(k.Reloads-k.ReloadFailures), "outcome", "ok")
	w.Sample("gowsgi_reloads_total", float64(k.ReloadFailures), "outcome", "failed")
	w.Family("gowsgi_reload_duration_seconds", "Time from an in-process reload's start until its new generation served.", "summary")
	w.Summary("gowsgi_reload_duration_seconds", uint64(k.Reloads), k.ReloadSeconds)
	w.Family("gowsgi_hup_handovers_total", "Zero-downtime restarts (SIGHUP, touch-reload, py-autoreload) handed to a new master, by outcome; counted across masters.", "counter")
	w.Sample("gowsgi_hup_handovers_total", float64(o.handovers.Load()), "outcome", "ok")
	w.Sample("gowsgi_hup_handovers_total", float64(o.handoverFails.Load()), "outcome", "failed")
	w.Family("gowsgi_requests_queued_total", "GET and HEAD requests that queued behind a short request running on a busy worker thread instead of waiting for a free one (no-queue turns this off).", "counter")
	w.Sample("gowsgi_requests_queued_total", float64(k.Queued))
	w.Family("gowsgi_generation", "The live generation of workers.", "gauge")
	w.Sample("gowsgi_generation", float64(st.Generation))
	if rss, err := pyworker.RSS(os.Getpid()); err == nil {
		w.Family("gowsgi_master_rss_bytes", "Resident memory of the Go master.", "gauge")
		w.Sample("gowsgi_master_rss_bytes", float64(rss))
	}
}

// sortedKeys returns m's keys in a stable order, so a scrape lists its
// samples the same way every time.
func sortedKeys[K comparable, V any](m map[K]V, name func(K) string) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return name(keys[i]) < name(keys[j]) })
	return keys
}

// StatusDoc is /status.json; the HTML page shows the same.
type StatusDoc struct {
	Version    string      `json:"version"`
	Pid        int         `json:"pid"`
	Started    time.Time   `json:"started"`
	Python     string      `json:"python"`
	Generation int         `json:"generation"`
	Listeners  []string    `json:"listeners"`
	MasterRSS  int64       `json:"master_rss_bytes"`
	Workers    []WorkerDoc `json:"workers"`
	LastReload *ReloadDoc  `json:"last_reload"`
	Handovers  int64       `json:"hup_handovers"`
}

type WorkerDoc struct {
	ID         int         `json:"id"`
	Pid        int         `json:"pid"`
	Generation int         `json:"generation"`
	State      string      `json:"state"`
	Requests   int64       `json:"requests"`
	RSS        int64       `json:"rss_bytes"`
	Started    time.Time   `json:"started"`
	Threads    []ThreadDoc `json:"threads"`
}

type ThreadDoc struct {
	Thread int     `json:"thread"`
	Path   string  `json:"path,omitempty"` // the running request, "" when idle
	AgeMS  float64 `json:"age_ms,omitempty"`
}

type ReloadDoc struct {
	Trigger    string    `json:"trigger"`
	Started    time.Time `json:"started"`
	DurationMS float64   `json:"duration_ms"`
	Outcome    string    `json:"outcome"` // "ok", "in progress" or "failed: why"
}

func (o *opsState) status() StatusDoc {
	st := o.m.mgr.Status()
	o.m.engineStatus(&st)
	now := time.Now()
	d := StatusDoc{Version: Version, Pid: os.Getpid(), Started: o.started, Python: st.Python,
		Generation: st.Generation, Listeners: o.m.URLs(), Handovers: o.handovers.Load(), Workers: []WorkerDoc{}}
	d.MasterRSS, _ = pyworker.RSS(os.Getpid())
	for _, w := range st.Workers {
		wd := WorkerDoc{ID: w.ID, Pid: w.Pid, Generation: w.Generation, State: w.State, Requests: w.Requests, Started: w.Started}
		if w.Pid > 0 {
			wd.RSS, _ = pyworker.RSS(w.Pid)
		}
		for _, t := range w.Threads {
			td := ThreadDoc{Thread: t.Thread, Path: t.Path}
			if !t.Since.IsZero() {
				td.AgeMS = float64(now.Sub(t.Since).Microseconds()) / 1000
			}
			wd.Threads = append(wd.Threads, td)
		}
		d.Workers = append(d.Workers, wd)
	}
	sort.Slice(d.Workers, func(i, j int) bool { return d.Workers[i].ID < d.Workers[j].ID })
	if r := o.lastReload(); r != nil {
		rd := &ReloadDoc{Trigger: r.Trigger, Started: r.Started, DurationMS: float64(r.Duration.Microseconds()) / 1000, Outcome: "ok"}
		switch {
		case r.Err != nil:
			rd.Outcome = "failed: " + r.Err.Error()
		case r.Duration == 0:
			rd.Outcome = "in progress"
		}
		d.LastReload = rd
	}
	return d
}

func (o *opsState) serveJSON(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(o.status())
}

func (o *opsState) serveHTML(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := statusPage.Execute(w, o.status()); err != nil {
		o.m.logf("stats: rendering the status page: %v", err)
	}
}

var statusPage = template.Must(template.New("status").Funcs(template.FuncMap{
	"mib": func(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) },
	"ago": func(t time.Time) string { return time.Since(t).Truncate(time.Second).String() },
}).Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>gowsgi {{.Version}} status</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}th{background:#eee}code{font-size:13px}</style>
</head><body>
<h1>gowsgi {{.Version}}</h1>
<p>master pid {{.Pid}}, up {{ago .Started}}, {{mib .MasterRSS}} resident; python {{.Python}}; generation {{.Generation}}; {{.Handovers}} HUP handover(s) so far.
<a href="status.json">status.json</a> · <a href="metrics">metrics</a></p>
<h2>Listeners</h2>
<ul>{{range .Listeners}}<li><code>{{.}}</code></li>{{end}}</ul>
<h2>Workers</h2>
<table><tr><th>worker</th><th>pid</th><th>generation</th><th>state</th><th>requests</th><th>RSS</th><th>up</th><th>threads: current request (age)</th></tr>
{{range .Workers}}<tr><td>{{.ID}}</td><td>{{.Pid}}</td><td>{{.Generation}}</td><td>{{.State}}</td><td>{{.Requests}}</td><td>{{mib .RSS}}</td><td>{{ago .Started}}</td><td>{{range .Threads}}{{.Thread}}: {{if .Path}}<code>{{.Path}}</code> ({{printf "%.0f" .AgeMS}} ms){{else}}idle{{end}}<br>{{end}}</td></tr>
{{end}}</table>
<h2>Last reload</h2>
{{with .LastReload}}<p>{{.Trigger}} at {{.Started.Format "2006-01-02 15:04:05 MST"}}, took {{printf "%.0f" .DurationMS}} ms: {{.Outcome}}</p>{{else}}<p>none since the start</p>{{end}}
</body></html>
`))
