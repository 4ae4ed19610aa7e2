package pyworker

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// fakeTree makes dir/rel executable files (a "#!/bin/sh" script each) and
// plain files for the names in plain, and returns dir.
func fakeTree(t *testing.T, execs []string, plain []string) string {
	t.Helper()
	dir := t.TempDir()
	write := func(rel string, mode os.FileMode) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	for _, rel := range execs {
		write(rel, 0o755)
	}
	for _, rel := range plain {
		write(rel, 0o644)
	}
	return dir
}

func TestFindPython(t *testing.T) {
	root := fakeTree(t, []string{
		"path/python3",
		"exe-venv/bin/python", "exe-venv/bin/gowsgi",
		"exe-venv3/bin/python3", "exe-venv3/bin/gowsgi",
		"home-venv/bin/python",
		"active-venv/bin/python",
		"explicit/python",
		"usr/local/bin/gowsgi", "usr/local/bin/python",
		"empty-venv/bin/gowsgi",
	}, []string{
		"exe-venv/pyvenv.cfg", "exe-venv3/pyvenv.cfg", "home-venv/pyvenv.cfg",
		"active-venv/pyvenv.cfg", "empty-venv/pyvenv.cfg",
	})
	in := func(rel string) string { return filepath.Join(root, rel) }
	tests := []struct {
		name       string
		explicit   string
		home       string
		virtualEnv string
		exe        string
		want       string // relative to root; "" means an ErrNoPython error
		noPath     bool   // no python3 on PATH
	}{
		{name: "explicit beats everything", explicit: in("explicit/python"), home: in("home-venv"),
			virtualEnv: in("active-venv"), exe: in("exe-venv/bin/gowsgi"), want: "explicit/python"},
		{name: "home beats $VIRTUAL_ENV and the executable's virtualenv", home: in("home-venv"),
			virtualEnv: in("active-venv"), exe: in("exe-venv/bin/gowsgi"), want: "home-venv/bin/python"},
		{name: "$VIRTUAL_ENV beats the executable's virtualenv",
			virtualEnv: in("active-venv"), exe: in("exe-venv/bin/gowsgi"), want: "active-venv/bin/python"},
		// Issue 16: VENV/bin/gowsgi run by absolute path (systemd, Docker
		// CMD, cron) used python3 on PATH, which has no Django.
		{name: "gowsgi in a virtualenv's bin uses its python before PATH",
			exe: in("exe-venv/bin/gowsgi"), want: "exe-venv/bin/python"},
		{name: "a virtualenv with only python3",
			exe: in("exe-venv3/bin/gowsgi"), want: "exe-venv3/bin/python3"},
		{name: "a $VIRTUAL_ENV without python falls through to the executable's virtualenv",
			virtualEnv: in("empty-venv"), exe: in("exe-venv/bin/gowsgi"), want: "exe-venv/bin/python"},
		{name: "a bin without pyvenv.cfg is not a virtualenv",
			exe: in("usr/local/bin/gowsgi"), want: "path/python3"},
		{name: "a virtualenv without python falls through to PATH",
			exe: in("empty-venv/bin/gowsgi"), want: "path/python3"},
		{name: "no executable path", want: "path/python3"},
		{name: "nothing found", exe: in("empty-venv/bin/gowsgi"), noPath: true},
		{name: "explicit that is not executable does not fall back",
			explicit: in("exe-venv/pyvenv.cfg"), exe: in("exe-venv/bin/gowsgi")},
		{name: "home without python does not fall back",
			home: in("empty-venv"), exe: in("exe-venv/bin/gowsgi")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.noPath {
				t.Setenv("PATH", in("nowhere"))
			} else {
				t.Setenv("PATH", in("path"))
			}
			got, err := findPython(tc.explicit, tc.home, tc.virtualEnv, tc.exe)
			if tc.want == "" {
				if !errors.Is(err, ErrNoPython) {
					t.Fatalf("findPython = %q, %v; want ErrNoPython", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("findPython: %v", err)
			}
			if want := in(tc.want); got != want {
				t.Errorf("findPython = %s, want %s", got, want)
			}
		})
	}
}
