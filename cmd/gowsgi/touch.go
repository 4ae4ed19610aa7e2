package main

// This file implements uWSGI's touch-reload and py-autoreload: both end in
// the same zero-downtime restart as kill -HUP.

import (
	"fmt"
	"path/filepath"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/gowsgi/gowsgi/reload"
)

// watchForRestart starts the watchers the configuration asks for; each
// change queues a SIGHUP on the master's signal channel. It returns a
// function that stops them.
func (m *master) watchForRestart() (stop func(), err error) {
	var stops []func()
	stop = func() {
		for _, s := range stops {
			s()
		}
	}
	if len(m.cfg.touchReload) > 0 {
		s, err := m.watchTouchFiles(m.cfg.touchReload)
		if err != nil {
			return stop, err
		}
		stops = append(stops, s)
	}
	if m.cfg.pyAutoreload > 0 {
		w, err := reload.New(m.cfg.workers.Dir, reload.Options{Debounce: m.cfg.pyAutoreload})
		if err != nil {
			stop()
			return func() {}, fmt.Errorf("py-autoreload: %w", err)
		}
		stops = append(stops, func() { w.Close() })
		go m.autoreloadLoop(w)
	}
	return stop, nil
}

func (m *master) autoreloadLoop(w *reload.Watcher) {
	for b := range w.Batches() {
		if b.Kind == reload.KindCode {
			m.logf("py-autoreload: %s changed; restarting", describeBatch(b.Paths))
			m.queueRestart("py-autoreload")
		}
	}
}

// watchTouchFiles watches each file's directory (so an editor's
// rename-over-the-file is seen) and restarts when one of the files changes.
func (m *master) watchTouchFiles(files []string) (func(), error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("touch-reload: %w", err)
	}
	want := map[string]bool{}
	for _, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			fw.Close()
			return nil, err
		}
		want[abs] = true
		if err := fw.Add(filepath.Dir(abs)); err != nil {
			fw.Close()
			return nil, fmt.Errorf("touch-reload %s: watching its directory: %w", f, err)
		}
	}
	go m.touchLoop(fw, want)
	return func() { fw.Close() }, nil
}

func (m *master) touchLoop(fw *fsnotify.Watcher, want map[string]bool) {
	// One timer that every event resets: a touch that writes in several
	// steps restarts once.
	var timer <-chan time.Time
	var which string
	for {
		select {
		case ev, ok := <-fw.Events:
			if !ok {
				return
			}
			if want[filepath.Clean(ev.Name)] && !ev.Has(fsnotify.Remove) {
				which = ev.Name
				timer = time.After(100 * time.Millisecond)
			}
		case err, ok := <-fw.Errors:
			if !ok {
				return
			}
			m.logf("touch-reload: %v", err)
		case <-timer:
			timer = nil
			m.logf("touch-reload: %s touched; restarting", which)
			m.queueRestart("touch-reload")
		}
	}
}

// queueRestart starts the same zero-downtime restart as a SIGHUP, with
// why (the option that asked for it) as its trigger in logs and on the
// status page.
func (m *master) queueRestart(why string) {
	m.restartWhy.Store(&why)
	m.queueSignal(syscall.SIGHUP)
}

// restartTrigger returns and forgets the reason queueRestart gave, or
// "SIGHUP" for a signal from outside.
func (m *master) restartTrigger() string {
	if why := m.restartWhy.Swap(nil); why != nil {
		return *why
	}
	return "SIGHUP"
}

// queueSignal hands the signal loop a signal as if the OS had sent it.
func (m *master) queueSignal(sig syscall.Signal) {
	select {
	case m.sigs <- sig:
	default:
	}
}
