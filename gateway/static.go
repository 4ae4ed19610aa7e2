package gateway

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// StaticDir maps a URL prefix (relative to the mount's URL) to a directory.
// An empty Prefix matches every path.
type StaticDir struct {
	Prefix string
	Root   string
}

// Static serves files under URL from an ordered list of directories, the
// first that has the file winning (as Django's staticfiles finders do, and
// as uWSGI's repeated static-map does). Files are opened through os.Root, so
// no path, "..", encoded or not, and no symlink can leave a directory.
type Static struct {
	URL  string // e.g. "/static/"; always starts and ends with "/"
	Dirs []StaticDir
	// Revalidate makes browsers ask again on every use (Cache-Control:
	// no-cache) with the file's ETag and Last-Modified, answered 304 while
	// the file is unchanged. Dev mode sets it. Issue 15: without it
	// Chromium reused its cached copy of a saved CSS file after the live
	// reload, and the page showed the old style.
	Revalidate bool
	// Expires are uWSGI's static-expires rules: a file whose path matches
	// the first matching rule's pattern gets Expires and Cache-Control:
	// max-age for its seconds.
	Expires []ExpireRule
}

// ExpireRule is one static-expires = REGEXP SECONDS.
type ExpireRule struct {
	Pattern *regexp.Regexp // matched against the file's path
	Seconds int64
}

// Match reports whether the request path falls under s.URL.
func (s *Static) Match(p string) bool { return strings.HasPrefix(p, s.URL) }

// Serve answers r from the directories and reports whether it did; false
// means no directory has the file (the caller passes the request on, or
// answers 404).
func (s *Static) Serve(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	rel, ok := cleanRel(strings.TrimPrefix(r.URL.Path, s.URL))
	if !ok {
		return false
	}
	for _, d := range s.Dirs {
		sub := rel
		if d.Prefix != "" {
			p := strings.Trim(d.Prefix, "/") + "/"
			if !strings.HasPrefix(rel, p) {
				continue
			}
			sub = rel[len(p):]
		}
		if s.serveFrom(w, r, d.Root, sub) {
			return true
		}
	}
	return false
}

// cleanRel turns a URL path into a relative file path, refusing anything
// that is not plainly inside the root: NUL, backslashes, absolute paths and
// ".." segments (after percent-decoding, which net/http has already done).
func cleanRel(p string) (string, bool) {
	if p == "" || strings.ContainsAny(p, "\x00\\") || strings.HasPrefix(p, "/") {
		return "", false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." || seg == "." {
			return "", false
		}
	}
	c := path.Clean(p)
	if c == "." || !fs.ValidPath(c) {
		return "", false
	}
	return c, true
}

func (s *Static) serveFrom(w http.ResponseWriter, r *http.Request, root, rel string) bool {
	rt, err := os.OpenRoot(root)
	if err != nil {
		return false
	}
	defer rt.Close()
	f, err := rt.Open(rel)
	if err != nil {
		return false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() || !st.Mode().IsRegular() {
		return false
	}
	if s.Revalidate {
		// The modification time in nanoseconds and the size: two saves in
		// one second (Last-Modified's resolution) still differ.
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("ETag", `W/"`+strconv.FormatInt(st.Size(), 16)+"-"+strconv.FormatInt(st.ModTime().UnixNano(), 16)+`"`)
	}
	for _, e := range s.Expires {
		if e.Pattern.MatchString(filepath.Join(root, filepath.FromSlash(rel))) {
			w.Header().Set("Expires", time.Now().Add(time.Duration(e.Seconds)*time.Second).UTC().Format(http.TimeFormat))
			w.Header().Set("Cache-Control", "max-age="+strconv.FormatInt(e.Seconds, 10))
			break
		}
	}
	// ServeContent answers If-None-Match and If-Modified-Since with 304.
	http.ServeContent(w, r, st.Name(), st.ModTime(), f)
	return true
}

// ErrStaticRoot is returned by CheckDirs for a directory that cannot serve.
var ErrStaticRoot = errors.New("static directory not usable")

// CheckDirs verifies that every directory exists, so a typo in static-map
// is reported at start, not as 404s.
func (s *Static) CheckDirs() error {
	for _, d := range s.Dirs {
		st, err := os.Stat(d.Root)
		if err != nil {
			return errors.Join(ErrStaticRoot, err)
		}
		if !st.IsDir() {
			return errors.Join(ErrStaticRoot, errors.New(d.Root+" is not a directory"))
		}
	}
	return nil
}
