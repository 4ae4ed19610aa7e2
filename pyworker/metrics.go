package pyworker

// This file is what the Manager counts for the stats endpoint: worker
// exits by cause, retirements by reason, harakiri kills and in-process
// reloads. Everything is an atomic the supervisor (or Reload) bumps, read at
// scrape time, so pyworker needs no metrics library and the request path
// pays nothing for them.

import (
	"sort"
	"strconv"

	"sync/atomic"
	"time"
)

// Counters are the Manager's totals since it started.
type Counters struct {
	// Exits counts worker processes (not zygotes) that ended, by cause.
	Exits map[ExitCause]int64
	// Retired counts graceful retirements by reason: "max-requests",
	// "reload-on-rss", "replaced" (its generation was), "broken" (a
	// connection to it broke) and "other".
	Retired map[string]int64
	// Harakiri counts workers killed by harakiri.
	Harakiri int64
	// EvilRSSKills counts workers killed at once by evil-reload-on-rss.
	EvilRSSKills int64
	// Reloads and ReloadFailures count Reload calls (in-process generation
	// reloads); the first Start is not one.
	Reloads, ReloadFailures int64
	// ReloadSeconds is the sum of the reloads' durations.
	ReloadSeconds float64
	// Queued counts requests that queued behind a running one (pool.go).
	Queued int64
}

// ReloadInfo describes the last in-process reload.
type ReloadInfo struct {
	Trigger  string
	Started  time.Time
	Duration time.Duration
	Err      error // nil: the new generation went live
}

// metrics is embedded in Manager.
type metrics struct {
	exits        [len(exitCauseNames)]atomic.Int64
	retired      [len(retireLabels)]atomic.Int64
	harakiri     atomic.Int64
	evilRSSKills atomic.Int64
	reloads      atomic.Int64
	reloadFails  atomic.Int64
	reloadNanos  atomic.Int64
	lastReload   atomic.Pointer[ReloadInfo]
	trigger      atomic.Pointer[string]
	queued       atomic.Int64
}

// retireLabels name the retirement counters (retireReason.label).
var retireLabels = [...]string{"other", "max-requests", "reload-on-rss", "replaced", "broken", "max-worker-lifetime"}

// noteExit counts a worker's end; called by the supervisor.
func (m *Manager) noteExit(w *worker, e Exit) {
	if w.isZygote {
		return
	}
	if c := int(e.Cause()); c < len(m.stats.exits) {
		m.stats.exits[c].Add(1)
	}
}

// noteRetire counts a retirement; called by the supervisor.
func (m *Manager) noteRetire(why retireReason) { m.stats.retired[why.label()].Add(1) }

// SetReloadTrigger names what caused the next Reload ("touch-reload",
// "main.py changed"), for the status page.
func (m *Manager) SetReloadTrigger(trigger string) { m.stats.trigger.Store(&trigger) }

// noteReload records one Reload.
func (m *Manager) noteReload(start time.Time, err error) {
	d := time.Since(start)
	trigger := "reload"
	if p := m.stats.trigger.Swap(nil); p != nil {
		trigger = *p
	}
	m.stats.reloads.Add(1)
	if err != nil {
		m.stats.reloadFails.Add(1)
	}
	m.stats.reloadNanos.Add(int64(d))
	m.stats.lastReload.Store(&ReloadInfo{Trigger: trigger, Started: start, Duration: d, Err: err})
}

// LastReload returns the last in-process reload, or nil.
func (m *Manager) LastReload() *ReloadInfo { return m.stats.lastReload.Load() }

// Counters returns the totals so far. It reads atomics only.
func (m *Manager) Counters() Counters {
	c := Counters{Exits: map[ExitCause]int64{}, Retired: map[string]int64{}}
	for i := range m.stats.exits {
		c.Exits[ExitCause(i)] = m.stats.exits[i].Load()
	}
	for i, r := range retireLabels {
		c.Retired[r] = m.stats.retired[i].Load()
	}
	c.Harakiri = m.stats.harakiri.Load()
	c.EvilRSSKills = m.stats.evilRSSKills.Load()
	c.Reloads = m.stats.reloads.Load()
	c.ReloadFailures = m.stats.reloadFails.Load()
	c.ReloadSeconds = time.Duration(m.stats.reloadNanos.Load()).Seconds()
	c.Queued = m.stats.queued.Load()
	return c
}

// ThreadStatus is one Python thread of a worker.
type ThreadStatus struct {
	Thread int
	// Path is the request it runs, "" when idle; Since is when it began.
	Path  string
	Since time.Time
}

// threads reads the slots' atomics; any goroutine may call it, as long as
// w.slots is not being appended to (the supervisor owns it: status calls it
// from there).
func (w *worker) threads() []ThreadStatus {
	out := make([]ThreadStatus, 0, len(w.slots))
	for _, s := range w.slots {
		ts := ThreadStatus{Thread: s.thread}
		if since := s.busySince.Load(); since != 0 {
			ts.Since = time.Unix(0, since)
			if p := s.path.Load(); p != nil {
				ts.Path = *p
			}
		}
		out = append(out, ts)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Thread < out[j].Thread })
	return out
}

// workerStatus is the snapshot of one worker, taken by the supervisor.
func workerStatus(w *worker, g *generation) WorkerStatus {
	return WorkerStatus{ID: w.id, Pid: w.pid, Generation: g.n, State: w.state.String(),
		Requests: w.requests.Load(), Started: w.started, Threads: w.threads()}
}

// WorkerStates are the states a WorkerStatus.State can have, in order.
var WorkerStates = stateNames[:stateDead]

// logTag names w in the lines it logs (wsgi.errors, logging): "pid 4121
// gen 3" for a worker, "pid 4120" for a zygote, which serves no
// generation's requests.
func (w *worker) logTag() string {
	if w.isZygote || w.gen == nil || w.gen.n == 0 {
		return "pid " + strconv.Itoa(w.pid)
	}
	return "pid " + strconv.Itoa(w.pid) + " gen " + strconv.Itoa(w.gen.n)
}
