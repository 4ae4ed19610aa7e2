package gateway

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestStaticExpires: static-expires = REGEXP SECONDS sets Expires and
// Cache-Control on the static files whose path matches, and on nothing
// else (searxng's "static-expires = /* 31557600" matches every file).
func TestStaticExpires(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "app.css"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "app.js"), []byte("x"), 0o644)
	st := &Static{URL: "/static/", Dirs: []StaticDir{{Root: dir}}, Expires: []ExpireRule{
		{Pattern: regexp.MustCompile(`\.css$`), Seconds: 86400}, {Pattern: regexp.MustCompile("/*"), Seconds: 60}}}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if st.Match(r.URL.Path) {
			st.Serve(w, r)
		}
	})
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
}
