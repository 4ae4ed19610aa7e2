package master

// This file is the master's one signal loop, shared by serve, dev and
// check, and its two-phase stop. Signal handlers only queue; the loop
// decides. What a restart means depends on the mode: a new master process
// (serve, handoff.go), a new worker generation (dev, dev.go), or a stop
// (check).

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/gowsgi/gowsgi/gateway"
)

// ErrStopNow, as the cause of Run's context (context.WithCancelCause),
// stops at once instead of letting in-flight requests finish: `gowsgi
// check` uses it when a request timed out and its worker is still busy.
var ErrStopNow = errors.New("stop now")

// Run serves until a signal or ctx stops the master, and returns once it
// has stopped. For the production master with zero-downtime restarts, use
// Serve, which calls it.
func (m *Master) Run(ctx context.Context) error {
	m.printReady()
	return m.run(ctx, nil)
}

// Stopping is closed when the master begins to stop.
func (m *Master) Stopping() <-chan struct{} { return m.stopping }

// StopSignal is the signal that stopped the master, or nil.
func (m *Master) StopSignal() os.Signal {
	s, _ := m.stopSig.Load().(os.Signal)
	return s
}

// run is the loop. h is the production master's handoff, nil otherwise.
func (m *Master) run(ctx context.Context, h *handoff) error {
	defer signal.Stop(m.sigs)
	var d devLoop
	if m.dev != nil {
		d = m.dev.loop(ctx)
		defer d.close()
	}
	var upgExit <-chan struct{}
	if h != nil {
		upgExit = h.upg.Exit()
	}
	if m.pendingHUP {
		m.queueRestart("SIGHUP")
	}
	for {
		select {
		case sig := <-m.sigs:
			if sig != syscall.SIGHUP {
				return m.stop(sig, h, false)
			}
			if m.cfg.Mode == ModeCheck {
				return m.stop(sig, h, true) // nothing to reload
			}
			m.restart("SIGHUP", h, &d)
		case why := <-m.restarts:
			m.restart(why, h, &d)
		case b := <-d.batches:
			d.change(m, b)
		case err := <-d.werrs:
			d.watchError(m, err)
		case <-d.pkgs:
			d.packagesChanged(m)
		case r := <-d.reloaded:
			d.reloadDone(m, r)
		case err := <-h.results():
			h.done(m, err)
		case <-upgExit:
			m.logf("the new master is ready; draining this one (pid %d)", os.Getpid())
			m.handedOver.Store(true)
			err := m.finish(m.drain, "draining")
			m.logf("drained; exiting")
			return err
		case <-ctx.Done():
			return m.stop(nil, h, errors.Is(context.Cause(ctx), ErrStopNow))
		}
	}
}

// restart does what a SIGHUP, touch-reload or py-autoreload asks for.
func (m *Master) restart(trigger string, h *handoff, d *devLoop) {
	switch {
	case h != nil:
		h.start(m, trigger)
	case m.dev != nil:
		d.restart(m, trigger)
	default:
		m.logf("%s: nothing to restart in this mode", trigger)
	}
}

// queueRestart asks the loop for the same restart as a SIGHUP, with why
// (the option that asked for it) as its trigger in logs and on the status
// page. A restart already queued absorbs it.
func (m *Master) queueRestart(why string) {
	select {
	case m.restarts <- why:
	default:
	}
}

// stop is the two-phase stop: stop accepting and let in-flight requests
// finish, then stop the workers; a second SIGINT or SIGTERM, or the grace
// period running out, kills what is left. A SIGHUP or a restart meanwhile
// is not a reason to kill: it is ignored.
func (m *Master) stop(sig os.Signal, h *handoff, now bool) error {
	if sig != nil {
		m.stopSig.Store(sig)
	}
	m.notifyStopping()
	if h != nil && h.abort(m, sig) {
		now = true // a second stop signal came while the restart ended
	}
	if m.dev != nil {
		m.dev.stopping()
	}
	if now || m.cfg.Mode == ModeCheck && sig != nil {
		close(m.stopping)
		m.kill()
		m.removePidfile()
		return nil
	}
	what := "stopping"
	if sig != nil {
		what = SignalName(sig)
	}
	fmt.Fprintf(m.msgs, "gowsgi: %s: finishing in-flight requests (press CONTROL-C again to stop at once)\n", what)
	err := m.finish(m.shutdown, "stopping")
	m.removePidfile()
	return err
}

// SIGUSR2 is the stop a master passes on to the new master of a restart
// (handoff.abort) and `gowsgi --stop` sends to a master that took over
// meanwhile: a graceful stop that never escalates. The new master may get
// the operator's own stop too (a terminal's CONTROL-C and systemd's
// KillMode=control-group reach the whole group), and two stops must not
// read as "CONTROL-C again, stop now".
const stopQuietly = syscall.SIGUSR2

// finish runs the first phase of a stop (shutdown, or drain after a HUP)
// while it keeps answering signals: a second SIGINT or SIGTERM kills.
func (m *Master) finish(phase func() error, what string) error {
	select {
	case <-m.stopping:
	default:
		close(m.stopping)
	}
	done := make(chan error, 1)
	go runStopPhase(phase, done)
	for {
		select {
		case err := <-done:
			return err
		case sig := <-m.sigs:
			if sig == syscall.SIGHUP {
				m.logf("SIGHUP while %s: ignored", what)
				continue
			}
			if sig == stopQuietly {
				continue // a stop, and this master stops already
			}
			fmt.Fprintf(m.msgs, "gowsgi: %s again: stopping now\n", SignalName(sig))
			m.kill()
			// The graceful phase returns once the workers are gone; it
			// must not hold the exit.
			select {
			case <-done:
			case <-time.After(2 * time.Second):
			}
			return nil
		case why := <-m.restarts:
			m.logf("%s while %s: ignored", why, what)
		}
	}
}

// runStopPhase is the goroutine of a stop's graceful phase.
func runStopPhase(phase func() error, done chan<- error) { done <- phase() }

// SignalName is "SIGINT", "SIGTERM" or "SIGHUP", as logs name them.
func SignalName(s os.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGUSR2:
		return "SIGUSR2"
	}
	return s.String()
}

// shutdown stops accepting, lets in-flight requests finish within the
// grace period, then stops the workers.
func (m *Master) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.grace())
	defer cancel()
	m.shutdownServers(ctx, func(s *gateway.Server) { s.Shutdown(ctx) })
	err := m.mgr.Stop(ctx)
	m.closeAll()
	return err
}

// drain is the old master's half of a HUP: the new master serves on the
// same sockets now, so stop accepting, answer each open connection once
// more with "Connection: close", finish in-flight requests, then stop the
// workers.
func (m *Master) drain() error {
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.grace())
	defer cancel()
	m.shutdownServers(ctx, func(s *gateway.Server) { s.Drain(ctx, 2*time.Second) })
	m.stopStats()
	err := m.mgr.Stop(ctx)
	m.closeEngine()
	if m.alog != nil {
		m.alog.Close()
	}
	return err
}

// shutdownServers stops every listener's server at once, HTTP with httpStop
// and uwsgi with its Shutdown, and waits for all of them.
func (m *Master) shutdownServers(ctx context.Context, httpStop func(*gateway.Server)) {
	var wg sync.WaitGroup
	for _, s := range m.servers {
		wg.Add(1)
		go func(s *gateway.Server) {
			defer wg.Done()
			httpStop(s)
		}(s)
	}
	if m.uwsgi != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.uwsgi.Shutdown(ctx)
		}()
	}
	wg.Wait()
}

// kill stops at once: the workers first, so that no server waits on a
// request still running in the app (issue 13, bug 2), then the servers.
func (m *Master) kill() {
	m.mgr.Kill()
	for _, s := range m.servers {
		s.Close()
	}
	if m.uwsgi != nil {
		m.uwsgi.Close()
	}
	// The access log is not closed here; the graceful phase closes it
	// when it returns (a line logged after that is dropped, never a
	// panic), and the process exits next.
	m.closeListeners()
}

func (m *Master) closeAll() {
	m.closeEngine()
	m.closeListeners()
	if m.alog != nil {
		m.alog.Close()
	}
}

func (m *Master) removePidfile() {
	if m.cfg.Pidfile != "" {
		removePidfile(m.cfg.Pidfile, os.Getpid())
	}
}
