package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/gowsgi/gowsgi/config"
	"github.com/gowsgi/gowsgi/gateway"
)

// TestStaticExpires: static-expires = REGEXP SECONDS sets Expires and
// Cache-Control on the static files whose path matches, and on nothing
// else (searxng's "static-expires = /* 31557600" matches every file).
func TestStaticExpires(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "app.css"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "app.js"), []byte("x"), 0o644)
	mounts := []*gateway.Static{{URL: "/static/", Dirs: []gateway.StaticDir{{Root: dir}}}}
	wrap, err := compileExpires([]config.StaticExpire{{Pattern: `\.css$`, Seconds: 86400}, {Pattern: "/*", Seconds: 60}}, mounts)
	if err != nil {
		t.Fatal(err)
	}
	h := wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for _, tc := range []struct{ path, want string }{
		{"/static/app.css", "max-age=86400"},
		{"/static/app.js", "max-age=60"},
		{"/static/missing.css", ""},
		{"/app/page", ""},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", tc.path, nil))
		if got := rec.Header().Get("Cache-Control"); got != tc.want {
			t.Errorf("%s: Cache-Control %q, want %q", tc.path, got, tc.want)
		}
		if (rec.Header().Get("Expires") != "") != (tc.want != "") {
			t.Errorf("%s: Expires %q", tc.path, rec.Header().Get("Expires"))
		}
	}
	if _, err := compileExpires([]config.StaticExpire{{Pattern: "(", Seconds: 1}}, mounts); err == nil {
		t.Error("a bad regexp was accepted")
	}
}

// TestResolveOwner: chown-socket takes user[:group], names or numbers.
func TestResolveOwner(t *testing.T) {
	me := strconv.Itoa(os.Getuid())
	for _, tc := range []struct {
		spec     string
		uid, gid int
		err      bool
	}{
		{spec: me + ":" + strconv.Itoa(os.Getgid()), uid: os.Getuid(), gid: os.Getgid()},
		{spec: me, uid: os.Getuid(), gid: -1},
		{spec: "root:root", uid: 0, gid: 0},
		{spec: "no-such-user-gowsgi", err: true},
		{spec: "root:no-such-group-gowsgi", err: true},
	} {
		uid, gid, err := resolveOwner(tc.spec)
		if (err != nil) != tc.err || (!tc.err && (uid != tc.uid || gid != tc.gid)) {
			t.Errorf("%s: %d %d %v", tc.spec, uid, gid, err)
		}
	}
	// Giving a socket to its own owner needs no privilege.
	p := filepath.Join(t.TempDir(), "s.sock")
	os.WriteFile(p, nil, 0o600)
	id := identity{chown: []socketOwner{{path: p, uid: os.Getuid(), gid: os.Getgid()}}}
	if err := id.chownSockets(); err != nil {
		t.Fatal(err)
	}
}

func TestStrftimeOf(t *testing.T) {
	for in, want := range map[string]string{"": "", "true": "%a %b %e %H:%M:%S %Y", "1": "%a %b %e %H:%M:%S %Y", "%Y": "%Y"} {
		if got := strftimeOf(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}
