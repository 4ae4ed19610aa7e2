package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

func TestStaticNeverLeavesItsRoot(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "static")
	other := filepath.Join(base, "other")
	for _, d := range []string{filepath.Join(root, "css"), other} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Every file and link must exist: a 404 for a link never made would
	// prove nothing (issue 13, bug 6).
	for _, err := range []error{
		os.WriteFile(filepath.Join(root, "css", "site.css"), []byte("body{}"), 0o644),
		os.WriteFile(filepath.Join(other, "app.js"), []byte("js"), 0o644),
		os.WriteFile(filepath.Join(base, "secret.txt"), []byte("secret"), 0o644),
		os.Symlink(filepath.Join(base, "secret.txt"), filepath.Join(root, "link.txt")),
		os.Symlink(base, filepath.Join(root, "up")),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	s := &Static{URL: "/static/", Dirs: []StaticDir{{Root: root}, {Prefix: "js", Root: other}}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.Match(r.URL.Path) || !s.Serve(w, r) {
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	tests := []struct {
		name, raw string
		status    int
		body      string
	}{
		{"file", "/static/css/site.css", 200, "body{}"},
		{"prefix dir", "/static/js/app.js", 200, "js"},
		{"dotdot", "/static/../secret.txt", 404, ""},
		{"encoded dotdot", "/static/%2e%2e/secret.txt", 404, ""},
		{"encoded slash dotdot", "/static/css%2f..%2f..%2fsecret.txt", 404, ""},
		{"symlink out of the root", "/static/link.txt", 404, ""},
		{"symlinked dir out of the root", "/static/up/secret.txt", 404, ""},
		{"absolute", "/static//etc/passwd", 404, ""},
		{"NUL", "/static/css/site.css%00.txt", 404, ""},
		{"backslash", "/static/..%5csecret.txt", 404, ""},
		{"directory", "/static/css/", 404, ""},
		{"outside the mount", "/secret.txt", 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL, nil)
			req.URL.Opaque = tc.raw // send the path exactly as written
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("%s: status %d, want %d (body %q)", tc.raw, resp.StatusCode, tc.status, body)
			}
			if tc.body != "" && string(body) != tc.body {
				t.Fatalf("body %q, want %q", body, tc.body)
			}
		})
	}
}

func FuzzCleanRel(f *testing.F) {
	for _, s := range []string{"a/b.css", "../x", "a/../../b", "/abs", "a\x00b", "a//b", ".", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		rel, ok := cleanRel(p)
		if !ok {
			return
		}
		if !filepath.IsLocal(rel) {
			t.Fatalf("cleanRel(%q) = %q, which is not local", p, rel)
		}
	})
}
