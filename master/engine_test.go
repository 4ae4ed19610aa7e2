//go:build linux

package master

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestEngineHashMatchesLibrary: the hash `make engine` writes beside the
// library is the library's (a stale one would name another build's cached
// copy), and extractEngine names the cached copy after the content it
// wrote, which a second start finds without reading the library.
func TestEngineHashMatchesLibrary(t *testing.T) {
	lib, err := engineLibFS.ReadFile(engineLibPath)
	if err != nil {
		t.Skip("built without the engine library (make engine)")
	}
	sum := sha256.Sum256(lib)
	want := hex.EncodeToString(sum[:])
	got, ok := builtEngineHash(int64(len(lib)))
	if !ok {
		t.Fatalf("no usable %s embedded: make engine writes it with the library", engineHashPath)
	}
	if got != want {
		t.Fatalf("%s says %s, the library hashes to %s", engineHashPath, got, want)
	}
	if _, ok := builtEngineHash(int64(len(lib)) + 1); ok {
		t.Fatal("a hash written for a library of another size was used")
	}
	if h, err := hashEngine(); err != nil || h != want {
		t.Fatalf("hashEngine = %s, %v; want %s", h, err, want)
	}
	dir := t.TempDir()
	t.Setenv("GOWSGI_ENGINE_LIB", "")
	path, why := extractEngine(dir)
	if why != "" {
		t.Fatal(why)
	}
	if path != filepath.Join(dir, "engine-"+want[:12]+".so") {
		t.Fatalf("extracted to %s", path)
	}
	if b, err := os.ReadFile(path); err != nil || sha256.Sum256(b) != sum {
		t.Fatalf("the extracted copy differs from the library (%v)", err)
	}
	again, why := extractEngine(dir)
	if again != path || why != "" {
		t.Fatalf("second start: %s, %q", again, why)
	}
	if ents, _ := fs.Glob(os.DirFS(dir), ".engine-*"); len(ents) != 0 {
		t.Fatalf("temporary files left: %v", ents)
	}
}
