package config

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ini")

const iniDir = "../testdata/ini"

// A fixture's first line may be a directive for the test, a comment to the
// loader:
//
//	; test: section=prod strict env=NAME=VALUE
type directive struct {
	section string
	strict  bool
	env     map[string]string
}

func readDirective(t *testing.T, path string) directive {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := directive{env: map[string]string{}}
	first, _, _ := strings.Cut(string(data), "\n")
	rest, ok := strings.CutPrefix(first, "; test:")
	if !ok {
		return d
	}
	for _, f := range strings.Fields(rest) {
		switch name, value, _ := strings.Cut(f, "="); name {
		case "section":
			d.section = value
		case "strict":
			d.strict = true
		case "env":
			k, v, _ := strings.Cut(value, "=")
			d.env[k] = v
		default:
			t.Fatalf("%s: unknown test directive %q", path, f)
		}
	}
	return d
}

// describeLoad is what a golden file holds: the error, or the resolved
// config, the warnings and what Validate says.
func describeLoad(spec string, d directive) string {
	lookup := func(k string) (string, bool) { v, ok := d.env[k]; return v, ok }
	cfg, warnings, err := LoadWith(spec, LoadOptions{Strict: d.strict, LookupEnv: lookup})
	var b strings.Builder
	b.WriteString("# gowsgi config golden file: go test ./config -run TestLoadGolden -update rewrites it\n")
	b.WriteString("load " + spec + "\n")
	if err != nil {
		b.WriteString("error:\n")
		for _, line := range strings.Split(err.Error(), "\n") {
			b.WriteString("  " + line + "\n")
		}
	} else {
		b.WriteString(cfg.Describe())
	}
	if len(warnings) > 0 {
		b.WriteString("warnings:\n")
		for _, w := range warnings {
			b.WriteString("  " + w.String() + "\n")
		}
	}
	if err == nil {
		if verr := cfg.Validate(); verr != nil {
			b.WriteString("validate:\n")
			for _, line := range strings.Split(verr.Error(), "\n") {
				b.WriteString("  " + line + "\n")
			}
		} else {
			b.WriteString("validate: ok\n")
		}
	}
	return b.String()
}

// TestLoadGolden loads every testdata/ini/*.ini and compares the result
// with the .golden file next to it. %d and friends expand to this
// machine's absolute path, which the golden files write as $TESTDATA.
func TestLoadGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(iniDir, "*.ini"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures in %s: %v", iniDir, err)
	}
	abs, err := filepath.Abs(iniDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".ini")
		t.Run(name, func(t *testing.T) {
			d := readDirective(t, file)
			spec := file
			if d.section != "" {
				spec += ":" + d.section
			}
			got := strings.ReplaceAll(describeLoad(spec, d), abs, "$TESTDATA")
			golden := strings.TrimSuffix(file, ".ini") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./config -run TestLoadGolden -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("%s changed; got:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

// FuzzLoad feeds arbitrary files to Load, which reads files it did not
// write: it must return a Config or an error, never panic, and whatever
// it accepts must describe and validate without panicking.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(iniDir, "*.ini"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("[uwsgi]\nmaster\nmaster = false\n"))
	f.Add([]byte("[uwsgi]\nmodule = \"\"\"\nmulti\n\"\"\"\nhttp = :1\n"))
	f.Add([]byte("[uwsgi]\na = %(b)\nb = %(a)\nchdir = %(a)\n"))
	f.Add([]byte("\xef\xbb\xbf[uwsgi]\r\nhttp = :8000\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "fuzz.ini")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		lines := strings.Count(string(data), "\n") + 1
		cfg, warnings, err := LoadWith(path, LoadOptions{LookupEnv: func(string) (string, bool) { return "", false }})
		for _, w := range warnings {
			if w.Line < 0 || w.Line > lines {
				t.Errorf("warning on line %d of a %d-line file: %s", w.Line, lines, w)
			}
			_ = w.String()
		}
		if err != nil {
			return
		}
		if d := cfg.Describe(); !json.Valid([]byte(d)) {
			t.Fatalf("Describe is not JSON:\n%s", d)
		}
		_ = cfg.Validate()
	})
}

// TestLoadPath covers FILE:SECTION and how a missing file is reported.
func TestLoadPath(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	plain := write("app.ini", "[uwsgi]\nprocesses = 2\n[prod]\nprocesses = 8\n")
	colon := write("my:app.ini", "[uwsgi]\nprocesses = 3\n")
	tests := []struct {
		name      string
		spec      string
		processes int
		err       string
	}{
		{name: "default section", spec: plain, processes: 2},
		{name: "named section", spec: plain + ":prod", processes: 8},
		{name: "empty section name", spec: plain + ":", processes: 2},
		{name: "file with a colon in its name", spec: colon, processes: 3},
		{name: "missing file", spec: filepath.Join(dir, "nope.ini"),
			err: "reading the ini file: open " + filepath.Join(dir, "nope.ini") + ": no such file or directory"},
		{name: "missing file with section", spec: filepath.Join(dir, "nope.ini") + ":prod",
			err: "reading the ini file: open " + filepath.Join(dir, "nope.ini") + ": no such file or directory"},
		{name: "wrong case section", spec: plain + ":Prod",
			err: plain + ": no [Prod] section; the file has [uwsgi], [prod] (section names are case-sensitive: [prod] is not [Prod]): name one as " + plain + ":uwsgi"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := Load(tc.spec)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("Load(%q) error = %v, want %q", tc.spec, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Processes != tc.processes {
				t.Errorf("processes = %d, want %d", c.Processes, tc.processes)
			}
		})
	}
}

// TestLoadLines pins the line numbers of errors and warnings: empty
// values, a key written bare then with a value, values in quotes (which
// uWSGI keeps), CRLF and a BOM.
func TestLoadLines(t *testing.T) {
	text := "\xef\xbb\xbf[uwsgi]\r\n" + // 1
		"http = :8000\r\n" + // 2
		"module = mysite.wsgi\r\n" + // 3
		"env = \"\"\r\n" + // 4: quotes only, which uWSGI keeps
		"master = false\r\n" + // 5
		"master =\r\n" + // 6: empty, dropped by ValueWithShadows, still true
		"procesess = 2\r\n" + // 7
		"threads = x\r\n" // 8
	path := filepath.Join(t.TempDir(), "lines.ini")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	_, warnings, err := Load(path)
	want := path + `:4: env = "\"\"": not KEY=VALUE (for example env = DJANGO_SETTINGS_MODULE=mysite.settings)`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
	// threads = x is read as uWSGI's atoi reads it (0), and run as 1;
	// the warning says so.
	if len(warnings) != 2 || warnings[0].Line != 7 || warnings[0].Suggestion != "processes" || warnings[1].Line != 8 || warnings[1].Kind != ReadAs {
		t.Errorf("warnings = %v, want line 7's unknown key and line 8's reading", warnings)
	}

	text = strings.Replace(text, "env = \"\"\r\n", "", 1)
	text = strings.Replace(text, "threads = x\r\n", "", 1)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _, err := Load(path)
	if err != nil || !c.Master {
		t.Errorf("master = %v, %v; want true (the bare line 6 wins over line 5)", c.Master, err)
	}
}
