package main

// This file accounts for the failures, judges the run and writes the
// results: a summary table for people and a JSON file for comparison
// between runs.

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// results is everything a run found; it is the JSON file.
type results struct {
	Started     time.Time     `json:"started"`
	Duration    float64       `json:"duration_s"`
	Interrupted bool          `json:"interrupted,omitempty"`
	Aborted     string        `json:"aborted,omitempty"`
	Config      runConfig     `json:"config"`
	Verdict     verdict       `json:"verdict"`
	Traffic     trafficReport `json:"traffic"`
	Faults      []*fault      `json:"faults"`
	Hostile     hostileReport `json:"hostile"`
	Memory      memReport     `json:"memory"`
	Log         logReport     `json:"gowsgi_log"`
	Stop        stopReport    `json:"stop"`
}

type runConfig struct {
	Duration             string `json:"duration"`
	Concurrency          int    `json:"concurrency"`
	KeepAliveClients     int    `json:"keep_alive_clients"`
	NewConnectionClients int    `json:"new_connection_clients"`
	KillEvery            string `json:"kill_every"`
	HUPEvery             string `json:"hup_every"`
	HostileEvery         string `json:"hostile_every"`
	SampleEvery          string `json:"sample_every"`
	Warmup               string `json:"warmup"`
	Processes            int    `json:"processes"`
	Threads              int    `json:"threads"`
	Harakiri             int    `json:"harakiri_s"`
	Addr                 string `json:"addr"`
	Gowsgi               string `json:"gowsgi"`
	GowsgiVersion        string `json:"gowsgi_version,omitempty"`
	GowsgiSHA256         string `json:"gowsgi_sha256,omitempty"`
	Commit               string `json:"commit,omitempty"`
	CommitFrom           string `json:"commit_from,omitempty"`
	Dirty                bool   `json:"uncommitted_changes"`
	Python               string `json:"python"`
	Seed                 uint64 `json:"seed"`
	GoVersion            string `json:"go_version"`
	CPUs                 int    `json:"cpus"`
}

type verdict struct {
	Pass    bool     `json:"pass"`
	Reasons []string `json:"reasons,omitempty"`
	Notes   []string `json:"notes,omitempty"`
}

type trafficReport struct {
	Sent        int             `json:"sent"`
	Correct     int             `json:"correct"`
	Failed      int             `json:"failed"`
	Accounted   int             `json:"accounted"`
	Unaccounted int             `json:"unaccounted"`
	Rate        float64         `json:"requests_per_s"`
	Kinds       []kindStats     `json:"kinds"`
	Failures    []failureReport `json:"failures"`
}

type kindStats struct {
	Kind    string  `json:"kind"`
	Sent    int     `json:"sent"`
	Correct int     `json:"correct"`
	Failed  int     `json:"failed"`
	P50ms   float64 `json:"p50_ms"`
	P99ms   float64 `json:"p99_ms"`
	MaxMs   float64 `json:"max_ms"`
}

type failureReport struct {
	At        float64  `json:"at_s"`
	End       float64  `json:"end_s"`
	Client    int      `json:"client"`
	KeepAlive bool     `json:"keep_alive"`
	Kind      string   `json:"kind"`
	Outcome   string   `json:"outcome"`
	Status    int      `json:"status,omitempty"`
	Detail    string   `json:"detail"`
	Accounted bool     `json:"accounted"`
	During    []string `json:"during,omitempty"` // the faults its window overlapped
}

type hostileReport struct {
	Sent    int                `json:"sent"`
	Passed  int                `json:"passed"`
	Failed  int                `json:"failed"`
	Excused int                `json:"excused_by_worker_kill"`
	Kinds   []hostileKindStats `json:"kinds"`
	Events  []*hostileEvent    `json:"events"`
}

type hostileKindStats struct {
	Kind    string `json:"kind"`
	Sent    int    `json:"sent"`
	Passed  int    `json:"passed"`
	Failed  int    `json:"failed"`
	Outcome string `json:"outcome"` // the first failure's, else the last one's
}

type logReport struct {
	Path          string `json:"path"`
	Kept          bool   `json:"kept"`
	Lines         int64  `json:"lines"`
	WorkerSIGKILL int64  `json:"worker_killed_by_sigkill_lines"`
	Harakiri      int64  `json:"harakiri_lines"`
	Panics        int64  `json:"panic_lines"`
}

// account matches failures with faults. A failure is accounted for when
// it overlapped a worker kill (in flight between the signal and the
// worker's death) and failed as a dead worker's request does: a 502 or a
// connection error. Hostile requests that failed that way during a kill
// are excused the same way.
func account(tr *traffic, faults []*fault, events []*hostileEvent) trafficReport {
	var r trafficReport
	var durations [numKinds][]int64
	var perKind [numKinds]kindStats
	var last int64
	for _, c := range tr.clients {
		for _, rec := range c.records {
			r.Sent++
			perKind[rec.kind].Sent++
			last = max(last, rec.end)
			for _, f := range faults {
				if overlaps(rec.start, rec.end, f.start, f.end) {
					f.InFlight++
				}
			}
			if rec.outcome == outOK {
				r.Correct++
				perKind[rec.kind].Correct++
				durations[rec.kind] = append(durations[rec.kind], rec.end-rec.start)
			} else {
				perKind[rec.kind].Failed++
			}
		}
	}
	r.Failed = r.Sent - r.Correct
	if last > 0 {
		r.Rate = float64(r.Sent) / (float64(last) / 1e9)
	}
	for k := range numKinds {
		s := perKind[k]
		s.Kind = kindNames[k]
		d := durations[k]
		slices.Sort(d)
		if len(d) > 0 {
			s.P50ms = ms(d[len(d)/2])
			s.P99ms = ms(d[min(len(d)-1, len(d)*99/100)])
			s.MaxMs = ms(d[len(d)-1])
		}
		r.Kinds = append(r.Kinds, s)
	}

	for _, c := range tr.clients {
		for _, f := range c.failures {
			fr := failureReport{At: seconds(f.start), End: seconds(f.end), Client: int(f.client), KeepAlive: f.keepAlive,
				Kind: kindNames[f.kind], Outcome: outcomeNames[f.outcome], Status: int(f.status), Detail: f.detail}
			deadWorker := f.outcome == outConn || f.status == 502
			duringKill := false
			for _, ft := range faults {
				if ft.Kind == faultKill && overlaps(f.start, f.end, ft.start, ft.end) {
					duringKill = true
				}
			}
			for _, ft := range faults {
				if !overlaps(f.start, f.end, ft.start, ft.end) {
					continue
				}
				fr.During = append(fr.During, describeFault(ft))
				switch {
				case ft.Kind == faultKill:
					ft.Failed++
					if ft.Error == "" && deadWorker {
						fr.Accounted = true
					}
				case !duringKill: // a HUP answers only for what no kill overlapped
					ft.Failed++
				}
			}
			for _, ev := range events {
				if overlaps(f.start, f.end, ev.start, ev.end) {
					fr.During = append(fr.During, fmt.Sprintf("hostile %s at %.3fs", ev.Kind, ev.At))
				}
			}
			if fr.Accounted {
				r.Accounted++
			} else {
				r.Unaccounted++
			}
			r.Failures = append(r.Failures, fr)
		}
	}
	sort.Slice(r.Failures, func(i, j int) bool { return r.Failures[i].At < r.Failures[j].At })
	for _, ev := range events {
		if ev.Pass || !ev.cut {
			continue
		}
		for _, ft := range faults {
			if ft.Kind == faultKill && ft.Error == "" && overlaps(ev.start, ev.end, ft.start, ft.end) {
				ev.Excused = true
			}
		}
	}
	return r
}

func overlaps(aStart, aEnd, bStart, bEnd int64) bool { return aStart <= bEnd && aEnd >= bStart }

func describeFault(f *fault) string {
	if f.Kind == faultKill {
		return fmt.Sprintf("worker-kill of %d at %.3fs", f.Worker, f.At)
	}
	return fmt.Sprintf("hup of %d at %.3fs-%.3fs", f.Master, f.At, f.End)
}

func ms(ns int64) float64 { return float64(ns/1000) / 1000 }

func summarizeHostile(events []*hostileEvent) hostileReport {
	r := hostileReport{Events: events}
	sort.Slice(events, func(i, j int) bool { return events[i].start < events[j].start })
	byKind := map[string]*hostileKindStats{}
	for _, k := range hostileKinds {
		s := &hostileKindStats{Kind: k.name}
		byKind[k.name] = s
	}
	for _, ev := range events {
		s := byKind[ev.Kind]
		s.Sent++
		r.Sent++
		switch {
		case ev.Pass:
			s.Passed++
			r.Passed++
			if s.Failed == 0 {
				s.Outcome = ev.Outcome
			}
		case ev.Excused:
			r.Excused++
		default:
			if s.Failed == 0 {
				s.Outcome = ev.Outcome
			}
			s.Failed++
			r.Failed++
		}
	}
	for _, k := range hostileKinds {
		if s := byKind[k.name]; s.Sent > 0 {
			r.Kinds = append(r.Kinds, *s)
		}
	}
	return r
}

// judge decides the run: it passes when every failed request is accounted
// for, the master's memory stayed within the rule, every hostile request
// got a 4xx or a close, every fault was injected and gowsgi stopped
// cleanly.
func judge(res *results) verdict {
	var v verdict
	fail := func(format string, a ...any) { v.Reasons = append(v.Reasons, fmt.Sprintf(format, a...)) }
	if res.Aborted != "" {
		fail("gowsgi exited in the middle of the soak")
	}
	if n := res.Traffic.Unaccounted; n > 0 {
		fail("%d failed request(s) not explained by a worker kill", n)
	}
	if res.Traffic.Sent == 0 {
		fail("no traffic was sent")
	}
	m := res.Memory
	if m.Start != nil && m.End != nil && m.GrowthKiB > m.LimitKiB {
		fail("master RSS grew by %s from %.0fs to %.0fs (limit %s)", mib(m.GrowthKiB), m.Start.At, m.End.At, mib(m.LimitKiB))
	}
	for _, s := range m.Segments {
		if s.Judged && !s.Pass {
			fail("master %d's RSS grew by %s while it was the master (limit %s)", s.Master, mib(s.GrowthKiB), mib(s.LimitKiB))
		}
	}
	if m.Start == nil {
		fail("no memory samples")
	}
	if n := res.Hostile.Failed; n > 0 {
		var kinds []string
		for _, k := range res.Hostile.Kinds {
			if k.Failed > 0 {
				kinds = append(kinds, k.Kind)
			}
		}
		fail("%d hostile request(s) got neither a 4xx nor a close (%s)", n, strings.Join(kinds, ", "))
	}
	for _, f := range res.Faults {
		if f.Error != "" {
			fail("%s at %.0fs: %s", f.Kind, f.At, f.Error)
		}
		if f.Kind == faultHUP && f.Failed > 0 {
			v.Notes = append(v.Notes, fmt.Sprintf("%d request(s) failed during the HUP at %.0fs, outside any worker kill", f.Failed, f.At))
		}
		if f.Kind == faultKill && f.Failed > threads {
			v.Notes = append(v.Notes, fmt.Sprintf("the worker kill at %.0fs overlapped %d failures; a worker runs at most %d requests (through the in-worker engine its open connections fail with it too)", f.At, f.Failed, threads))
		}
	}
	for _, p := range res.Stop.Problems {
		fail("stop: %s", p)
	}
	if res.Log.Panics > 0 {
		fail("gowsgi's log has %d panic line(s)", res.Log.Panics)
	}
	if res.Log.Harakiri > 0 {
		v.Notes = append(v.Notes, fmt.Sprintf("gowsgi's log has %d harakiri kill(s); the traffic's requests take milliseconds", res.Log.Harakiri))
	}
	v.Pass = len(v.Reasons) == 0
	return v
}

func writeJSON(path string, res *results) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// printSummary writes the tables people read.
func printSummary(out io.Writer, res *results) {
	c := res.Config
	fmt.Fprintf(out, "\n== gowsgi soak: %.0fs; %d clients (%d keep-alive, %d new-connection); %d worker(s) x %d thread(s), harakiri %ds\n",
		res.Duration, c.Concurrency, c.KeepAliveClients, c.NewConnectionClients, c.Processes, c.Threads, c.Harakiri)
	dirty := ""
	if c.Dirty {
		dirty = " plus uncommitted changes"
	}
	fmt.Fprintf(out, "   %s, commit %.12s%s (from %s); soak on %s, %d CPU(s)\n\n",
		c.GowsgiVersion, c.Commit, dirty, c.CommitFrom, c.GoVersion, c.CPUs)

	t := res.Traffic
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "traffic\tsent\tcorrect\tfailed\tp50 ms\tp99 ms\tmax ms\t")
	for _, k := range t.Kinds {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.1f\t%.1f\t%.0f\t\n", k.Kind, k.Sent, k.Correct, k.Failed, k.P50ms, k.P99ms, k.MaxMs)
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t%d\t\t\t\t\n", t.Sent, t.Correct, t.Failed)
	tw.Flush()
	fmt.Fprintf(out, "%.0f requests/s; failed: %d accounted for by a worker kill, %d unaccounted\n\n", t.Rate, t.Accounted, t.Unaccounted)

	var kills, killErr, killFailed, maxPerKill, hups, hupErr, hupFailed int
	for _, f := range res.Faults {
		switch f.Kind {
		case faultKill:
			kills++
			killFailed += f.Failed
			maxPerKill = max(maxPerKill, f.Failed)
			if f.Error != "" {
				killErr++
			}
		case faultHUP:
			hups++
			hupFailed += f.Failed
			if f.Error != "" {
				hupErr++
			}
		}
	}
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "faults\tinjected\tnot injected / incomplete\ttraffic failures in their windows\t")
	fmt.Fprintf(tw, "worker kill (SIGKILL)\t%d\t%d\t%d (at most %d for one kill)\t\n", kills, killErr, killFailed, maxPerKill)
	fmt.Fprintf(tw, "HUP\t%d\t%d\t%d\t\n", hups, hupErr, hupFailed)
	fmt.Fprintf(tw, "hostile request\t%d\t\t%d failed, %d excused by a kill\t\n", res.Hostile.Sent, res.Hostile.Failed, res.Hostile.Excused)
	tw.Flush()
	fmt.Fprintln(out)

	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "hostile request\tsent\tpassed\tfailed\toutcome (first failure, else last)\t")
	for _, k := range res.Hostile.Kinds {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t\n", k.Kind, k.Sent, k.Passed, k.Failed, k.Outcome)
	}
	tw.Flush()
	fmt.Fprintln(out)

	m := res.Memory
	fmt.Fprintf(out, "memory (MiB; first / last / peak of each master; every %s plus before and after each HUP)\n", c.SampleEvery)
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "master\tfrom s\tto s\tsamples\tmaster RSS\tmaster PSS\ttree RSS\ttree PSS\tjudged\t")
	for _, s := range m.Segments {
		judged := "too short"
		if s.Judged {
			judged = fmt.Sprintf("%+.1f (limit %.1f): %s", float64(s.GrowthKiB)/1024, float64(s.LimitKiB)/1024, passText(s.Pass))
		}
		fmt.Fprintf(tw, "%d\t%.0f\t%.0f\t%d\t%s\t%s\t%s\t%s\t%s\t\n", s.Master, s.From, s.To, s.Samples,
			triple(s.First.Master.RSS, s.Last.Master.RSS, s.Peak.Master.RSS),
			triple(s.First.Master.PSS, s.Last.Master.PSS, s.Peak.Master.PSS),
			triple(s.First.Tree.RSS, s.Last.Tree.RSS, s.Peak.Tree.RSS),
			triple(s.First.Tree.PSS, s.Last.Tree.PSS, s.Peak.Tree.PSS), judged)
	}
	tw.Flush()
	fmt.Fprintf(out, "rule: %s\n", m.Rule)
	if m.Start != nil && m.End != nil {
		fmt.Fprintf(out, "master RSS: start %s (pid %d at %.0fs), end %s (pid %d at %.0fs), peak %s: %+.1f MiB, limit %s: %s\n",
			mib(m.Start.MasterMem.RSS), m.Start.Master, m.Start.At, mib(m.End.MasterMem.RSS), m.End.Master, m.End.At,
			mib(m.Peak.Master.RSS), float64(m.GrowthKiB)/1024, mib(m.LimitKiB), passText(m.GrowthKiB <= m.LimitKiB))
		fmt.Fprintf(out, "master PSS: start %s, end %s; tree RSS: start %s, end %s, peak %s; tree PSS: start %s, end %s, peak %s\n",
			mib(m.Start.MasterMem.PSS), mib(m.End.MasterMem.PSS), mib(m.Start.TreeMem.RSS), mib(m.End.TreeMem.RSS), mib(m.Peak.Tree.RSS),
			mib(m.Start.TreeMem.PSS), mib(m.End.TreeMem.PSS), mib(m.Peak.Tree.PSS))
	}
	for _, e := range m.Errors {
		fmt.Fprintf(out, "memory: %s\n", e)
	}
	fmt.Fprintln(out)

	if t.Unaccounted > 0 {
		fmt.Fprintf(out, "unaccounted failures (%d; all are in the JSON):\n", t.Unaccounted)
		n := 0
		for _, f := range t.Failures {
			if f.Accounted {
				continue
			}
			if n++; n > 20 {
				break
			}
			mode := "new-connection"
			if f.KeepAlive {
				mode = "keep-alive"
			}
			fmt.Fprintf(out, "  [%s] client %d (%s) %s: %s", stamp(int64(f.At*1e9)), f.Client, mode, f.Kind, f.Detail)
			if len(f.During) > 0 {
				fmt.Fprintf(out, "; during %s", strings.Join(f.During, ", "))
			}
			fmt.Fprintln(out)
		}
		fmt.Fprintln(out)
	}

	l := res.Log
	kept := "removed"
	if l.Kept {
		kept = "kept"
	}
	fmt.Fprintf(out, "gowsgi log: %s (%s): %d lines, %d worker(s) killed by SIGKILL, %d harakiri kill(s), %d panic line(s)\n",
		l.Path, kept, l.Lines, l.WorkerSIGKILL, l.Harakiri, l.Panics)
	fmt.Fprintf(out, "stop: masters %v stopped in %.1fs\n", res.Stop.Masters, res.Stop.Took)
	for _, n := range res.Verdict.Notes {
		fmt.Fprintf(out, "note: %s\n", n)
	}
	if res.Verdict.Pass {
		fmt.Fprintln(out, "verdict: PASS")
	} else {
		fmt.Fprintf(out, "verdict: FAIL: %s\n", strings.Join(res.Verdict.Reasons, "; "))
	}
}

func triple(a, b, c int64) string {
	return fmt.Sprintf("%.1f / %.1f / %.1f", float64(a)/1024, float64(b)/1024, float64(c)/1024)
}

func passText(ok bool) string {
	if ok {
		return "pass"
	}
	return "FAIL"
}
