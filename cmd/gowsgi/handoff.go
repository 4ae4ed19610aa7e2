package main

// This file is the production master's life with zero-downtime restarts:
// listeners come from tableflip, SIGHUP starts a new gowsgi process that
// inherits them, and this one drains only once the new one is ready.

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cloudflare/tableflip"
)

// serve runs a production master until it is stopped or replaced.
func serve(cfg masterConfig) error {
	if cfg.daemonize != "" && os.Getenv(daemonEnv) == "" {
		return daemonize(cfg.daemonize)
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
	cfg.listenFn = upg.Listen
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
	m.printReady()
	daemonReady()
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
				m.logf("SIGHUP: starting a new master; this one serves until it is ready")
				go func() { upgraded <- upgrade(upg) }()
				continue
			}
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
			if err != nil {
				m.logf("restart failed, this master keeps serving: %v", err)
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
