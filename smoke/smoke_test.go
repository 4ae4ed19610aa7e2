package smoke

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestParseRequests pins how --get, --post and --expect-body are read,
// "=" in paths and texts included.
func TestParseRequests(t *testing.T) {
	form := filepath.Join(t.TempDir(), "item.form")
	os.WriteFile(form, []byte("a=1"), 0o644)
	tests := []struct {
		name               string
		gets, posts, bodys []string
		want               []string // method path want ctype [expect...]
		err                string
	}{
		{name: "default is GET / below 500", want: []string{"GET / < 500 "}},
		{name: "exact status", gets: []string{"/items/=200"}, want: []string{"GET /items/ 200 "}},
		{name: "status class", gets: []string{"/old/=3xx"}, want: []string{"GET /old/ 3xx "}},
		{name: "a query value is not a status", gets: []string{"/slow/?s=5"}, want: []string{"GET /slow/?s=5 < 500 "}},
		{name: "a query value and a status", gets: []string{"/page/?n=200=2xx"}, want: []string{"GET /page/?n=200 2xx "}},
		{name: "post a form", posts: []string{"/form/=" + form + "=201"}, want: []string{"POST /form/ 201 application/x-www-form-urlencoded"}},
		{name: "expect-body by the longest path", gets: []string{"/a", "/a=b"}, bodys: []string{"/a=b=c", "/a=x"},
			want: []string{"GET /a < 500  x", "GET /a=b < 500  c"}},
		{name: "path without slash", gets: []string{"items/"}, err: "must start with /"},
		{name: "post without a file", posts: []string{"/form/"}, err: "want PATH=FILE"},
		{name: "post of a missing file", posts: []string{"/form/=/no/such/file"}, err: "no such file"},
		{name: "expect-body of no request", bodys: []string{"/nope=x"}, err: "no --get or --post of that path"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reqs, err := ParseRequests(tc.gets, tc.posts, tc.bodys)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range reqs {
				got = append(got, strings.Join(append([]string{r.Method, r.Path, r.Want.String(), r.ContentType}, r.Expect...), " "))
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestGithubEscape pins the workflow command escaping: a newline in a
// message must not end the annotation, a colon in a title must not end it.
func TestGithubEscape(t *testing.T) {
	if got := githubEscape("50% of GET /\nTraceback", false); got != "50%25 of GET /%0ATraceback" {
		t.Errorf("data: %q", got)
	}
	if got := githubEscape("a:b,c", true); got != "a%3Ab%2Cc" {
		t.Errorf("property: %q", got)
	}
}
