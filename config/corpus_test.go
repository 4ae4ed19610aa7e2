package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// The corpus test reads every real uwsgi.ini of testdata/uwsgi-corpus
// with gowsgi and compares, key by key, what uWSGI 2.0.31 resolves for the
// same copy of the file (`uwsgi --ini COPY --get KEY`, which parses the
// file, prints the key's first value and exits without binding anything).
// With a uwsgi binary (GOWSGI_UWSGI, else ../.uwsgi-venv/bin/uwsgi, which
// `make uwsgi-venv` installs) the expected values come from running it;
// without one (or with GOWSGI_UWSGI=none), from the golden JSON committed
// next to the corpus, which -update-corpus (make uwsgi-goldens) rewrites
// from a real uwsgi.

var updateCorpus = flag.Bool("update-corpus", false, "rewrite testdata/uwsgi-corpus/golden/*.json from a real uwsgi")

const corpusDir = "../testdata/uwsgi-corpus"

// corpusEnv is the whole environment both read the files in: if-env
// blocks, $(VAR) and UWSGI_* variables of the corpus see these.
var corpusEnv = []string{
	"PATH=/usr/bin:/bin", "HOME=/home/corpus", "MOUNT_PATH=respa/", "VIRTUAL_ENV=/venv",
	"CIRCLECI=true", "UWSGI_WORKERS=3", "REDIS_IDLE_TIMEOUT=60", "SENTRY_DSN=https://key@sentry.invalid/1",
}

// corpusGolden is what uwsgi said about one file.
type corpusGolden struct {
	// Reads: uwsgi parsed the file (exit status 0 with --get).
	Reads bool `json:"reads"`
	// Error is the end of uwsgi's output when it did not.
	Error string `json:"error,omitempty"`
	// CPUs and Hostname are %k and %h where it ran.
	CPUs     int    `json:"cpus"`
	Hostname string `json:"hostname"`
	// Get is every key's first value; a key uwsgi has no value for is
	// absent. The copy's directory is written $DIR/.
	Get map[string]string `json:"get"`
}

// unsafeBeforeGet are options uWSGI runs before it answers --get (the
// -asap hooks), and print / iprint, which write to the same stdout: they
// are commented out of the copy.
var unsafeBeforeGet = regexp.MustCompile(`(?m)^\s*((hook|exec|call|mount|umount)-asap|exec-as-root|hook-as-root|i?print)\s*=`)

func findUwsgi() string {
	if p := os.Getenv("GOWSGI_UWSGI"); p == "none" {
		return "" // compare with the goldens, as on a machine without uwsgi
	} else if p != "" {
		return p
	}
	if p, err := filepath.Abs("../.uwsgi-venv/bin/uwsgi"); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

func TestCorpus(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*.ini"))
	if len(files) < 30 {
		t.Fatalf("the corpus has %d files; it should have at least 30", len(files))
	}
	uwsgi := findUwsgi()
	if uwsgi == "" && *updateCorpus {
		t.Fatal("-update-corpus needs a uwsgi: run make uwsgi-venv or set GOWSGI_UWSGI")
	}
	if uwsgi == "" {
		t.Log("no uwsgi binary: comparing with the committed goldens (make uwsgi-venv to run uWSGI itself)")
	}
	read := 0
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".ini")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if real, err := filepath.EvalSymlinks(dir); err == nil {
				dir = real
			}
			copyPath := filepath.Join(dir, filepath.Base(file))
			if err := os.WriteFile(copyPath, unsafeBeforeGet.ReplaceAll(data, []byte("; (not run by the test) $0")), 0o600); err != nil {
				t.Fatal(err)
			}
			goldenPath := filepath.Join(corpusDir, "golden", name+".json")
			var want corpusGolden
			if uwsgi != "" {
				want = runUwsgi(t, uwsgi, dir, copyPath, keysOf(t, copyPath, data))
				if *updateCorpus {
					writeGolden(t, goldenPath, want, dir)
				}
			} else {
				want = readGolden(t, goldenPath, dir)
			}

			env := envMap(corpusEnv)
			l, res, err := loadAll([]string{copyPath}, LoadOptions{
				Environ: corpusEnv, LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
				CPUs: want.CPUs, Hostname: want.Hostname,
			})
			if !want.Reads {
				t.Logf("uwsgi does not read it (%s); gowsgi: %v", want.Error, err)
				return
			}
			read++
			if err != nil {
				t.Fatalf("uwsgi reads it and gowsgi does not: %v", err)
			}
			for key, v := range want.Get {
				got, ok := l.firstValue(key)
				if !ok {
					t.Errorf("%s: uwsgi has %q, gowsgi has no value", key, v)
				} else if got != v {
					t.Errorf("%s: uwsgi has %q, gowsgi %q", key, v, got)
				}
			}
			for _, o := range l.opts {
				if _, ok := want.Get[o.key]; !ok && !o.placeholder {
					t.Errorf("%s: gowsgi has %q (%s), uwsgi has no value", o.key, o.value, o.src)
				}
			}
			checkResolved(t, l, res.Config, want)
			for _, w := range res.Warnings {
				if w.Kind == UnknownKey && isUwsgiOption(w.Key) {
					t.Errorf("a real uWSGI option is called unknown: %s", w)
				}
			}
		})
	}
	t.Logf("uwsgi reads %d of %d files; gowsgi reads each of them with the same values", read, len(files))
}

// checkResolved compares the resolved Config with uwsgi's value for each
// key of the table written once: gowsgi's reading of uwsgi's string must
// give the value gowsgi resolved from the file.
func checkResolved(t *testing.T, l *loader, cfg Config, want corpusGolden) {
	t.Helper()
	count := map[string]int{}
	for _, o := range l.opts {
		count[o.key]++
	}
	for key, v := range want.Get {
		k := keyIndex[key]
		if k == nil || len(key) == 1 || count[key] != 1 || (key == "wsgi-file" && cfg.Module != "") {
			continue
		}
		for _, other := range append([]string{k.name}, k.aliases...) {
			if other != key && count[other] > 0 {
				k = nil // an alias given too: the last of them wins
			}
		}
		if k == nil {
			continue
		}
		fresh := Default()
		rv, _ := uwsgiReads(k, v)
		if err := k.set(&fresh, rv); err != nil {
			continue // gowsgi refused it and said so
		}
		fresh.normalize()
		gotJSON, _ := json.Marshal(k.value(&cfg))
		wantJSON, _ := json.Marshal(k.value(&fresh))
		if k.kind.repeatable() {
			var got, one []string
			_ = json.Unmarshal(gotJSON, &got)
			_ = json.Unmarshal(wantJSON, &one)
			if len(one) == 1 && !contains(got, one[0]) {
				t.Errorf("%s: uwsgi's %q reads as %s, which gowsgi's %s lacks", key, v, wantJSON, gotJSON)
			}
			continue
		}
		if !bytes.Equal(gotJSON, wantJSON) {
			t.Errorf("%s: uwsgi's %q reads as %s, gowsgi resolved %s", key, v, wantJSON, gotJSON)
		}
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// keysOf lists the keys to ask uwsgi about: every key gowsgi collected and
// every key written in the file.
func keysOf(t *testing.T, path string, data []byte) []string {
	seen := map[string]bool{}
	env := envMap(corpusEnv)
	l, _, _ := loadAll([]string{path}, LoadOptions{Environ: corpusEnv, LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	for _, o := range l.opts {
		seen[o.key] = true
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' || line[0] == '[' {
			continue
		}
		k, _, _ := strings.Cut(line, "=")
		if k = strings.TrimSpace(k); k != "" && !strings.ContainsAny(k, "%$@") {
			seen[k] = true
		}
	}
	var out []string
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// runUwsgi asks uwsgi for each key, one process each (a key with no value
// prints nothing, so several --get in one run cannot be told apart).
func runUwsgi(t *testing.T, uwsgi, dir, path string, keys []string) corpusGolden {
	t.Helper()
	g := corpusGolden{Get: map[string]string{}, CPUs: 4, Hostname: "corpus-host"}
	// %k and %h: uwsgi's own, read back through a probe file.
	probe := filepath.Join(dir, "probe.ini")
	_ = os.WriteFile(probe, []byte("[uwsgi]\nprobe-k = %k\nprobe-h = %h\n"), 0o600)
	if out, err := uwsgiGet(uwsgi, dir, probe, "probe-k"); err == nil {
		n, _ := atoi(out)
		g.CPUs = int(n)
	}
	if out, err := uwsgiGet(uwsgi, dir, probe, "probe-h"); err == nil {
		g.Hostname = strings.TrimSuffix(out, "\n")
	}
	os.Remove(probe)
	g.Reads = true
	for _, k := range keys {
		out, err := uwsgiGet(uwsgi, dir, path, k)
		if err != nil {
			g.Reads = false
			lines := strings.Split(strings.TrimSpace(out), "\n")
			g.Error = lines[len(lines)-1]
			g.Get = map[string]string{}
			return g
		}
		if v, ok := strings.CutSuffix(out, "\n"); ok {
			g.Get[k] = v
		} else if out != "" {
			g.Get[k] = out
		}
	}
	return g
}

// uwsgiGet runs uwsgi --ini path --get key with the corpus environment and
// returns its standard output (its log goes to stderr).
func uwsgiGet(uwsgi, dir, path, key string) (string, error) {
	cmd := exec.Command(uwsgi, "--ini", path, "--get", key)
	cmd.Dir = dir
	cmd.Env = corpusEnv
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return stderr.String(), err
		}
		return "", err
	}
	return stdout.String(), nil
}

func writeGolden(t *testing.T, path string, g corpusGolden, dir string) {
	t.Helper()
	for k, v := range g.Get {
		g.Get[k] = strings.ReplaceAll(v, dir+"/", "$DIR/")
	}
	g.Error = strings.ReplaceAll(g.Error, dir+"/", "$DIR/")
	b, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	for k, v := range g.Get {
		g.Get[k] = strings.ReplaceAll(v, "$DIR/", dir+"/")
	}
}

func readGolden(t *testing.T, path, dir string) corpusGolden {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./config -run TestCorpus -update-corpus with a uwsgi to create it)", err)
	}
	var g corpusGolden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for k, v := range g.Get {
		g.Get[k] = strings.ReplaceAll(v, "$DIR/", dir+"/")
	}
	return g
}

func envMap(env []string) map[string]string {
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}
