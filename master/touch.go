package master

// This file implements uWSGI's touch-reload and py-autoreload: both queue
// the same zero-downtime restart as kill -HUP, named after the option.

import (
	"os"
	"path/filepath"
	"time"

	"github.com/gowsgi/gowsgi/reload"
)

// touchDebounce: a touch that writes in several steps restarts once.
const touchDebounce = 100 * time.Millisecond

// watchForRestart starts the watchers the configuration asks for and
// returns a function that stops them. A watcher that cannot start is a
// warning, never a reason to fail: it runs in a HUP's new master, where an
// error after the old master drained would leave nothing serving (issue
// 13, bug 1), and uWSGI too keeps running when a touch-reload file's
// directory is missing.
func (m *Master) watchForRestart() (stop func()) {
	var watchers []*reload.Watcher
	for _, f := range m.cfg.TouchReload {
		abs, err := filepath.Abs(f)
		if err == nil {
			var w *reload.Watcher
			w, err = reload.New(filepath.Dir(abs), reload.Options{FilesOnly: true, Files: []string{abs}, Debounce: touchDebounce})
			if err == nil {
				watchers = append(watchers, w)
				go m.touchLoop(w, abs)
				continue
			}
		}
		m.logf("warning: touch-reload %s: %v; touching it will not restart gowsgi (create the directory, then restart with kill -HUP)", f, err)
	}
	if m.cfg.PyAutoreload > 0 {
		w, err := reload.New(m.cfg.Workers.Dir, reload.Options{Debounce: m.cfg.PyAutoreload})
		if err != nil {
			m.logf("warning: py-autoreload: %v; changed Python files will not restart gowsgi", err)
		} else {
			watchers = append(watchers, w)
			go m.autoreloadLoop(w)
		}
	}
	return func() {
		for _, w := range watchers {
			w.Close()
		}
	}
}

// autoreloadLoop is py-autoreload's goroutine: a changed Python file
// restarts.
func (m *Master) autoreloadLoop(w *reload.Watcher) {
	for b := range w.Batches() {
		if b.Kind == reload.KindCode {
			m.logf("py-autoreload: %s changed; restarting", describeBatch(b.Paths))
			m.queueRestart("py-autoreload")
		}
	}
}

// touchLoop is one touch-reload file's goroutine. Removing the file is
// not touching it.
func (m *Master) touchLoop(w *reload.Watcher, file string) {
	errs := w.Errors()
	for {
		select {
		case _, ok := <-w.Batches():
			if !ok {
				return
			}
			if _, err := os.Stat(file); err != nil {
				continue
			}
			m.logf("touch-reload: %s touched; restarting", file)
			m.queueRestart("touch-reload")
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			m.logf("touch-reload: %v", err)
		}
	}
}
