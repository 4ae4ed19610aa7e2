package master

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRotatingFile: a write that would pass max goes to a new file; the
// full one is renamed FILE.<unix time>, with -N when a second has two.
func TestRotatingFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	rf, err := openRotating(path, 25)
	if err != nil {
		t.Fatal(err)
	}
	rf.now = func() time.Time { return time.Unix(1700000000, 0) }
	for _, line := range []string{"0123456789\n", "0123456789\n", "abc\n", "0123456789\n", "0123456789\n"} {
		if _, err := rf.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	rf.Close()
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got := read("app.log.1700000000"); got != "0123456789\n0123456789\n" {
		t.Errorf("first rotated file %q", got)
	}
	if got := read("app.log.1700000000-1"); got != "abc\n0123456789\n" {
		t.Errorf("second rotated file %q", got)
	}
	if got := read("app.log"); got != "0123456789\n" {
		t.Errorf("current file %q", got)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 3 {
		t.Errorf("files %s", strings.Join(names, " "))
	}
}
