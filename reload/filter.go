package reload

// This file decides which paths are watched and reported at all: the
// built-in ignores for a Python project, then the user's Exclude and
// Include globs.

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
)

// defaultIgnoredDirs are never watched: VCS metadata, caches, virtualenvs
// and node_modules, which would eat thousands of inotify watches and change
// on every pip or npm install.
var defaultIgnoredDirs = map[string]bool{
	".git": true, ".hg": true, ".svn": true,
	"__pycache__": true, ".mypy_cache": true, ".pytest_cache": true, ".ruff_cache": true,
	".tox": true, ".nox": true, "htmlcov": true,
	".venv": true, "venv": true,
	"node_modules": true, ".idea": true, ".vscode": true,
}

// defaultIgnoredFiles are path.Match patterns for base names that are
// never reported: bytecode, the dev database (Django's db.sqlite3 and its
// journal change on every request that writes, so reporting them would
// reload forever), logs, and the temporary names editors save through.
var defaultIgnoredFiles = []string{
	"*.pyc", "*.pyo",
	"*.sqlite3", "*.sqlite3-journal", "*.sqlite3-wal", "*.sqlite3-shm",
	"*.log", ".coverage", ".DS_Store",
	// vim: swap files, backups (with backupcopy=no it renames x.py to
	// x.py~), and 4913, the file it creates to test that it may write in
	// the directory.
	"*.swp", "*.swo", "*.swx", "*~", "4913",
	// emacs lock links and auto-save files.
	".#*", "#*#",
	// Write-then-rename saves: most editors, Kate, JetBrains, GNOME's gio.
	"*.tmp", "*.kate-swp", "*___jb_tmp___", "*___jb_old___", ".goutputstream-*",
}

// filter holds the compiled Include and Exclude lists.
type filter struct {
	defaults bool
	include  []glob
	exclude  []glob
}

// newFilter compiles the patterns of opts.
func newFilter(opts Options) (*filter, error) {
	f := &filter{defaults: !opts.NoDefaultExcludes}
	for _, p := range opts.Include {
		g, err := compileGlob(p)
		if err != nil {
			return nil, fmt.Errorf("include: %w", err)
		}
		f.include = append(f.include, g)
	}
	for _, p := range opts.Exclude {
		g, err := compileGlob(p)
		if err != nil {
			return nil, fmt.Errorf("exclude: %w", err)
		}
		f.exclude = append(f.exclude, g)
	}
	return f, nil
}

// skipDir reports whether the directory rel (at abs on disk) is left
// unwatched. Besides names, it looks inside the directory: any directory
// holding pyvenv.cfg is a virtualenv (env, .env, myenv, not only venv), and
// media is Django's MEDIA_ROOT, uploaded files, unless it holds __init__.py
// and so is an app called media.
func (f *filter) skipDir(rel, abs string) bool {
	if rel == "." {
		return false
	}
	if f.skipDirName(rel) {
		return true
	}
	if !f.defaults {
		return false
	}
	if exists(filepath.Join(abs, venvMarker)) {
		return true
	}
	return path.Base(rel) == "media" && !exists(filepath.Join(abs, "__init__.py"))
}

// venvMarker is the file that makes a directory a virtualenv (PEP 405).
const venvMarker = "pyvenv.cfg"

// isVirtualenv reports whether a directory listing is a virtualenv's that
// the default excludes skip.
func (f *filter) isVirtualenv(entries []os.DirEntry) bool {
	if !f.defaults {
		return false
	}
	for _, e := range entries {
		if e.Name() == venvMarker {
			return true
		}
	}
	return false
}

// skipDirName is skipDir without looking at the disk.
func (f *filter) skipDirName(rel string) bool {
	if f.defaults && defaultIgnoredDirs[path.Base(rel)] {
		return true
	}
	for _, g := range f.exclude {
		if g.match(rel, true) {
			return true
		}
	}
	return false
}

// skipFile reports whether a change to the file rel is not reported. It
// also checks rel's directories by name, for a file seen before its
// directory was known to be excluded.
func (f *filter) skipFile(rel string) bool {
	base := path.Base(rel)
	if f.defaults {
		for _, p := range defaultIgnoredFiles {
			if ok, _ := path.Match(p, base); ok {
				return true
			}
		}
	}
	for _, g := range f.exclude {
		if g.match(rel, false) {
			return true
		}
	}
	for d := path.Dir(rel); d != "." && d != "/"; d = path.Dir(d) {
		if f.skipDirName(d) {
			return true
		}
	}
	if len(f.include) == 0 {
		return false
	}
	for _, g := range f.include {
		if g.match(rel, false) {
			return false
		}
	}
	return true
}

// exists reports whether name exists; errors other than "not found" count
// as existing, so an unreadable directory errs towards being skipped.
func exists(name string) bool {
	_, err := os.Lstat(name)
	return err == nil || !errors.Is(err, os.ErrNotExist)
}
