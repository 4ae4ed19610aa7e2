package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// loadText loads text as the file name in a temporary directory and
// returns the directory (with a trailing slash, as %d writes it).
func loadText(t *testing.T, name, text string, o LoadOptions) (Loaded, string, error) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if o.Environ == nil {
		o.Environ = []string{}
	}
	if o.LookupEnv == nil {
		o.LookupEnv = func(string) (string, bool) { return "", false }
	}
	r, err := LoadFiles([]string{path}, o)
	real, _ := filepath.EvalSymlinks(dir)
	return r, real + "/", err
}

// TestPlaceholders pins uWSGI 2.0's expansion rules (core/utils.c
// magic_sub and uwsgi_apply_config_pass); the golden corpus test checks
// the same against a real uwsgi.
func TestPlaceholders(t *testing.T) {
	env := map[string]string{"HOME": "/home/me", "PCT": "%d", "EMPTY": ""}
	tests := []struct {
		name    string
		lines   string // the [uwsgi] section's lines; chdir is checked
		want    string // $D is the file's directory, with its slash
		warning string // the one warning's detail, if any
	}{
		{name: "dir has a trailing slash", lines: "chdir = %d", want: "$D"},
		{name: "dir then a name", lines: "chdir = %dsrc", want: "$Dsrc"},
		{name: "name without extension", lines: "chdir = /run/%n", want: "/run/site"},
		{name: "file name", lines: "chdir = /run/%s", want: "/run/site.ini"},
		{name: "extension", lines: "chdir = /run/%e", want: "/run/ini"},
		{name: "path", lines: "chdir = %p", want: "$Dsite.ini"},
		{name: "cpus", lines: "chdir = /x/%k", want: "/x/4"},
		{name: "hostname", lines: "chdir = /x/%h", want: "/x/box"},
		{name: "percent", lines: "chdir = /x/%%d", want: "/x/%d"},
		{name: "unknown magic is nothing", lines: "chdir = /x/%Yz", want: "/x/z"},
		// Regression: uWSGI's magic_sub eats the newline after a final %.
		{name: "a final percent joins the next line", lines: "chdir = /x/%\nthreads = 2", want: "/x/threads = 2"},
		{name: "reference", lines: "base = /srv\nchdir = %(base)/app", want: "/srv/app"},
		{name: "reference to a later key", lines: "chdir = %(base)/app\nbase = /srv", want: "/srv/app"},
		{name: "reference takes the first value", lines: "v = 1\nv = 2\nchdir = /%(v)", want: "/1"},
		{name: "reference expands the other key", lines: "base = %dsrc\nchdir = %(base)", want: "$Dsrc"},
		{name: "reference to a real key", lines: "http = :8000\nchdir = /%(http)", want: "/:8000"},
		{name: "arithmetic", lines: "chdir = /%(%k * 2)", want: "/8"},
		{name: "arithmetic with keys", lines: "a = 3\nchdir = /%(a + 1)", want: "/4"},
		{name: "concatenation", lines: "a = x\nb = y\nchdir = /%(a b)", want: "/xy"},
		{name: "expanded text is not expanded again", lines: "chdir = $(PCT)", want: "%d"},
		{name: "unterminated reference", lines: "chdir = /%(base", want: "/%(base"},
		{name: "missing reference", lines: "chdir = %(base)/app", want: "%(base)/app",
			warning: "%(base) names no key; it stays as written, as in uWSGI"},
		// A file from a fuzzer: references that double at each step.
		{name: "doubling references stop", lines: "a = %(b)%(b)%(b)%(b)\nb = %(c)%(c)%(c)%(c)\nc = %(d)%(d)%(d)%(d)\nd = %(e)%(e)%(e)%(e)\ne = %(f)%(f)%(f)%(f)\nf = %(g)%(g)%(g)%(g)\ng = %(h)%(h)%(h)%(h)\nh = %(i)%(i)%(i)%(i)\ni = %(j)%(j)%(j)%(j)\nj = %(k)%(k)%(k)%(k)\nk = xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\nchdir = /", want: "/",
			warning: "*"},
		{name: "environment", lines: "chdir = $(HOME)/app", want: "/home/me/app"},
		{name: "empty environment", lines: "chdir = /a$(EMPTY)", want: "/a"},
		// Issue 17: an unset $(VAR) became empty where uWSGI keeps the text.
		{name: "unset environment stays", lines: "chdir = $(NOPE)/app", want: "$(NOPE)/app",
			warning: "$(NOPE): the environment variable NOPE is not set; the text stays as written, as in uWSGI"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := LoadOptions{CPUs: 4, Hostname: "box", LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
			r, dir, err := loadText(t, "site.ini", "[uwsgi]\n"+tc.lines+"\n", o)
			if err != nil {
				t.Fatal(err)
			}
			if want := strings.ReplaceAll(tc.want, "$D", dir); r.Config.Chdir != want {
				t.Errorf("chdir = %q, want %q", r.Config.Chdir, want)
			}
			var details []string
			for _, w := range r.Warnings {
				if w.Kind == Unresolved {
					details = append(details, w.Detail)
				}
			}
			if got := strings.Join(details, "\n"); got != tc.warning && (tc.warning != "*" || got == "") {
				t.Errorf("warnings:\n%s\nwant:\n%s", got, tc.warning)
			}
		})
	}
}
