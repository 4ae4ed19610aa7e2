package reload

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFilterFiles(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		rel  string
		skip bool
	}{
		{"python", Options{}, "polls/views.py", false},
		{"bytecode", Options{}, "polls/views.pyc", true},
		{"optimised bytecode", Options{}, "polls/views.pyo", true},
		{"dev database", Options{}, "db.sqlite3", true},
		{"dev database journal", Options{}, "db.sqlite3-journal", true},
		{"dev database wal", Options{}, "db.sqlite3-wal", true},
		{"log", Options{}, "logs/debug.log", true},
		{"vim swap", Options{}, "polls/.views.py.swp", true},
		{"vim swap 2", Options{}, "polls/.views.py.swx", true},
		{"vim backup", Options{}, "polls/views.py~", true},
		{"vim write probe", Options{}, "polls/4913", true},
		{"emacs lock", Options{}, "polls/.#views.py", true},
		{"emacs auto-save", Options{}, "polls/#views.py#", true},
		{"temp file", Options{}, "polls/views.py.tmp", true},
		{"jetbrains temp", Options{}, "polls/views.py___jb_tmp___", true},
		{"under .git", Options{}, ".git/index", true},
		{"under __pycache__", Options{}, "polls/__pycache__/views.cpython-312.pyc", true},
		{"under node_modules", Options{}, "frontend/node_modules/x/index.js", true},
		{"under venv", Options{}, "venv/lib/site.py", true},
		{"env file is not a venv", Options{}, ".env", false},
		{"no defaults", Options{NoDefaultExcludes: true}, "db.sqlite3", false},
		{"exclude by name", Options{Exclude: []string{"*.md"}}, "docs/a.md", true},
		{"exclude directory", Options{Exclude: []string{"docs"}}, "docs/a.py", true},
		{"exclude anchored", Options{Exclude: []string{"/build"}}, "src/build/a.py", false},
		{"exclude anchored hit", Options{Exclude: []string{"/build"}}, "build/a.py", true},
		{"exclude doublestar", Options{Exclude: []string{"frontend/**"}}, "frontend/src/a.js", true},
		{"exclude dir-only pattern", Options{Exclude: []string{"data/"}}, "data/a.py", true},
		{"exclude dir-only pattern, file", Options{Exclude: []string{"data/"}}, "data", false},
		{"include hit", Options{Include: []string{"*.py"}}, "polls/views.py", false},
		{"include miss", Options{Include: []string{"*.py"}}, "polls/README.md", true},
		{"exclude beats include", Options{Include: []string{"*.py"}, Exclude: []string{"polls/migrations/**"}}, "polls/migrations/0001_initial.py", true},
		{"include does not beat defaults", Options{Include: []string{"**"}}, "db.sqlite3", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := newFilter(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.skipFile(tc.rel); got != tc.skip {
				t.Errorf("skipFile(%q) = %v, want %v", tc.rel, got, tc.skip)
			}
		})
	}
}

func TestFilterDirs(t *testing.T) {
	root := t.TempDir()
	mkdirs(t, root, "env", "myenv", "envnotvenv", "media", "polls/media", "static", "node_modules", "build")
	writeFiles(t, root, "env/pyvenv.cfg", "myenv/pyvenv.cfg", "polls/media/__init__.py")

	tests := []struct {
		name string
		opts Options
		rel  string
		skip bool
	}{
		{"root", Options{Exclude: []string{"**"}}, ".", false},
		{"env with pyvenv.cfg", Options{}, "env", true},
		{"any virtualenv", Options{}, "myenv", true},
		{"env-like without pyvenv.cfg", Options{}, "envnotvenv", false},
		{"media root", Options{}, "media", true},
		{"app called media", Options{}, "polls/media", false},
		{"static", Options{}, "static", false},
		{"node_modules", Options{}, "node_modules", true},
		{"node_modules without defaults", Options{NoDefaultExcludes: true}, "node_modules", false},
		{"virtualenv without defaults", Options{NoDefaultExcludes: true}, "env", false},
		{"excluded", Options{Exclude: []string{"build"}}, "build", true},
		{"include does not limit directories", Options{Include: []string{"*.py"}}, "build", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := newFilter(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.skipDir(tc.rel, filepath.Join(root, tc.rel)); got != tc.skip {
				t.Errorf("skipDir(%q) = %v, want %v", tc.rel, got, tc.skip)
			}
		})
	}
}

func TestNewBadPattern(t *testing.T) {
	_, err := New(t.TempDir(), Options{Exclude: []string{"a/[b"}})
	if err == nil || err.Error() != `exclude: bad pattern "a/[b": syntax error in pattern` {
		t.Errorf("New with a bad exclude = %v", err)
	}
}

// mkdirs creates directories under root.
func mkdirs(t *testing.T, root string, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// writeFiles writes each file under root with its name as content,
// creating directories as needed.
func writeFiles(t *testing.T, root string, files ...string) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
