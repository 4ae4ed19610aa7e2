package pyworker

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// The Python runtime ships inside the gowsgi binary and is written once per
// content hash to the user's cache directory, so two gowsgi versions never
// share (or overwrite) each other's runtime.
//
//go:embed python/_gowsgi/*.py
var runtimeFS embed.FS

// RuntimeVersion is a short hash of the embedded Python runtime's files.
var RuntimeVersion = runtimeHash()

func runtimeHash() string {
	h := sha256.New()
	names, _ := fs.Glob(runtimeFS, "python/_gowsgi/*.py")
	sort.Strings(names)
	for _, n := range names {
		b, _ := runtimeFS.ReadFile(n)
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// CacheDir is where gowsgi keeps its extracted runtime: $GOWSGI_CACHE_DIR,
// else $XDG_CACHE_HOME/gowsgi, else ~/.cache/gowsgi.
func CacheDir() (string, error) {
	if d := os.Getenv("GOWSGI_CACHE_DIR"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding a cache directory: %w (set GOWSGI_CACHE_DIR)", err)
	}
	return filepath.Join(d, "gowsgi"), nil
}

// ExtractRuntime writes the embedded runtime to CacheDir()/runtime-<version>
// unless it is already there, and returns that directory (the one to put on
// sys.path). The write goes to a temporary directory renamed into place, so a
// concurrent gowsgi never sees half a runtime.
func ExtractRuntime() (string, error) {
	base, err := CacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(base, "runtime-"+RuntimeVersion)
	if _, err := os.Stat(filepath.Join(dir, "_gowsgi", "boot.py")); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", fmt.Errorf("extracting the python runtime: %w", err)
	}
	tmp, err := os.MkdirTemp(base, ".runtime-")
	if err != nil {
		return "", fmt.Errorf("extracting the python runtime: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := os.Mkdir(filepath.Join(tmp, "_gowsgi"), 0o755); err != nil {
		return "", fmt.Errorf("extracting the python runtime: %w", err)
	}
	names, _ := fs.Glob(runtimeFS, "python/_gowsgi/*.py")
	for _, n := range names {
		b, err := runtimeFS.ReadFile(n)
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(tmp, "_gowsgi", filepath.Base(n)), b, 0o644); err != nil {
			return "", fmt.Errorf("extracting the python runtime: %w", err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another gowsgi won the race: use its copy.
		if _, statErr := os.Stat(filepath.Join(dir, "_gowsgi", "boot.py")); statErr == nil {
			return dir, nil
		}
		return "", fmt.Errorf("extracting the python runtime: %w", err)
	}
	return dir, nil
}

// ErrNoPython is returned when no Python interpreter can be found or run.
var ErrNoPython = errors.New("no python interpreter found")

// FindPython picks the interpreter that runs the workers: explicit (the
// --python flag) if set, else home/bin/python (ini home/virtualenv), else
// $VIRTUAL_ENV/bin/python, else python3 on PATH.
func FindPython(explicit, home string) (string, error) {
	var tried []string
	check := func(p, why string) (string, bool) {
		if p == "" {
			return "", false
		}
		tried = append(tried, fmt.Sprintf("%s (%s)", p, why))
		if !strings.ContainsRune(p, '/') {
			found, err := exec.LookPath(p)
			if err != nil {
				return "", false
			}
			p = found
		}
		st, err := os.Stat(p)
		if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return "", false
		}
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		return p, true
	}
	if explicit != "" {
		if p, ok := check(explicit, "--python"); ok {
			return p, nil
		}
		return "", fmt.Errorf("%w: %s is not an executable file", ErrNoPython, explicit)
	}
	if home != "" {
		if p, ok := check(filepath.Join(home, "bin", "python"), "virtualenv home"); ok {
			return p, nil
		}
		return "", fmt.Errorf("%w: virtualenv %s has no bin/python", ErrNoPython, home)
	}
	if venv := os.Getenv("VIRTUAL_ENV"); venv != "" {
		if p, ok := check(filepath.Join(venv, "bin", "python"), "$VIRTUAL_ENV"); ok {
			return p, nil
		}
	}
	if p, ok := check("python3", "PATH"); ok {
		return p, nil
	}
	return "", fmt.Errorf("%w: tried %s", ErrNoPython, strings.Join(tried, ", "))
}
