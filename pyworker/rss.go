package pyworker

// This file implements reload-on-rss and evil-reload-on-rss: a worker whose
// resident memory passes the limit is retired gracefully after the request
// in which it crossed it (its replacement is started at once), or, with the
// evil variant, killed on the spot.

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// rssInterval is how often Release reads one worker's /proc/PID/statm at
// most: a busy worker serving thousands of requests a second reads it ten
// times a second, not thousands.
const rssInterval = 100 * time.Millisecond

// memWatch is a worker's last RSS reading; the request path owns it
// through atomics.
type memWatch struct {
	checkedAt atomic.Int64 // unix nanos of the last read
	rss       atomic.Int64 // bytes
	over      atomic.Bool  // retirement already asked for
}

var pageSize = int64(os.Getpagesize())

// RSS returns the resident memory of process pid in bytes, from
// /proc/PID/statm (one small read, no parsing of /proc/PID/status).
func RSS(pid int) (int64, error) {
	var buf [128]byte
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/statm")
	if err != nil {
		return 0, err
	}
	n, err := f.Read(buf[:])
	f.Close()
	if err != nil {
		return 0, err
	}
	fields := bytes.Fields(buf[:n])
	if len(fields) < 2 {
		return 0, fmt.Errorf("reading /proc/%d/statm: %q has no resident field", pid, buf[:n])
	}
	pages, err := strconv.ParseInt(string(fields[1]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("reading /proc/%d/statm: %w", pid, err)
	}
	return pages * pageSize, nil
}

// checkRSS runs in Release, after the request: at most every rssInterval
// per worker it reads the worker's RSS, and past Options.ReloadOnRSS it
// asks the supervisor to retire the worker. The request that crossed the
// limit has already been answered.
func (m *Manager) checkRSS(s *Slot) {
	limit := m.opts.ReloadOnRSS
	if limit <= 0 {
		return
	}
	w := s.w
	now := time.Now().UnixNano()
	last := w.mem.checkedAt.Load()
	if now-last < int64(rssInterval) || !w.mem.checkedAt.CompareAndSwap(last, now) {
		return
	}
	rss, err := RSS(w.pid)
	if err != nil {
		return // it died; the supervisor hears of it from Wait
	}
	w.mem.rss.Store(rss)
	if rss <= limit || w.retiring.Load() || !w.mem.over.CompareAndSwap(false, true) {
		return
	}
	w.retiring.Store(true)
	detail := fmt.Sprintf("resident memory %d MiB is over the limit of %d MiB", rss>>20, limit>>20)
	m.send(retireEvent{w: w, why: retireRSS, detail: detail})
}

// evilRSSLoop is the goroutine of evil-reload-on-rss: every
// evilRSSInterval it reads each worker's RSS and kills (SIGKILL) one past
// Options.EvilReloadOnRSS at once, even mid-request, as uWSGI does. Its
// in-flight requests get 502; the supervisor replaces it as any killed
// worker.
func (m *Manager) evilRSSLoop() {
	t := time.NewTicker(evilRSSInterval)
	defer t.Stop()
	for {
		select {
		case <-m.done:
			return
		case <-t.C:
		}
		for _, ws := range m.Status().Workers {
			if ws.Pid <= 0 || (ws.State != "ready" && ws.State != "retiring") {
				continue
			}
			rss, err := RSS(ws.Pid)
			if err != nil || rss <= m.opts.EvilReloadOnRSS {
				continue
			}
			m.logf("evil-reload-on-rss: worker %d (gen %d, pid %d) uses %d MiB, over the limit of %d MiB; killing it",
				ws.ID, ws.Generation, ws.Pid, rss>>20, m.opts.EvilReloadOnRSS>>20)
			m.stats.evilRSSKills.Add(1)
			m.procs.signal(ws.Pid, syscall.SIGKILL)
		}
	}
}

const evilRSSInterval = 500 * time.Millisecond

// engineRSSLoop is reload-on-rss for workers that serve through the engine
// (EngineOptions): no request passes through the master to check after,
// so every rssInterval it reads each ready worker's RSS and retires one
// past Options.ReloadOnRSS, which finishes what it holds first.
func (m *Manager) engineRSSLoop() {
	t := time.NewTicker(rssInterval)
	defer t.Stop()
	limit := m.opts.ReloadOnRSS
	for {
		select {
		case <-m.done:
			return
		case <-t.C:
		}
		for _, ws := range m.Status().Workers {
			if ws.Pid <= 0 || ws.State != "ready" {
				continue
			}
			rss, err := RSS(ws.Pid)
			if err != nil || rss <= limit {
				continue
			}
			detail := fmt.Sprintf("resident memory %d MiB is over the limit of %d MiB", rss>>20, limit>>20)
			m.send(retireByPidEvent{pid: ws.Pid, why: retireRSS, detail: detail})
		}
	}
}
