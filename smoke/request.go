package smoke

// This file reads the requests a check makes: --get PATH[=STATUS],
// --post PATH=FILE[=STATUS] and --expect-body PATH=TEXT.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// SpecError is a --get, --post or --expect-body that cannot be read; Hint
// shows the form that works.
type SpecError struct{ Msg, Hint string }

func (e *SpecError) Error() string { return e.Msg }

// Request is one --get or --post.
type Request struct {
	Method, Path string
	Body         []byte
	ContentType  string
	Want         Want
	Expect       []string // --expect-body texts
}

// Name is "GET /items/".
func (r *Request) Name() string { return r.Method + " " + r.Path }

// Want is the status a request must get: an exact code, a class
// (2 for 2xx), or, when both are zero, anything below 500.
type Want struct{ code, class int }

// OK reports whether status is what the request wants.
func (w Want) OK(status int) bool {
	switch {
	case w.code != 0:
		return status == w.code
	case w.class != 0:
		return status/100 == w.class
	}
	return status < 500
}

func (w Want) String() string {
	switch {
	case w.code != 0:
		return fmt.Sprint(w.code)
	case w.class != 0:
		return fmt.Sprintf("%dxx", w.class)
	}
	return "< 500"
}

var statusRE = regexp.MustCompile(`^[1-5](?:[0-9][0-9]|xx)$`)

// splitStatus takes a trailing =STATUS off a spec. Only a status-shaped
// suffix counts, so `/slow/?s=5` is a path; `/page/?n=200` must be written
// `/page/?n=200=2xx` (or with its own expected status).
func splitStatus(spec string) (string, Want) {
	i := strings.LastIndexByte(spec, '=')
	if i <= 0 || !statusRE.MatchString(spec[i+1:]) {
		return spec, Want{}
	}
	s := spec[i+1:]
	if strings.HasSuffix(s, "xx") {
		return spec[:i], Want{class: int(s[0] - '0')}
	}
	var code int
	fmt.Sscanf(s, "%d", &code)
	return spec[:i], Want{code: code}
}

// postTypes are the Content-Types of --post bodies by the file's
// extension; any other file is a urlencoded form (name=x&lang=go), what a
// web form posts. A fixed table, not the system's mime.types, so a check
// sends the same request on every machine.
var postTypes = map[string]string{
	".json": "application/json",
	".xml":  "application/xml",
	".txt":  "text/plain; charset=utf-8",
	".html": "text/html; charset=utf-8",
}

// ParseRequests reads --get, --post and --expect-body. With neither
// --get nor --post the plan is GET / expecting a status below 500.
func ParseRequests(gets, posts, expects []string) ([]*Request, error) {
	var reqs []*Request
	for _, g := range gets {
		path, want := splitStatus(g)
		if !strings.HasPrefix(path, "/") {
			return nil, &SpecError{Msg: fmt.Sprintf("--get %s: the path must start with /", g), Hint: "--get /items/ or --get /items/=200"}
		}
		reqs = append(reqs, &Request{Method: "GET", Path: path, Want: want})
	}
	for _, p := range posts {
		rest, want := splitStatus(p)
		i := strings.LastIndexByte(rest, '=')
		if i <= 0 || i == len(rest)-1 || !strings.HasPrefix(rest, "/") {
			return nil, &SpecError{Msg: fmt.Sprintf("--post %s: want PATH=FILE[=STATUS]", p), Hint: "--post /form/=testdata/form.txt or --post /api/items/=item.json=201"}
		}
		path, file := rest[:i], rest[i+1:]
		body, err := os.ReadFile(file)
		if err != nil {
			return nil, &SpecError{Msg: fmt.Sprintf("--post %s: %v", p, err), Hint: "FILE is read from the directory gowsgi check runs in."}
		}
		ctype, ok := postTypes[strings.ToLower(filepath.Ext(file))]
		if !ok {
			ctype = "application/x-www-form-urlencoded"
		}
		reqs = append(reqs, &Request{Method: "POST", Path: path, Body: body, ContentType: ctype, Want: want})
	}
	if len(reqs) == 0 {
		reqs = []*Request{{Method: "GET", Path: "/"}}
	}
	for _, e := range expects {
		// The longest request path followed by "=" names the requests: both
		// paths and texts may hold "=".
		best := ""
		for _, r := range reqs {
			if strings.HasPrefix(e, r.Path+"=") && len(r.Path) > len(best) {
				best = r.Path
			}
		}
		if best == "" {
			return nil, &SpecError{Msg: fmt.Sprintf("--expect-body %s: no --get or --post of that path", e), Hint: "write --expect-body PATH=TEXT with the PATH of a --get or --post exactly as given."}
		}
		for _, r := range reqs {
			if r.Path == best {
				r.Expect = append(r.Expect, e[len(best)+1:])
			}
		}
	}
	return reqs, nil
}
