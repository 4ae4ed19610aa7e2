//go:build linux

package master

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
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
	// The head hash is the library's first 4 KiB (its build IDs), which
	// a rebuild of the same size changes.
	raw, _ := engineLibFS.ReadFile(engineHashPath)
	head := sha256.Sum256(lib[:engineHeadSize])
	if f := strings.Fields(string(raw)); len(f) != 3 || f[2] != hex.EncodeToString(head[:]) {
		t.Fatalf("%s = %q: no hash of the library's first 4 KiB", engineHashPath, raw)
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

// TestListenerFileForTheWorkers: the workers' dup of a listening socket
// leaves it non-blocking when exec reads its Fd (ln.File's dup put it in
// blocking mode, the workers' too), and once the master's descriptors of
// it are out of its poller, a fresh net.FileListener of that dup (dev mode
// answering while the app does not import) still accepts.
func TestListenerFileForTheWorkers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f, err := listenerFile(ln)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fd := f.Fd() // as os.StartProcess reads it for ExtraFiles
	flags, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
	if err != nil {
		t.Fatal(err)
	}
	if flags&unix.O_NONBLOCK == 0 {
		t.Fatal("reading the workers' descriptor put the listening socket in blocking mode")
	}
	removed, err := unpollSockets([]*os.File{f})
	if err != nil {
		t.Fatal(err)
	}
	if removed < 2 {
		t.Fatalf("%d registrations removed from the poller, want the listener's and its dup's", removed)
	}
	fl, err := net.FileListener(f)
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	accepted := make(chan error, 1)
	go func() {
		c, err := fl.Accept()
		if err == nil {
			c.Close()
		}
		accepted <- err
	}()
	time.Sleep(50 * time.Millisecond) // let Accept park in the poller first
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case err := <-accepted:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a net.FileListener made after unpollSockets never accepted")
	}
}

// TestEngineLibraryLinks: the engine library in every worker holds the
// request path, not what only the master does. The import error page's
// template is parsed on first use (gateway.WriteBootError), so the library,
// which never answers that page, neither parses it at each worker's start
// nor links the template parser.
func TestEngineLibraryLinks(t *testing.T) {
	lib, err := engineLibFS.ReadFile(engineLibPath)
	if err != nil {
		t.Skip("built without the engine library (make engine)")
	}
	f, err := elf.NewFile(bytes.NewReader(lib))
	if err != nil {
		t.Fatal(err)
	}
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	has := map[string]bool{}
	for _, s := range syms {
		has[s.Name] = true
	}
	if !has["github.com/gowsgi/gowsgi/gateway.NewEngine"] {
		t.Fatal("the library has no gateway.NewEngine: not the engine, or stripped")
	}
	for _, name := range []string{"html/template.(*Template).Parse", "text/template/parse.Parse", "github.com/gowsgi/gowsgi/gateway.WriteBootError"} {
		if has[name] {
			t.Errorf("the engine library links %s", name)
		}
	}
}
