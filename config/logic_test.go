package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLogicAndIncludes pins uWSGI's reading of config logic and includes,
// each case a form the issue-17 corpus had and gowsgi refused.
func TestLogicAndIncludes(t *testing.T) {
	env := map[string]string{"SET": "yes", "PORT": "9001", "EMPTY": ""}
	tests := []struct {
		name  string
		files map[string]string // more files next to site.ini
		text  string            // site.ini
		check func(t *testing.T, c Config)
		err   string
	}{
		{name: "if-env set", text: "[uwsgi]\nif-env = SET\nchdir = /%(_)\nendif =\n",
			check: func(t *testing.T, c Config) { eq(t, c.Chdir, "/yes") }},
		{name: "if-env unset", text: "[uwsgi]\nchdir = /a\nif-env = NOPE\nchdir = /b\nendif =\n",
			check: func(t *testing.T, c Config) { eq(t, c.Chdir, "/a") }},
		{name: "if-env set but empty is set", text: "[uwsgi]\nif-env = EMPTY\nchdir = /e%(_)\nendif =\n",
			check: func(t *testing.T, c Config) { eq(t, c.Chdir, "/e") }},
		{name: "if-env with a value", text: "[uwsgi]\nif-env = SET=no\nchdir = /no\nendif =\nif-env = SET=yes\nchdir = /yes\nendif =\n",
			check: func(t *testing.T, c Config) { eq(t, c.Chdir, "/yes") }},
		{name: "if-not-env", text: "[uwsgi]\nif-not-env = NOPE\nprocesses = 3\nendif =\nif-not-env = SET\nprocesses = 9\nendif =\n",
			check: func(t *testing.T, c Config) { eqInt(t, c.Processes, 3) }},
		{name: "if-opt", text: "[uwsgi]\nmode = prod\nif-opt = mode=prod\nprocesses = 4\nendif =\n",
			check: func(t *testing.T, c Config) { eqInt(t, c.Processes, 4) }},
		{name: "if-not-opt", text: "[uwsgi]\nif-not-opt = mode\nprocesses = 5\nendif\n",
			check: func(t *testing.T, c Config) { eqInt(t, c.Processes, 5) }},
		{name: "if-exists", files: map[string]string{"flag": ""}, text: "[uwsgi]\nif-exists = %dflag\ntouch-reload = %(_)\nendif =\n",
			check: func(t *testing.T, c Config) {
				if len(c.TouchReload) != 1 || !strings.HasSuffix(c.TouchReload[0], "/flag") {
					t.Errorf("touch-reload = %v", c.TouchReload)
				}
			}},
		{name: "if-dir", text: "[uwsgi]\nif-dir = %d\nchdir = %(_)\nendif =\nif-file = %d\nprocesses = 7\nendif =\n",
			check: func(t *testing.T, c Config) { eqInt(t, c.Processes, 1) }},
		{name: "for", text: "[uwsgi]\nfor = 8001 8002  8003\nhttp = 127.0.0.1:%(_)\nendfor =\n",
			check: func(t *testing.T, c Config) { eqInt(t, len(c.HTTP), 3) }},
		{name: "for-times", text: "[uwsgi]\nfor-times = 3\nenv = N%(_)=%(_)\nendfor =\n",
			check: func(t *testing.T, c Config) { eq(t, strings.Join(c.Env, " "), "N1=1 N2=2 N3=3") }},
		{name: "for-glob", files: map[string]string{"a.py": "", "b.py": ""}, text: "[uwsgi]\nfor-glob = %d*.py\ntouch-reload = %(_)\nendfor =\n",
			check: func(t *testing.T, c Config) { eqInt(t, len(c.TouchReload), 2) }},
		{name: "for-readline", files: map[string]string{"paths": "/a\n/b\n"}, text: "[uwsgi]\nfor-readline = %dpaths\npythonpath = %(_)\nendfor =\n",
			check: func(t *testing.T, c Config) { eq(t, strings.Join(c.PythonPath, " "), "/a /b") }},
		{name: "blocks do not nest", text: "[uwsgi]\nif-env = SET\nif-env = SET\nprocesses = 2\nendif =\n",
			err: `a block inside the if-env block`},
		{name: "env value in the environment pass", text: "[uwsgi]\nhttp = :$(PORT)\n",
			check: func(t *testing.T, c Config) { eq(t, c.HTTP[0].String(), ":9001") }},
		{name: "ini = another file", files: map[string]string{"base.ini": "[uwsgi]\nmodule = app.wsgi\nprocesses = 2\n"},
			text:  "[uwsgi]\nini = %dbase.ini\nprocesses = 4\n",
			check: func(t *testing.T, c Config) { eq(t, c.Module, "app.wsgi"); eqInt(t, c.Processes, 4) }},
		{name: "ini = :section of the same file", text: "[uwsgi]\nini = :base\nprocesses = 4\n[base]\nmodule = app.wsgi\n",
			check: func(t *testing.T, c Config) { eq(t, c.Module, "app.wsgi") }},
		{name: "include is in place", files: map[string]string{"more.ini": "[uwsgi]\nprocesses = 8\n"},
			text:  "[uwsgi]\nprocesses = 2\ninclude = %dmore.ini\n",
			check: func(t *testing.T, c Config) { eqInt(t, c.Processes, 8) }},
		// uWSGI reads inherit = last, when it applies the options: the
		// template's values are applied after the file's.
		{name: "inherit is read last", files: map[string]string{"tpl.ini": "[uwsgi]\nthreads = 2\nprocesses = 9\n"},
			text:  "[uwsgi]\ninherit = %dtpl.ini\nprocesses = 3\n",
			check: func(t *testing.T, c Config) { eqInt(t, c.Threads, 2); eqInt(t, c.Processes, 9) }},
		{name: "a missing include stops", text: "[uwsgi]\nini = %dnope.ini\n", err: "nope.ini: no such file or directory (uWSGI would stop here too"},
		{name: "a yaml include is refused", text: "[uwsgi]\ninclude = x.yaml\n", err: "gowsgi reads only ini files"},
		{name: "an include of itself stops", text: "[uwsgi]\nini = %p\n", err: "include each other more than 32 deep"},
		{name: "at-file reads a file", files: map[string]string{"secret": "s3cret\n"}, text: "[uwsgi]\nenv = SECRET=@(%dsecret)\n",
			check: func(t *testing.T, c Config) { eq(t, strings.Join(c.Env, " "), "SECRET=s3cret") }},
		{name: "upper-case magic is the first file's", files: map[string]string{"base.ini": "[uwsgi]\nchdir = /%N-%n\n"},
			text:  "[uwsgi]\nini = %dbase.ini\n",
			check: func(t *testing.T, c Config) { eq(t, c.Chdir, "/site-base") }},
		{name: "set-placeholder", text: "[uwsgi]\nset-placeholder = root=/srv\nchdir = %(root)/app\n",
			check: func(t *testing.T, c Config) { eq(t, c.Chdir, "/srv/app") }},
		{name: "set is an option", text: "[uwsgi]\nset = processes=6\n",
			check: func(t *testing.T, c Config) { eqInt(t, c.Processes, 6) }},
		{name: "module and wsgi-file: the module wins", text: "[uwsgi]\nwsgi-file = app/wsgi.py\nmodule = app.wsgi\n",
			check: func(t *testing.T, c Config) { eq(t, c.WSGIFile, ""); eq(t, c.Module, "app.wsgi") }},
		{name: "a factory module", text: "[uwsgi]\nmodule = app:create_app()\n",
			check: func(t *testing.T, c Config) { eq(t, c.Module, "app"); eq(t, c.Callable, "create_app()") }},
		{name: "CRLF", text: "[uwsgi]\r\nmodule = app.wsgi\r\nprocesses = 2\r\n",
			check: func(t *testing.T, c Config) { eq(t, c.Module, "app.wsgi"); eqInt(t, c.Processes, 2) }},
		{name: "a bare key then a value", text: "[uwsgi]\nmaster\nmaster = false\n",
			check: func(t *testing.T, c Config) { eqBool(t, c.Master, false) }},
		{name: "false with a comment is true", text: "[uwsgi]\nmaster = false # for now\n",
			check: func(t *testing.T, c Config) { eqBool(t, c.Master, true) }},
		{name: "a socket with a comment", text: "[uwsgi]\nsocket = 127.0.0.1:8001  # nginx\n",
			check: func(t *testing.T, c Config) { eq(t, c.Socket[0].String(), "127.0.0.1:8001") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, text := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			path := filepath.Join(dir, "site.ini")
			if err := os.WriteFile(path, []byte(tc.text), 0o600); err != nil {
				t.Fatal(err)
			}
			r, err := LoadFiles([]string{path}, LoadOptions{Environ: []string{}, LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, r.Config)
		})
	}
}

// TestEnvironmentOptions: UWSGI_* variables are options, read before the
// files (a file's value wins), as uWSGI's parse_sys_envs does.
func TestEnvironmentOptions(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "site.ini")
	os.WriteFile(path, []byte("[uwsgi]\nthreads = 2\n"), 0o600)
	r, err := LoadFiles([]string{path}, LoadOptions{
		Environ:   []string{"UWSGI_PROCESSES=4", "UWSGI_THREADS=8", "UWSGI_HTTP_SOCKET=:9000", "UWSGI_RELOADS=3", "UWSGI_NO_SUCH=1", "PATH=/bin"},
		LookupEnv: func(string) (string, bool) { return "", false },
	})
	if err != nil {
		t.Fatal(err)
	}
	eqInt(t, r.Config.Processes, 4)
	eqInt(t, r.Config.Threads, 2)
	eqInt(t, len(r.Config.HTTPSocket), 1)
	if s := r.Sources["processes"]; len(s) != 1 || s[0].String() != "$UWSGI_PROCESSES" {
		t.Errorf("processes' source = %v", s)
	}
	var warned bool
	for _, w := range r.Warnings {
		if w.Key == "no-such" && w.Kind == UnknownKey && strings.HasPrefix(w.String(), "$UWSGI_NO_SUCH: ") {
			warned = true
		}
	}
	if !warned {
		t.Errorf("no warning naming $UWSGI_NO_SUCH: %v", r.Warnings)
	}
}

// TestKinds: each key is applied, a uWSGI option gowsgi does not apply,
// or unknown to uWSGI too; issue 17 found 72 of 85 "unknown key" warnings
// naming real uWSGI options, and did-you-means one way only.
func TestKinds(t *testing.T) {
	tests := []struct {
		line    string
		kind    WarningKind // 0: applied, no warning
		suggest string
		detail  string
	}{
		{line: "processes = 2"},
		{line: "gevent = 400", kind: NoEffect, detail: "at most processes x threads requests run at once (1 x 1 = 1 here, where uWSGI would run 400 per worker)"},
		{line: "cheaper = 2", kind: NoEffect, detail: "gowsgi runs a fixed number of workers"},
		{line: "logto2 = /tmp/x.log", kind: NoEffect},
		{line: "route = ^/x$ donotlog:", kind: NoEffect, detail: "in builds with PCRE"},
		{line: "plugins = python3", kind: NoEffect, detail: "no plugin is needed"},
		{line: "process = 4", kind: UnknownKey, suggest: "processes"},
		{line: "guid = www-data", kind: UnknownKey, suggest: "gid"},
		{line: "vaccum = true", kind: UnknownKey, suggest: "vacuum"},
		{line: "p = 4", kind: UnknownKey, suggest: "processes"},
		{line: "harakiri-timeout = 3", kind: UnknownKey},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			r, _, err := loadText(t, "site.ini", "[uwsgi]\n"+tc.line+"\n", LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if tc.kind == 0 {
				if len(r.Warnings) > 0 {
					t.Errorf("warnings: %v", r.Warnings)
				}
				return
			}
			if len(r.Warnings) != 1 {
				t.Fatalf("warnings: %v", r.Warnings)
			}
			w := r.Warnings[0]
			if w.Kind != tc.kind || w.Suggestion != tc.suggest || !strings.Contains(w.Detail, tc.detail) {
				t.Errorf("got %v (kind %d, suggestion %q)", w, w.Kind, w.Suggestion)
			}
			// strict stops on keys unknown to uWSGI only, as uWSGI's does.
			_, _, err = loadText(t, "site.ini", "[uwsgi]\nstrict = true\n"+tc.line+"\n", LoadOptions{})
			if (err != nil) != (tc.kind == UnknownKey) {
				t.Errorf("strict: err = %v", err)
			}
		})
	}
}

func eq(t *testing.T, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func eqInt(t *testing.T, got, want int) {
	t.Helper()
	if got != want {
		t.Errorf("got %d, want %d", got, want)
	}
}

func eqBool(t *testing.T, got, want bool) {
	t.Helper()
	if got != want {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestSeveralFiles: issue 17: two --ini kept only the last file; uWSGI
// reads both, in order.
func TestSeveralFiles(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.ini"), filepath.Join(dir, "b.ini")
	os.WriteFile(a, []byte("[uwsgi]\nmodule = app.wsgi\nprocesses = 2\nhttp = :8000\n"), 0o600)
	os.WriteFile(b, []byte("[prod]\nprocesses = 8\nhttp = :9000\n"), 0o600)
	r, err := LoadFiles([]string{a, b + ":prod"}, LoadOptions{Environ: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, r.Config.Module, "app.wsgi")
	eqInt(t, r.Config.Processes, 8)
	eqInt(t, len(r.Config.HTTP), 2)
	if s := r.Sources["processes"]; len(s) != 2 || s[1].String() != b+":2" {
		t.Errorf("processes' sources = %v", s)
	}
}

// TestIfReload: if-reload applies in a start that finds UWSGI_RELOADS set
// (a HUP's or touch-reload's new master, which inherits it from the
// master it replaces), if-not-reload in the first start; TestHUPIfReload
// runs both for real.
func TestIfReload(t *testing.T) {
	text := "[uwsgi]\nif-reload =\nprocesses = 3\nendif =\nif-not-reload =\nprocesses = 5\nthreads = 2\nendif =\npidfile = /run/reload-$(UWSGI_RELOADS).pid\n"
	for _, tc := range []struct {
		env              map[string]string
		processes, thrds int
		pidfile          string // the count as this start's ini sees it
	}{
		{env: map[string]string{}, processes: 5, thrds: 2, pidfile: "/run/reload-0.pid"},
		{env: map[string]string{"UWSGI_RELOADS": "0"}, processes: 3, thrds: 1, pidfile: "/run/reload-1.pid"},
		{env: map[string]string{"UWSGI_RELOADS": "7"}, processes: 3, thrds: 1, pidfile: "/run/reload-8.pid"},
	} {
		r, _, err := loadText(t, "site.ini", text, LoadOptions{LookupEnv: func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }})
		if err != nil {
			t.Fatal(err)
		}
		if r.Config.Processes != tc.processes || r.Config.Threads != tc.thrds {
			t.Errorf("environment %v: processes %d, threads %d; want %d, %d", tc.env, r.Config.Processes, r.Config.Threads, tc.processes, tc.thrds)
		}
		if r.Config.Pidfile != tc.pidfile {
			t.Errorf("environment %v: $(UWSGI_RELOADS) read as %q, want %q", tc.env, r.Config.Pidfile, tc.pidfile)
		}
	}
	if IsEnvOption("UWSGI_RELOADS") || !IsEnvOption("UWSGI_PROCESSES") || IsEnvOption("UWSGI_") {
		t.Error("IsEnvOption: UWSGI_RELOADS is uWSGI's own, UWSGI_PROCESSES an option")
	}
}
