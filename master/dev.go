package master

// This file is the dev mode's half of the signal loop: it watches the
// project tree, and on a save swaps in a new worker generation (code) or
// resets Django's template caches in place (templates, static files), and
// tells the browser to reload. A reload runs beside the loop, so a signal
// is answered while a new generation imports (issue 13, bug 8: a save
// whose import hung left CONTROL-C unanswered for up to 5 minutes).

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/gowsgi/gowsgi/gateway"
	"github.com/gowsgi/gowsgi/pyworker"
	"github.com/gowsgi/gowsgi/reload"
)

// DevOptions is what `gowsgi dev` watches.
type DevOptions struct {
	Dir              string   // the project tree
	NoReload         bool     // runserver's --noreload: watch nothing
	Include, Exclude []string // reload.Options
	// Static are the project's static and media mounts, answered in front
	// of the app.
	Static []*gateway.Static
	// Live, when set, reloads the browser after each change; it is closed
	// (its streams end) when the master stops.
	Live *gateway.LiveReload
	// SiteDirs are the interpreter's site-packages directories: a package
	// installed or upgraded there restarts the zygote.
	SiteDirs []string
	// SettingsFiles are the files importing the Django settings imported:
	// the zygote's Django stage holds them, so a save of one restarts the
	// zygote too instead of forking workers with the old settings.
	SettingsFiles []string
}

// devState is the dev mode's watching, made by Start.
type devState struct {
	opts    DevOptions
	watcher *reload.Watcher // nil with NoReload
	// ctx ends when the master stops: a reload under way gives up.
	ctx    context.Context
	cancel context.CancelFunc
}

// startDev starts watching the tree; an error (the inotify limits) stops
// the start.
func (m *Master) startDev() error {
	o := m.cfg.Dev
	ctx, cancel := context.WithCancel(context.Background())
	d := &devState{opts: *o, ctx: ctx, cancel: cancel}
	if !o.NoReload {
		w, err := reload.New(o.Dir, reload.Options{Include: o.Include, Exclude: o.Exclude})
		if err != nil {
			cancel()
			return err
		}
		d.watcher = w
	}
	m.dev = d
	m.watchImported()
	return nil
}

// stopping ends a reload under way and the browsers' live reload streams.
func (d *devState) stopping() {
	d.cancel()
	if d.opts.Live != nil {
		d.opts.Live.Close()
	}
}

// devLoop is the loop's dev-mode state; its zero value (not dev mode) has
// nil channels, which the loop's select never picks.
type devLoop struct {
	batches  <-chan reload.Batch
	werrs    <-chan error
	pkgs     <-chan struct{}
	reloaded chan reloadResult
	close    func()

	reloading bool
	again     []string // paths changed during a reload: reload again after it
}

type reloadResult struct {
	what  string
	start time.Time
	err   error
}

func (d *devState) loop(ctx context.Context) devLoop {
	l := devLoop{reloaded: make(chan reloadResult, 1), close: func() {}}
	if d.watcher != nil {
		l.batches, l.werrs = d.watcher.Batches(), d.watcher.Errors()
		l.close = func() { d.watcher.Close() }
	}
	l.pkgs = d.watchPackages()
	return l
}

// restart is a SIGHUP in dev mode: a full restart, fresh preloaded
// modules too.
func (l *devLoop) restart(m *Master, trigger string) {
	m.mgr.ResetZygote()
	l.change(m, reload.Batch{Paths: []string{trigger}, Kind: reload.KindCode})
}

// packagesChanged is an installed, upgraded or removed package.
func (l *devLoop) packagesChanged(m *Master) {
	m.logf("installed packages changed; restarting the zygote with them")
	m.mgr.ResetZygote()
	l.change(m, reload.Batch{Paths: []string{"site-packages"}, Kind: reload.KindCode})
}

func (l *devLoop) watchError(m *Master, err error) {
	m.logf("watching files: %v", err)
	if hint := reload.Hint(err); hint != "" {
		m.logf("hint: %s", hint)
	}
}

// change handles one batch of saves.
func (l *devLoop) change(m *Master, b reload.Batch) {
	what := describeBatch(b.Paths)
	live := m.dev.opts.Live
	if b.Kind == reload.KindOther {
		return // README.md and the like: nothing running depends on it
	}
	if b.Kind != reload.KindCode {
		// Templates and static files need no new workers: Django's own
		// template-reset hooks run in the live workers, and the browser
		// reloads.
		m.mgr.Notify(absPaths(m.dev.opts.Dir, b.Paths))
		m.logf("%s changed; reloading the browser", what)
		if live != nil {
			m.liveReload(what + " changed")
		}
		return
	}
	if l.reloading {
		// The generation importing now may have read the file before
		// this save: import once more after it.
		l.again = append(l.again, b.Paths...)
		return
	}
	m.logf("%s changed; starting new workers", what)
	if m.dev.settingsChanged(b) {
		m.mgr.ResetZygote() // its Django stage holds the old settings
	}
	l.reloading = true
	go devReload(m.mgr, m.dev.ctx, what, l.reloaded)
}

// settingsChanged reports whether b touches one of SettingsFiles.
func (d *devState) settingsChanged(b reload.Batch) bool {
	for _, p := range b.Paths {
		abs := p
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(d.opts.Dir, p)
		}
		if slices.Contains(d.opts.SettingsFiles, abs) {
			return true
		}
	}
	return false
}

// devReload is the goroutine that starts one new generation.
func devReload(mgr *pyworker.Manager, ctx context.Context, what string, out chan<- reloadResult) {
	start := time.Now()
	err := mgr.Reload(ctx)
	out <- reloadResult{what: what, start: start, err: err}
}

// reloadDone handles a finished reload.
func (l *devLoop) reloadDone(m *Master, r reloadResult) {
	l.reloading = false
	var be *pyworker.BootError
	switch {
	case r.err == nil:
		if m.bootErr.Load() != nil {
			m.logf("the app imports again")
		}
		m.stopFront() // before the reload below: it must reach the workers
		m.bootErr.Store(nil)
		m.logf("generation %d live in %d ms", m.mgr.Generation(), time.Since(r.start).Milliseconds())
		m.watchImported()
	case errors.As(r.err, &be):
		m.setBroken(be)
		if m.engine != nil {
			// The old generation's workers would answer with the old
			// code: the master answers instead, until a save fixes it.
			m.startFront()
			m.mgr.RetireCurrent()
		}
		m.logf("showing the error in the browser until the next save fixes it")
	case m.dev.ctx.Err() != nil:
		return // stopping
	case errors.Is(r.err, pyworker.ErrGoRuntime) && m.engine != nil:
		// Switching a running server to the proxy path is not done: the
		// engine's generation keeps serving, a new start decides again
		// (fallBackToProxy).
		m.logf("reload failed: %v; restart gowsgi dev to serve through the master (it does when the app holds a Go runtime), or set engine = off", r.err)
	default:
		m.logf("reload failed: %v", r.err)
	}
	m.liveReload(r.what + " changed")
	if len(l.again) > 0 {
		again := l.again
		l.again = nil
		l.change(m, reload.Batch{Paths: again, Kind: reload.KindCode})
	}
}

// watchImported tells the watcher which files the app imported: inside the
// project they count as code whatever their name; outside it (a package
// installed in editable mode) they are watched one by one.
func (m *Master) watchImported() {
	d := m.dev
	files := m.mgr.ImportedFiles()
	if d == nil || d.watcher == nil || files == nil {
		return
	}
	var inside, outside []string
	for _, f := range files {
		if rel, err := filepath.Rel(d.opts.Dir, f); err == nil && !strings.HasPrefix(rel, "..") {
			inside = append(inside, filepath.ToSlash(rel))
		} else {
			outside = append(outside, f)
		}
	}
	d.watcher.SetImported(inside)
	if len(outside) > 0 {
		if err := d.watcher.WatchFiles(outside); err != nil {
			m.logf("watching imported files outside %s: %v", d.opts.Dir, err)
		}
	}
}

func absPaths(dir string, rel []string) []string {
	out := make([]string, len(rel))
	for i, p := range rel {
		out[i] = filepath.Join(dir, p)
	}
	return out
}

func describeBatch(paths []string) string {
	switch len(paths) {
	case 0:
		return "something"
	case 1:
		return paths[0]
	}
	return fmt.Sprintf("%s and %d more", paths[0], len(paths)-1)
}

// watchPackages watches the interpreter's site-packages directories (their
// top level, where pip adds and removes *.dist-info): an installed,
// upgraded or removed package means the zygote's preloaded modules are
// stale. It returns a channel that receives once per burst of changes.
// (Not a reload.Watcher: that one watches a tree recursively, and
// site-packages holds thousands of directories that never matter here.)
func (d *devState) watchPackages() <-chan struct{} {
	out := make(chan struct{}, 1)
	if d.watcher == nil || len(d.opts.SiteDirs) == 0 {
		return out
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return out
	}
	for _, dir := range d.opts.SiteDirs {
		fw.Add(dir) // a missing one has nothing to install into
	}
	go packagesLoop(fw, out, d.ctx.Done())
	return out
}

// packagesLoop debounces site-packages events with one resetting timer:
// pip touches many entries per install.
func packagesLoop(fw *fsnotify.Watcher, out chan<- struct{}, done <-chan struct{}) {
	defer fw.Close()
	var timer <-chan time.Time
	for {
		select {
		case <-done:
			return
		case ev, ok := <-fw.Events:
			if !ok {
				return
			}
			name := filepath.Base(ev.Name)
			if strings.HasSuffix(name, ".dist-info") || strings.HasSuffix(name, ".egg-info") ||
				strings.HasSuffix(name, ".pth") || strings.HasSuffix(name, ".egg-link") {
				timer = time.After(500 * time.Millisecond)
			}
		case _, ok := <-fw.Errors:
			if !ok {
				return
			}
		case <-timer:
			timer = nil
			select {
			case out <- struct{}{}:
			default:
			}
		}
	}
}
