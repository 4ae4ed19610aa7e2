package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
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

// TestStaticRevalidate pins issue 15: dev static files go out with
// Cache-Control: no-cache and a validator, a conditional request for an
// unchanged file gets 304, and a saved file (even in the same second) gets
// its new content.
func TestStaticRevalidate(t *testing.T) {
	root := t.TempDir()
	css := filepath.Join(root, "site.css")
	os.WriteFile(css, []byte("h1{color:red}"), 0o644)
	s := &Static{URL: "/static/", Dirs: []StaticDir{{Root: root}}, Revalidate: true}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.Match(r.URL.Path) || !s.Serve(w, r) {
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	get := func(t *testing.T, hdr map[string]string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"/static/site.css", nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	first, body := get(t, nil)
	etag, lm := first.Header.Get("ETag"), first.Header.Get("Last-Modified")
	if cc := first.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("Cache-Control %q, want no-cache", cc)
	}
	if etag == "" || lm == "" || body != "h1{color:red}" {
		t.Fatalf("ETag %q, Last-Modified %q, body %q", etag, lm, body)
	}
	tests := []struct {
		name   string
		hdr    map[string]string
		edit   string
		status int
		body   string
	}{
		{"If-None-Match unchanged", map[string]string{"If-None-Match": etag}, "", 304, ""},
		{"If-Modified-Since unchanged", map[string]string{"If-Modified-Since": lm}, "", 304, ""},
		{"If-None-Match after a save", map[string]string{"If-None-Match": etag, "If-Modified-Since": lm}, "h1{color:blue}", 200, "h1{color:blue}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.edit != "" {
				st, _ := os.Stat(css)
				os.WriteFile(css, []byte(tc.edit), 0o644)
				// Same second as before: only the ETag can tell.
				os.Chtimes(css, st.ModTime(), st.ModTime().Add(time.Millisecond))
			}
			resp, body := get(t, tc.hdr)
			if resp.StatusCode != tc.status || body != tc.body {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, tc.status, tc.body)
			}
		})
	}
}
