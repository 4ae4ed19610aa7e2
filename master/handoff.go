package master

// This file is the production master's life with zero-downtime restarts:
// listeners come from tableflip, SIGHUP starts a new gowsgi process that
// inherits them, and this one drains only once the new one is ready.
//
// The rule that keeps a server up through a HUP: every step of a new master
// that can fail (configuration, listeners, workers, pidfile) happens before
// it tells tableflip it is ready. After that nothing may end it: a watcher
// that cannot start is a logged warning (issue 13, bug 1: a touch-reload
// file whose directory was gone killed the new master after the old one
// had drained, and nothing listened any more).

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cloudflare/tableflip"

	"github.com/gowsgi/gowsgi/config"
)

// Serve runs a production master until it is stopped or replaced by the
// one a SIGHUP starts.
func Serve(cfg Config) error {
	act, err := socketActivation(append(append([]Listen(nil), cfg.HTTP...), cfg.Uwsgi...))
	if err != nil {
		return err
	}
	if cfg.Daemonize != "" && os.Getenv(daemonizedEnv) == "" {
		return daemonize(cfg.Daemonize)
	}
	countReloads()
	outs, closeLog, err := openLogs(&cfg) // logto, log-maxsize (logfile.go)
	if err != nil {
		return err
	}
	defer closeLog()
	upg, err := tableflip.New(tableflip.Options{UpgradeTimeout: 5 * time.Minute})
	if err != nil {
		return fmt.Errorf("preparing for zero-downtime restarts: %w", err)
	}
	// Until this master is ready, the sockets it inherited are the old
	// master's, which keeps serving on them if this one fails: neither
	// closeListeners nor tableflip's Stop (which unlinks the unix sockets
	// it knows) may remove their paths then.
	ready := false
	defer func() {
		if ready || !upg.HasParent() {
			upg.Stop()
		}
	}()
	if cfg.Pidfile != "" && !upg.HasParent() {
		if err := checkPidfileFree(cfg.Pidfile); err != nil {
			return err
		}
	}
	m, err := start(context.Background(), cfg, startOptions{listenFn: tableflipListen(upg, act.bind), outs: outs, inherited: upg.HasParent()})
	if err != nil {
		// As a HUP's new process, exiting non-zero tells the old master
		// to keep serving; it logs why.
		return err
	}
	stopWatch := m.watchForRestart()
	defer stopWatch()
	if cfg.Pidfile != "" {
		// Before Ready: a pidfile that cannot be written fails this
		// master while the old one still serves (and writes its own pid
		// back, see handoff.done).
		if err := writePidfile(cfg.Pidfile, os.Getpid()); err != nil {
			m.kill()
			return err
		}
	}
	if err := upg.Ready(); err != nil {
		m.kill()
		return fmt.Errorf("taking over the listeners: %w", err)
	}
	ready = true
	m.inherited.Store(false) // the sockets are this master's now
	if upg.HasParent() {
		m.logf("took over the listeners from the previous master; it drains now")
	}
	m.printReady()
	daemonReady()
	m.notifyReady(upg.HasParent())
	return m.run(context.Background(), &handoff{upg: upg, result: make(chan error, 1)})
}

// countReloads sets UWSGI_RELOADS as uWSGI does at start: 0, or one more
// than the value this process found (config.Reloads, the count its ini
// saw). The new master a HUP or touch-reload starts inherits it, so its
// ini's if-reload blocks apply and its if-not-reload blocks do not, and
// the app sees the count. It runs after daemonize's re-exec: the daemon is
// a first start.
func countReloads() {
	n, _ := config.Reloads(os.LookupEnv)
	os.Setenv(config.ReloadsEnv, strconv.Itoa(n))
}

// handoff is the production master's restart: a new gowsgi process
// started through tableflip.
type handoff struct {
	upg       *tableflip.Upgrader
	result    chan error // the running upgrade's outcome
	upgrading bool
	// handed is set once a new master took the sockets: tableflip closes
	// Exit a moment later, and the loop drains this master then; a stop or
	// a restart in between must not act as if this master still served.
	handed bool
}

// results is where the running upgrade's outcome arrives; nil (never) when
// there is no handoff.
func (h *handoff) results() <-chan error {
	if h == nil {
		return nil
	}
	return h.result
}

// start begins a restart unless one is under way.
func (h *handoff) start(m *Master, trigger string) {
	if h.handed {
		m.logf("%s: a new master serves already; this one drains", trigger)
		return
	}
	if h.upgrading {
		m.logf("%s: a restart is already under way", trigger)
		return
	}
	h.upgrading = true
	m.logf("%s: starting a new master; this one serves until it is ready", trigger)
	m.notifyReloading()
	m.hupStarting(trigger)
	go upgrade(h.upg, h.result)
}

// done handles the upgrade's outcome. On success tableflip closes Exit and
// the loop drains this master.
func (h *handoff) done(m *Master, err error) {
	h.upgrading = false
	m.hupDone(err)
	if err == nil {
		h.handed = true
		m.handedOver.Store(true)
		return
	}
	m.logf("restart failed, this master keeps serving: %v", err)
	if m.cfg.Pidfile != "" {
		// The failed master may have written its pid already.
		if werr := writePidfile(m.cfg.Pidfile, os.Getpid()); werr != nil {
			m.logf("%v", werr)
		}
	}
	m.notifyRestartFailed(err)
}

// abort is a stop during a restart (issue 13, bug 4): the new master must
// not outlive the stop. tableflip kills a new master that is not ready
// yet; one that became ready meanwhile serves on our sockets now, so the
// stop is passed on to it. It reports whether a second stop signal came
// while it waited (then the stop is at once).
func (h *handoff) abort(m *Master, sig os.Signal) (again bool) {
	if !h.upgrading {
		h.upg.Stop()
		if h.handed {
			h.passOn(m, sig)
		}
		return false
	}
	m.logf("stopping during a restart: the new master stops too")
	h.upg.Stop()
	var err error
	timeout := time.After(10 * time.Second)
wait:
	for {
		select {
		case err = <-h.result:
			break wait
		case s := <-m.sigs:
			if s != syscall.SIGHUP && s != stopQuietly {
				again = true
			}
		case <-timeout:
			// The restart waits for this master's own parent to drain
			// (WaitForParent), and Stop does not interrupt that; when it
			// ends, Upgrade refuses, as tableflip is stopped.
			err = fmt.Errorf("the restart did not end within 10s")
			break wait
		}
	}
	h.upgrading = false
	if err != nil {
		// The new master was killed, or never started; it may have
		// written its pid already.
		if m.cfg.Pidfile != "" {
			if werr := writePidfile(m.cfg.Pidfile, os.Getpid()); werr != nil {
				m.logf("%v", werr)
			}
		}
		return again
	}
	h.handed = true
	m.handedOver.Store(true)
	h.passOn(m, sig)
	return again
}

// passOn passes the stop on to the new master a restart started, as
// stopQuietly: a graceful stop it does not take for a second CONTROL-C if
// the operator's stop reached it too.
func (h *handoff) passOn(m *Master, sig os.Signal) {
	for _, pid := range childMasters(m.cfg.Pidfile) {
		m.logf("passing the stop on to the new master (pid %d)", pid)
		syscall.Kill(pid, stopQuietly)
	}
}

// childMasters are this process's children that are gowsgi masters: the
// master a restart started. A child runs this executable, or is the pid
// the pidfile names (a deploy that switched a symlink gives the new master
// another executable path). The workers and the zygote run python.
func childMasters(pidfile string) []int {
	self, _ := os.Executable()
	named := 0
	if pidfile != "" {
		if b, err := os.ReadFile(pidfile); err == nil {
			named, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
	}
	tasks, _ := filepath.Glob("/proc/self/task/*/children")
	var out []int
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			pid, err := strconv.Atoi(f)
			if err != nil {
				continue
			}
			exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
			if pid == named || self != "" && exe == self {
				out = append(out, pid)
			}
		}
	}
	return out
}

// upgrade starts the new master and sends its outcome. A HUP that arrives
// while the previous master is still draining waits for it: tableflip
// refuses to upgrade a process whose parent is still there.
func upgrade(upg *tableflip.Upgrader, result chan<- error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// An error here is the previous master's failed shutdown: not a reason
	// to refuse this restart.
	upg.WaitForParent(ctx)
	result <- upg.Upgrade()
}

// tableflipListen returns a listen function that inherits a socket from
// the previous master when there is one. tableflip flattens the bind error
// into text ("can't create new listener: ..."); the original error is kept
// so "address already in use" still gets its hint. New listeners come
// from bind (systemd's sockets, else bindSocket).
func tableflipListen(upg *tableflip.Upgrader, bind func(network, addr string) (net.Listener, error)) func(network, addr string) (net.Listener, error) {
	return func(network, addr string) (net.Listener, error) {
		var bindErr error
		ln, err := upg.Fds.ListenWithCallback(tableflipNetwork(network, addr), addr, func(_, addr string) (net.Listener, error) {
			ln, err := bind(network, addr)
			bindErr = err
			return ln, err
		})
		if err != nil && bindErr != nil {
			return nil, bindErr
		}
		return ln, err
	}
}
