package reload

// This file implements the Watcher: one goroutine (run) owns the watch set,
// the debounce timer and the imported set, and selects over fsnotify's
// channels, the timer, requests from other goroutines, and Close.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// maxQueuedErrors bounds the errors held for a caller that does not read
// Errors; later ones are dropped (the first is the one that explains).
const maxQueuedErrors = 16

// Options configures a Watcher. The zero value watches everything but the
// default excludes and debounces for DefaultDebounce.
type Options struct {
	// Debounce is how long the tree must be quiet before a batch is
	// delivered; every change pushes it back. Zero means DefaultDebounce.
	Debounce time.Duration

	// Include, when not empty, limits the reported files to those
	// matching one of these globs (see Match). It does not limit which
	// directories are watched; Exclude does.
	Include []string

	// Exclude lists globs (see Match) of files and directories that are
	// neither reported nor watched, on top of the default excludes.
	Exclude []string

	// NoDefaultExcludes turns the default excludes off: .git, .hg, .svn,
	// __pycache__, *.pyc, *.pyo, .venv, venv, any directory holding
	// pyvenv.cfg, node_modules, media (unless it holds __init__.py),
	// .mypy_cache, .pytest_cache, .ruff_cache, .tox, .nox, htmlcov, .idea,
	// .vscode, *.sqlite3 and its -journal, -wal and -shm files, *.log, and
	// editors' temporary files (*.swp, *.swo, *.swx, *~, .#*, #*#, 4913,
	// *.tmp, ...).
	NoDefaultExcludes bool

	// Files are single files to watch besides the tree, inside or outside
	// the root, such as uWSGI's touch-reload files. A change to one is
	// always KindCode, whatever its name and the filters. Their
	// directories must exist; the files need not.
	Files []string

	// FilesOnly watches Files (and what WatchFiles adds) and not the tree
	// at root, which then only anchors relative paths: uWSGI's
	// touch-reload files, each watched through its directory.
	FilesOnly bool

	// addWatch, when set, stands between the Watcher and fsnotify's Add;
	// tests use it to make the kernel "run out" of watches.
	addWatch func(add func(dir string) error, dir string) error
}

// Watcher watches a project tree and delivers debounced batches of changes.
type Watcher struct {
	root    string
	fsw     *fsnotify.Watcher
	batches chan Batch
	errs    chan error

	imported  chan map[string]bool // SetImported to run
	fileReqs  chan fileReq         // WatchFiles to run
	quit      chan struct{}        // closed by Close
	done      chan struct{}        // closed when run has returned
	closeOnce sync.Once
	closeErr  error

	// Owned by run.
	tree  *tree
	batch *batcher
	errq  []error
}

// fileReq asks run to watch more files.
type fileReq struct {
	paths []string
	reply chan error // buffered, so run never waits for the caller
}

// New watches the tree at root and returns once every directory is
// watched: a change made after New returns is reported. It fails when the
// root cannot be watched or the kernel runs out of inotify watches or
// instances (errors.Is(err, ErrWatchLimit) or ErrInstanceLimit; Hint says
// how to raise them). A directory that cannot be read is skipped and
// reported on Errors.
func New(root string, opts Options) (*Watcher, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("watching %s: %w", root, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is already in our message
		}
		return nil, fmt.Errorf("watching %s: %w", abs, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("watching %s: not a directory", abs)
	}
	f, err := newFilter(opts)
	if err != nil {
		return nil, err
	}
	debounce := opts.Debounce
	if debounce <= 0 {
		debounce = DefaultDebounce
	}

	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, initError(err)
	}
	add := fsw.Add
	if opts.addWatch != nil {
		add = func(dir string) error { return opts.addWatch(fsw.Add, dir) }
	}
	t := newTree(abs, f, add, fsw.Remove)
	if !opts.FilesOnly {
		if err := t.addTree(abs, false, nil); err != nil {
			fsw.Close()
			return nil, err
		}
	}
	if err := t.addFiles(opts.Files); err != nil {
		fsw.Close()
		return nil, err
	}

	w := &Watcher{
		root:     abs,
		fsw:      fsw,
		batches:  make(chan Batch),
		errs:     make(chan error),
		imported: make(chan map[string]bool),
		fileReqs: make(chan fileReq),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
		tree:     t,
	}
	w.batch = newBatcher(debounce, func(p string) bool { return exists(w.abs(strings.TrimSuffix(p, "/"))) })
	w.report(t.takeWarnings()...)
	go w.run()
	return w, nil
}

// Root returns the absolute path of the watched tree.
func (w *Watcher) Root() string { return w.root }

// Batches delivers one Batch per quiet period that followed changes. A
// batch not yet received absorbs later changes, so nothing is lost to a
// slow reader. It is closed by Close.
func (w *Watcher) Batches() <-chan Batch { return w.batches }

// Errors delivers problems that did not stop the Watcher: a directory that
// cannot be watched (the watch limit: errors.Is(err, ErrWatchLimit)), a
// queue overflow (ErrOverflow, followed by a Rescan batch), the root
// removed (ErrRootRemoved). Up to 16 are held for a caller that is not
// reading. It is closed by Close.
func (w *Watcher) Errors() <-chan error { return w.errs }

// SetImported replaces the set of files the app has imported (module
// __file__ paths, absolute or relative to the root): a change to any of
// them is KindCode whatever its name. It is safe to call from any
// goroutine, and does nothing after Close. Files outside the root are only
// seen if they are also watched with WatchFiles.
func (w *Watcher) SetImported(paths []string) {
	m := make(map[string]bool, len(paths))
	for _, p := range paths {
		m[display(w.root, w.abs(p))] = true
	}
	select {
	case w.imported <- m:
	case <-w.done:
	}
}

// WatchFiles adds single files to watch, as Options.Files does. It is safe
// to call from any goroutine; after Close it returns ErrClosed.
func (w *Watcher) WatchFiles(paths []string) error {
	abs := make([]string, len(paths))
	for i, p := range paths {
		abs[i] = w.abs(p)
	}
	req := fileReq{paths: abs, reply: make(chan error, 1)}
	select {
	case w.fileReqs <- req:
	case <-w.done:
		return ErrClosed
	}
	select {
	case err := <-req.reply:
		return err
	case <-w.done:
		return ErrClosed
	}
}

// Close stops the Watcher and releases its inotify instance; Batches and
// Errors are closed. It may be called more than once, from any goroutine.
func (w *Watcher) Close() error {
	w.closeOnce.Do(func() {
		close(w.quit)
		<-w.done
		w.closeErr = w.fsw.Close()
	})
	return w.closeErr
}

// abs returns p as an absolute path; a relative p is taken from the root,
// and a path as Batch.Paths writes it maps back to the file.
func (w *Watcher) abs(p string) string {
	p = filepath.FromSlash(p)
	if !filepath.IsAbs(p) {
		p = filepath.Join(w.root, p)
	}
	return filepath.Clean(p)
}

// report queues errors for the Errors channel.
func (w *Watcher) report(errs ...error) {
	for _, err := range errs {
		if len(w.errq) < maxQueuedErrors {
			w.errq = append(w.errq, err)
		}
	}
}

// run is the Watcher's goroutine. Everything it touches is its own; other
// goroutines reach it only through channels.
func (w *Watcher) run() {
	defer func() {
		w.batch.timer.Stop()
		close(w.batches)
		close(w.errs)
		close(w.done)
	}()
	imported := map[string]bool{}
	for {
		var errOut chan<- error
		var nextErr error
		if len(w.errq) > 0 {
			errOut, nextErr = w.errs, w.errq[0]
		}
		batchOut, next := w.batch.out(w.batches)

		select {
		case <-w.quit:
			return
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return
			}
			w.handle(ev)
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return
			}
			w.report(eventError(w.root, err))
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				// Some changes are lost, maybe the creation of a
				// directory that is now not watched: look again, and
				// reload, since what changed is unknown.
				if err := w.tree.rescan(); err != nil {
					w.report(err)
				}
				w.batch.addRescan(time.Now())
			}
		case <-w.batch.timer.C:
			w.batch.flush(imported)
		case m := <-w.imported:
			imported = m
		case req := <-w.fileReqs:
			req.reply <- w.tree.addFiles(req.paths)
		case batchOut <- next:
			w.batch.sent()
		case errOut <- nextErr:
			w.errq = w.errq[1:]
		}
		w.report(w.tree.takeWarnings()...)
	}
}

// handle applies one fsnotify event to the watch set and the open batch.
func (w *Watcher) handle(ev fsnotify.Event) {
	t := w.tree
	name := filepath.Clean(ev.Name)
	now := time.Now()
	created := ev.Has(fsnotify.Create)

	if t.files[name] {
		w.batch.add(t.rel(name), true, created, now)
		return
	}
	if name == t.root {
		if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
			t.removeTree(name)
			w.report(fmt.Errorf("watching %s: %w", name, ErrRootRemoved))
		}
		return
	}
	dir := filepath.Dir(name)
	if !t.dirs[dir] {
		// Another name in a directory watched for single files, or a
		// watched directory's own DELETE_SELF or MOVE_SELF, which its
		// parent reports too.
		return
	}
	rel := t.rel(name)
	if !t.dirs[name] && t.filter.skipDirName(rel) {
		return // node_modules and the like, never watched
	}

	switch {
	case created:
		w.created(name, rel, now)
	case ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename):
		if t.dirs[name] {
			t.removeTree(name)
			w.batch.add(rel+"/", false, false, now)
			return
		}
		if w.batch.has(rel + "/") {
			// The moved directory's own MOVE_SELF, after its parent's
			// MOVED_FROM: fsnotify names both after the directory.
			return
		}
		if !t.filter.skipFile(rel) {
			w.batch.add(rel, false, false, now)
		}
	case ev.Has(fsnotify.Write) || ev.Has(fsnotify.Chmod):
		if t.dirs[name] {
			return
		}
		if ev.Has(fsnotify.Chmod) {
			// IN_ATTRIB also comes for directories (chmod, touch), and
			// this one is not in the set (skipped, or unreadable).
			if fi, err := os.Lstat(name); err == nil && fi.IsDir() {
				return
			}
		}
		if !t.filter.skipFile(rel) {
			w.batch.add(rel, false, false, now)
		}
	}
}

// created handles a Create event for name, a new file or directory (or
// one moved in) in a watched directory.
func (w *Watcher) created(name, rel string, now time.Time) {
	t := w.tree
	fi, err := os.Lstat(name)
	if err != nil {
		// Gone already. Report it as born: flush drops it unless it
		// comes back within the batch.
		if !t.filter.skipFile(rel) {
			w.batch.add(rel, false, true, now)
		}
		return
	}
	if fi.IsDir() {
		if t.fileDirs[name] {
			w.rewatchFileDir(name, now)
		}
		if t.filter.skipDir(rel, name) {
			return
		}
		// mkdir -p a/b/c; echo > a/b/c/x.py: by the time we watch a,
		// b and c may exist with files in them, with no event to say
		// so. addTree watches each, then lists it.
		found := func(abs string) { w.batch.add(t.rel(abs), false, true, now) }
		if err := t.addTree(name, false, found); err != nil {
			w.report(err)
		}
		return
	}
	dir := filepath.Dir(name)
	if filepath.Base(name) == venvMarker && dir != t.root && t.filter.skipDir(t.rel(dir), dir) {
		// python -m venv env creates env/bin and env/lib before it
		// writes pyvenv.cfg: only now is env known to be a virtualenv.
		// What the scan of env found meanwhile goes too.
		t.removeTree(dir)
		w.batch.dropUnder(t.rel(dir) + "/")
		return
	}
	if !t.filter.skipFile(rel) {
		w.batch.add(rel, false, true, now)
	}
}

// rewatchFileDir watches again a directory holding single files, which was
// removed and has come back, and reports those files that came back with
// it.
func (w *Watcher) rewatchFileDir(dir string, now time.Time) {
	t := w.tree
	if err := t.watch(dir); err != nil {
		w.report(err)
		return
	}
	for f := range t.files {
		if filepath.Dir(f) == dir && exists(f) {
			w.batch.add(t.rel(f), true, true, now)
		}
	}
}
