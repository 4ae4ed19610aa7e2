package reload

// This file keeps the watch set. inotify watches single directories, not
// trees, so every directory under the root gets its own watch, new ones are
// added as they appear (and scanned, for files written before their watch
// existed), and removed ones are dropped with everything under them.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// tree is the set of watched directories. Only the Watcher's goroutine
// uses it (New fills it before that goroutine starts).
type tree struct {
	root   string // absolute and clean
	filter *filter
	add    func(dir string) error // fsnotify's Add, or a test's wrapper around it
	remove func(dir string) error // fsnotify's Remove

	dirs     map[string]bool // watched directories under root, absolute
	files    map[string]bool // files watched one by one (Options.Files, WatchFiles), absolute
	fileDirs map[string]bool // the directories watched for files

	warnings []error // errors that did not stop the walk, for the Errors channel
}

func newTree(root string, f *filter, add, remove func(string) error) *tree {
	return &tree{
		root:     root,
		filter:   f,
		add:      add,
		remove:   remove,
		dirs:     map[string]bool{},
		files:    map[string]bool{},
		fileDirs: map[string]bool{},
	}
}

// display returns how a Batch names abs: slash-separated and relative to
// root when it is under root, absolute otherwise.
func display(root, abs string) string {
	rel, err := filepath.Rel(root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return filepath.ToSlash(abs)
	}
	return filepath.ToSlash(rel)
}

func (t *tree) rel(abs string) string { return display(t.root, abs) }

// watch adds an inotify watch on dir.
func (t *tree) watch(dir string) error {
	if err := t.add(dir); err != nil {
		return watchError(dir, err)
	}
	return nil
}

// addTree watches dir and every directory under it that the filter keeps,
// and calls found, if not nil, for every reportable file it sees. Each
// directory is watched before it is read, so a file written meanwhile is
// either in the listing or in an event (or both). With rewatch, directories
// already in the set are watched again (after lost events). addTree returns
// an error only when the walk cannot go on: the root cannot be watched, or
// the kernel is out of watches. Lesser errors (an unreadable directory) go
// to t.warnings.
func (t *tree) addTree(dir string, rewatch bool, found func(abs string)) error {
	if t.dirs[dir] && !rewatch {
		return nil
	}
	if err := t.watch(dir); err != nil {
		switch {
		case dir == t.root || isLimit(err):
			return err
		case errors.Is(err, fs.ErrNotExist):
			// Removed before we got to it; its parent reports that.
		default:
			t.warnings = append(t.warnings, err)
		}
		return nil
	}
	t.dirs[dir] = true

	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is already in our message
		}
		t.warnings = append(t.warnings, fmt.Errorf("watching %s: %w", dir, err))
	}
	if dir != t.root && t.filter.isVirtualenv(entries) {
		// pyvenv.cfg appeared between skipDir's look and the listing
		// (python -m venv writes it after the directories).
		t.removeTree(dir)
		return nil
	}
	for _, e := range entries {
		abs := filepath.Join(dir, e.Name())
		rel := t.rel(abs)
		// DirEntry.IsDir is false for a symlink: linked directories are
		// not followed, so a link cycle cannot run the walk away.
		if e.IsDir() {
			if t.filter.skipDir(rel, abs) {
				continue
			}
			if err := t.addTree(abs, rewatch, found); err != nil {
				return err
			}
			continue
		}
		if found != nil && !t.filter.skipFile(rel) {
			found(abs)
		}
	}
	return nil
}

// removeTree forgets dir and every watched directory under it. The kernel
// has already dropped the watch of a deleted directory; a moved one keeps
// its watches under stale names, which is why each is removed explicitly.
func (t *tree) removeTree(dir string) {
	prefix := dir + string(filepath.Separator)
	for d := range t.dirs {
		if d != dir && !strings.HasPrefix(d, prefix) {
			continue
		}
		delete(t.dirs, d)
		if !t.fileDirs[d] {
			_ = t.remove(d) // ErrNonExistentWatch when the kernel dropped it first
		}
	}
}

// rescan brings the set back in line with the disk after lost events:
// directories that are gone are dropped, every remaining one is watched
// again and new ones are added.
func (t *tree) rescan() error {
	for d := range t.dirs {
		if fi, err := os.Lstat(d); err != nil || !fi.IsDir() {
			t.removeTree(d)
		}
	}
	for d := range t.fileDirs {
		if err := t.watch(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.warnings = append(t.warnings, err)
		}
	}
	return t.addTree(t.root, true, nil)
}

// addFiles watches single files. A file is watched through its directory,
// filtered by name, because editors and deploy tools replace files by
// renaming a new one over them, which ends a watch on the file itself. The
// files need not exist yet; their directories must.
func (t *tree) addFiles(paths []string) error {
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return fmt.Errorf("watching %s: %w", p, err)
		}
		dir := filepath.Dir(abs)
		if !t.fileDirs[dir] {
			if err := t.watch(dir); err != nil {
				return err
			}
			t.fileDirs[dir] = true
		}
		t.files[abs] = true
	}
	return nil
}

// takeWarnings returns and clears the pending warnings.
func (t *tree) takeWarnings() []error {
	w := t.warnings
	t.warnings = nil
	return w
}
