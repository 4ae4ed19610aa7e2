package main

// This file injects the process faults: SIGKILL of one worker and SIGHUP of
// the master, one at a time from one goroutine, so that a kill never lands
// in the middle of a HUP's handoff and each fault's window is its own.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"syscall"
	"time"
)

// Fault kinds.
const (
	faultKill = "worker-kill"
	faultHUP  = "hup"
)

// fault is one injected worker kill or HUP. Its window runs from just
// before the signal to, for a kill, the moment the worker was seen dead
// and, for a HUP, the moment the old master had exited.
type fault struct {
	Kind      string  `json:"kind"`
	At        float64 `json:"at_s"`
	End       float64 `json:"end_s"`
	Master    int     `json:"master_pid"`
	Worker    int     `json:"worker_pid,omitempty"`
	NewMaster int     `json:"new_master_pid,omitempty"`
	Ready     float64 `json:"new_master_ready_after_s,omitempty"`
	Error     string  `json:"error,omitempty"`
	// Interrupted: ^C came before the HUP's handoff was over.
	Interrupted bool `json:"interrupted,omitempty"`
	// Filled in by the accounting: traffic requests in flight during the
	// window, and the failed ones among them (for a HUP, only those that
	// overlapped no worker kill).
	InFlight int `json:"in_flight"`
	Failed   int `json:"failed"`

	start, end int64 // the window, ns since traffic started
}

// faults is the schedule of worker kills and HUPs.
type faults struct {
	srv      *server
	clock    *clock
	mem      *sampler
	rng      *rand.Rand
	killEach time.Duration
	hupEach  time.Duration
	done     []*fault
}

// run injects faults until ctx ends. A HUP under way when ctx ends is
// followed to its end (or until stop is cancelled, on ^C).
func (f *faults) run(ctx, stop context.Context) {
	kill, hup := ticker(f.killEach), ticker(f.hupEach)
	defer kill.Stop()
	defer hup.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-kill.C:
			if ctx.Err() == nil { // a tick that waited out a HUP past the end
				f.done = append(f.done, f.kill())
			}
		case <-hup.C:
			if ctx.Err() == nil {
				f.done = append(f.done, f.hup(stop))
			}
		}
	}
}

// ticker is a time.Ticker, or one that never fires for every <= 0.
func ticker(every time.Duration) *time.Ticker {
	if every <= 0 {
		t := time.NewTicker(time.Hour)
		t.Stop()
		return t
	}
	return time.NewTicker(every)
}

// kill SIGKILLs one worker of the current master.
func (f *faults) kill() *fault {
	master := f.srv.master()
	workers := readProcs().workers(master, f.srv.isMaster)
	ft := &fault{Kind: faultKill, Master: master}
	if len(workers) == 0 {
		ft.start = f.clock.now()
		ft.end = ft.start
		ft.Error = fmt.Sprintf("no worker found below master %d", master)
		f.clock.logf("worker-kill: %s", ft.Error)
		return ft.times()
	}
	ft.Worker = workers[f.rng.IntN(len(workers))]
	ft.start = f.clock.now()
	err := syscall.Kill(ft.Worker, syscall.SIGKILL)
	if err != nil {
		ft.end = f.clock.now()
		ft.Error = fmt.Sprintf("kill %d: %v", ft.Worker, err)
		f.clock.logf("worker-kill: %s", ft.Error)
		return ft.times()
	}
	// SIGKILL takes effect when the kernel next schedules the worker, not
	// when kill(2) returns: the master may hand it a request in between.
	// The window ends when the worker is seen dead (a zombie, or reaped).
	deadline := time.Now().Add(time.Second)
	for alive(ft.Worker) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Microsecond)
	}
	ft.end = f.clock.now()
	if alive(ft.Worker) {
		ft.Error = fmt.Sprintf("worker %d still alive 1s after SIGKILL", ft.Worker)
		f.clock.logf("worker-kill: %s", ft.Error)
		return ft.times()
	}
	f.clock.logf("worker-kill: SIGKILL worker %d of master %d (%d workers); dead after %s",
		ft.Worker, master, len(workers), time.Duration(ft.end-ft.start).Round(time.Microsecond))
	return ft.times()
}

// hup sends SIGHUP to the master the pidfile names and waits until a new
// master has taken over and the old one has exited.
func (f *faults) hup(stop context.Context) *fault {
	old := f.srv.master()
	ft := &fault{Kind: faultHUP, Master: old}
	f.mem.sample("before-hup")
	ft.start = f.clock.now()
	if err := syscall.Kill(old, syscall.SIGHUP); err != nil {
		ft.end = f.clock.now()
		ft.Error = fmt.Sprintf("kill -HUP %d: %v", old, err)
		f.clock.logf("hup: %s", ft.Error)
		return ft.times()
	}
	f.clock.logf("hup: SIGHUP master %d", old)
	pid, ready, drained, err := f.srv.waitNewMaster(stop, old, 2*time.Minute)
	ft.end = f.clock.now()
	ft.NewMaster, ft.Ready = pid, ready.Seconds()
	if stop.Err() != nil {
		ft.Interrupted = true
		f.clock.logf("hup: interrupted before the handoff was over")
		return ft.times()
	}
	if err != nil {
		ft.Error = err.Error()
		f.clock.logf("hup: %s", ft.Error)
		return ft.times()
	}
	f.clock.logf("hup: new master %d ready after %s; old master %d gone after %s",
		pid, ready.Round(time.Millisecond), old, drained.Round(time.Millisecond))
	f.mem.sample("after-hup")
	return ft.times()
}

func (ft *fault) times() *fault {
	ft.At, ft.End = seconds(ft.start), seconds(ft.end)
	return ft
}
