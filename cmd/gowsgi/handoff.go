package main

// This file is the production master's life with zero-downtime restarts:
// listeners come from tableflip, SIGHUP starts a new gowsgi process that
// inherits them, and this one drains only once the new one is ready.

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cloudflare/tableflip"
)

// serve runs a production master until it is stopped or replaced.
func serve(cfg masterConfig) error {
	act, err := socketActivation(append(append([]listenSpec(nil), cfg.http...), cfg.uwsgi...))
	if err != nil {
		return err
	}
	if cfg.daemonize != "" && os.Getenv(daemonizedEnv) == "" {
		return daemonize(cfg.daemonize)
	}
	closeLog, err := rotatingLog(&cfg) // log-maxsize (logfile.go)
	if err != nil {
		return err
	}
	defer closeLog()
	if cfg.logto != "" && cfg.daemonize == "" {
		f, err := os.OpenFile(cfg.logto, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return &usageError{msg: fmt.Sprintf("logto %s: %v", cfg.logto, err), hint: "check the path and its directory's permissions."}
		}
		defer f.Close()
		fmt.Fprintf(os.Stderr, "gowsgi: logging to %s\n", cfg.logto)
		cfg.out, cfg.workers.Stdout, cfg.workers.Stderr = f, f, f
	}
	upg, err := tableflip.New(tableflip.Options{UpgradeTimeout: 5 * time.Minute})
	if err != nil {
		return fmt.Errorf("preparing for zero-downtime restarts: %w", err)
	}
	defer upg.Stop()
	if cfg.pidfile != "" && !upg.HasParent() {
		if err := checkPidfileFree(cfg.pidfile); err != nil {
			return err
		}
	}
	cfg.listenFn = tableflipListen(upg, act.bind)
	m, err := startMaster(context.Background(), cfg)
	if err != nil {
		// As a HUP's new process, exiting non-zero tells the old master
		// to keep serving; it logs why.
		return err
	}
	if err := upg.Ready(); err != nil {
		m.kill()
		return fmt.Errorf("taking over the listeners: %w", err)
	}
	if cfg.pidfile != "" {
		if err := writePidfile(cfg.pidfile, os.Getpid()); err != nil {
			m.kill()
			return err
		}
	}
	if upg.HasParent() {
		m.logf("took over the listeners from the previous master; it drains now")
	}
	stopWatch, err := m.watchForRestart()
	if err != nil {
		m.kill()
		return err
	}
	defer stopWatch()
	m.printReady()
	daemonReady()
	m.notifyReady(upg.HasParent())
	return m.runUntilStopped(upg)
}

// runUntilStopped is the master's signal loop. Signal handlers only queue;
// this loop decides.
func (m *master) runUntilStopped(upg *tableflip.Upgrader) error {
	sigs := m.sigs
	defer signal.Stop(sigs)
	upgraded := make(chan error, 1)
	upgrading := false
	if m.pendingHUP {
		sigs <- syscall.SIGHUP
	}
	for {
		select {
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				if upgrading {
					m.logf("SIGHUP: a restart is already under way")
					continue
				}
				upgrading = true
				trigger := m.restartTrigger()
				m.logf("%s: starting a new master; this one serves until it is ready", trigger)
				m.notifyReloading()
				m.hupStarting(trigger)
				go func() { upgraded <- upgrade(upg) }()
				continue
			}
			m.notifyStopping()
			fmt.Fprintf(m.cfg.out, "gowsgi: %s: finishing in-flight requests (press CONTROL-C again to stop at once)\n", sigName(sig))
			done := make(chan error, 1)
			go func() { done <- m.shutdown() }()
			select {
			case err := <-done:
				m.removePidfile()
				return err
			case sig := <-sigs:
				fmt.Fprintf(m.cfg.out, "gowsgi: %s again: stopping now\n", sigName(sig))
				m.kill()
				m.removePidfile()
				return nil
			}
		case err := <-upgraded:
			upgrading = false
			m.hupDone(err)
			if err != nil {
				m.logf("restart failed, this master keeps serving: %v", err)
				m.notifyRestartFailed(err)
			}
		case <-upg.Exit():
			m.logf("the new master is ready; draining this one (pid %d)", os.Getpid())
			err := m.drain()
			m.logf("drained; exiting")
			return err
		}
	}
}

func (m *master) removePidfile() {
	if m.cfg.pidfile != "" {
		removePidfile(m.cfg.pidfile, os.Getpid())
	}
}

// upgrade starts the new master. A HUP that arrives while the previous
// master is still draining waits for it: tableflip refuses to upgrade a
// process whose parent is still there.
func upgrade(upg *tableflip.Upgrader) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// An error here is the previous master's failed shutdown: not a reason
	// to refuse this restart.
	upg.WaitForParent(ctx)
	return upg.Upgrade()
}

// tableflipListen returns a listen function that inherits a socket from
// the previous master when there is one. tableflip flattens the bind error
// into text ("can't create new listener: ..."); the original error is kept
// so "address already in use" still gets its hint. New listeners come
// from bind (systemd's sockets, else net.Listen).
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
