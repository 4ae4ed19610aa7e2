package pyworker

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// The Python runtime ships inside the gowsgi binary and is written once per
// content hash to the user's cache directory, so two gowsgi versions never
// share (or overwrite) each other's runtime.
//
//go:embed python/_gowsgi/*.py
var runtimeFS embed.FS

// runtimeVersion is a short hash of the embedded Python runtime's files,
// computed on first use. It was a package variable set at init, so every
// engine worker (whose libgowsgi-engine.so links this package but never
// extracts a runtime) hashed the 140 KB of Python sources at load: 147 KB
// of garbage on a heap that does not collect at idle (GODEBUG=inittrace=1:
// "init github.com/gowsgi/gowsgi/pyworker ... 147184 bytes"), and the
// embedded files' pages faulted in.
var runtimeVersion = sync.OnceValue(runtimeHash)

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
func ExtractRuntime() (string, error) { return ExtractRuntimeIn("") }

// ExtractRuntimeIn is ExtractRuntime into the cache directory base; ""
// is CacheDir().
func ExtractRuntimeIn(base string) (string, error) {
	if base == "" {
		var err error
		if base, err = CacheDir(); err != nil {
			return "", err
		}
	}
	dir := filepath.Join(base, "runtime-"+runtimeVersion())
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
