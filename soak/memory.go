package main

// This file samples memory and judges its growth. The figures are of
// whichever master the pidfile names: a HUP replaces the master with a new
// process, so the samples fall into one segment per master, and the
// judgement says which master each figure came from.

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// The growth rule: the master's RSS at the end may exceed its RSS after
// the warm-up by at most max(growthFloor, growthShare of the start).
const (
	growthFloorKiB = 5 << 10 // 5 MiB
	growthShare    = 0.10
)

// memSample is one reading of the master and of its whole tree (master,
// zygote, workers).
type memSample struct {
	At        float64 `json:"at_s"`
	Reason    string  `json:"reason"` // tick, before-hup, after-hup, end
	Master    int     `json:"master_pid"`
	MasterMem memory  `json:"master"`
	TreeMem   memory  `json:"tree"`
	TreeProcs int     `json:"tree_procs"`
}

// sampler takes memory samples, on a ticker and when asked.
type sampler struct {
	srv   *server
	clock *clock

	mu      sync.Mutex
	samples []memSample
	errs    []string
}

// run samples every period until ctx ends.
func (s *sampler) run(ctx context.Context, every time.Duration, progress func(memSample)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if m, ok := s.sample("tick"); ok {
				progress(m)
			}
		}
	}
}

// sample reads the memory of the current master and its tree.
func (s *sampler) sample(reason string) (memSample, bool) {
	at := s.clock.now()
	master := s.srv.master()
	procs := readProcs()
	pids := procs.tree(master, s.srv.isMaster)
	m := memSample{At: seconds(at), Reason: reason, Master: master}
	var err error
	if len(pids) == 0 {
		err = fmt.Errorf("master %d is not running", master)
	}
	for _, pid := range pids {
		mem, e := readMemory(pid)
		if e != nil {
			if pid == master {
				err = e
				break
			}
			continue // a worker that just died
		}
		if pid == master {
			m.MasterMem = mem
		}
		m.TreeMem.add(mem)
		m.TreeProcs++
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.errs = append(s.errs, fmt.Sprintf("%s at %.1fs: %v", reason, seconds(at), err))
		return m, false
	}
	s.samples = append(s.samples, m)
	return m, true
}

// memSegment is the samples of one master.
type memSegment struct {
	Master  int     `json:"master_pid"`
	From    float64 `json:"from_s"`
	To      float64 `json:"to_s"`
	Samples int     `json:"samples"`
	First   memFig  `json:"first"`
	Last    memFig  `json:"last"`
	Peak    memFig  `json:"peak"`
	// The rule applied to this master alone, from its first sample after
	// its own warm-up to its last; "too short" when it had fewer than two.
	Judged    bool   `json:"judged"`
	GrowthKiB int64  `json:"rss_growth_kib,omitempty"`
	LimitKiB  int64  `json:"rss_limit_kib,omitempty"`
	Pass      bool   `json:"pass"`
	Note      string `json:"note,omitempty"`
}

// memFig is the four figures of a sample (the peak takes each one's own
// maximum).
type memFig struct {
	Master memory `json:"master"`
	Tree   memory `json:"tree"`
}

func (f *memFig) max(s memSample) {
	f.Master.RSS = max(f.Master.RSS, s.MasterMem.RSS)
	f.Master.PSS = max(f.Master.PSS, s.MasterMem.PSS)
	f.Tree.RSS = max(f.Tree.RSS, s.TreeMem.RSS)
	f.Tree.PSS = max(f.Tree.PSS, s.TreeMem.PSS)
}

func fig(s memSample) memFig { return memFig{Master: s.MasterMem, Tree: s.TreeMem} }

// memReport is the memory part of the results.
type memReport struct {
	Rule      string       `json:"rule"`
	Warmup    float64      `json:"warmup_s"`
	Start     *memSample   `json:"start"`
	End       *memSample   `json:"end"`
	GrowthKiB int64        `json:"master_rss_growth_kib"`
	LimitKiB  int64        `json:"master_rss_limit_kib"`
	Pass      bool         `json:"pass"`
	Peak      memFig       `json:"peak"`
	Segments  []memSegment `json:"segments"`
	Samples   []memSample  `json:"samples"`
	Errors    []string     `json:"errors,omitempty"`
}

func limitFor(startKiB int64) int64 {
	return max(growthFloorKiB, int64(float64(startKiB)*growthShare))
}

func ruleText(warmup time.Duration) string {
	return fmt.Sprintf("master RSS at the end minus master RSS at the first sample after the %s warm-up "+
		"must be at most max(5 MiB, 10%% of the start); after a HUP the master is a new process, "+
		"so each master is also held to the rule from its first sample %s after it took over to its last",
		warmup, warmup)
}

// judge groups the samples by master and applies the growth rule to the
// run (the first master after the warm-up against the master at the end)
// and to each master that lived long enough.
func (s *sampler) judge(warmup time.Duration) memReport {
	s.mu.Lock()
	samples := append([]memSample(nil), s.samples...)
	errs := append([]string(nil), s.errs...)
	s.mu.Unlock()
	w := warmup.Seconds()
	r := memReport{Rule: ruleText(warmup), Warmup: w, Samples: samples, Errors: errs, Pass: true}
	if len(samples) == 0 {
		r.Pass = false
		r.Errors = append(r.Errors, "no memory samples")
		return r
	}
	for i := range samples {
		if samples[i].At >= w {
			r.Start = &samples[i]
			break
		}
	}
	if r.Start == nil {
		r.Start = &samples[0]
		r.Errors = append(r.Errors, "the run ended before the warm-up did: start is the first sample")
	}
	r.End = &samples[len(samples)-1]
	r.GrowthKiB = r.End.MasterMem.RSS - r.Start.MasterMem.RSS
	r.LimitKiB = limitFor(r.Start.MasterMem.RSS)
	r.Pass = r.GrowthKiB <= r.LimitKiB
	for _, m := range samples {
		r.Peak.max(m)
	}

	// Segments: consecutive samples of one master.
	for i := 0; i < len(samples); {
		j := i
		seg := memSegment{Master: samples[i].Master, From: samples[i].At, First: fig(samples[i])}
		for ; j < len(samples) && samples[j].Master == seg.Master; j++ {
			seg.Peak.max(samples[j])
		}
		seg.To, seg.Samples, seg.Last = samples[j-1].At, j-i, fig(samples[j-1])
		// The first master is timed from the start of traffic; a later
		// one from its first sample, taken as it took over.
		since := seg.From
		if i == 0 {
			since = 0
		}
		var judged []memSample
		for _, m := range samples[i:j] {
			if m.At >= since+w {
				judged = append(judged, m)
			}
		}
		if len(judged) >= 2 {
			a, b := judged[0], judged[len(judged)-1]
			seg.Judged = true
			seg.GrowthKiB = b.MasterMem.RSS - a.MasterMem.RSS
			seg.LimitKiB = limitFor(a.MasterMem.RSS)
			seg.Pass = seg.GrowthKiB <= seg.LimitKiB
			seg.Note = fmt.Sprintf("judged from %.0fs to %.0fs", a.At, b.At)
			if !seg.Pass {
				r.Pass = false
			}
		} else {
			seg.Pass = true
			seg.Note = "too short to judge (fewer than 2 samples after its warm-up)"
		}
		r.Segments = append(r.Segments, seg)
		i = j
	}
	return r
}
