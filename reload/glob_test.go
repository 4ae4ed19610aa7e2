package reload

import (
	"path"
	"strings"
	"testing"
)

var globTests = []struct {
	pattern, rel string
	want         bool
}{
	{"*.py", "a.py", true},
	{"*.py", "x/y/a.py", true},
	{"*.py", "a.pyc", false},
	{"docs", "docs", true},
	{"docs", "a/docs", true},
	{"docs", "docs/x.py", false}, // the filter excludes what is under an excluded directory
	{"/media", "media", true},
	{"/media", "a/media", false},
	{"docs/build", "docs/build", true},
	{"docs/build", "x/docs/build", false},
	{"static/**", "static", true},
	{"static/**", "static/a/b.css", true},
	{"static/**", "x/static/a.css", false},
	{"**/tests/*.py", "tests/a.py", true},
	{"**/tests/*.py", "app/tests/a.py", true},
	{"**/tests/*.py", "app/tests/sub/a.py", false},
	{"a/**/b", "a/b", true},
	{"a/**/b", "a/x/y/b", true},
	{"a/**/b", "a/x/y/c", false},
	{"a/**/**/b", "a/b", true},
	{"**", "anything/at/all", true},
	{"**/", "dir/", true},
	{"a**b", "axxb", true},
	{"a**b", "a/b", false},
	{"a/*/c", "a/b/c", true},
	{"a/*/c", "a/b/d/c", false},
	{"data/", "data/", true},
	{"data/", "data", false},
	{"data/", "x/data/", true},
	{"?.py", "a.py", true},
	{"[ab].py", "c.py", false},
	{`\*.py`, "*.py", true},
	{`\*.py`, "a.py", false},
	{"a//b", "a/b", true},
	{"./a", "a", true},
}

func TestMatch(t *testing.T) {
	for _, tc := range globTests {
		t.Run(tc.pattern+" "+tc.rel, func(t *testing.T) {
			got, err := Match(tc.pattern, tc.rel)
			if err != nil {
				t.Fatalf("Match(%q, %q): %v", tc.pattern, tc.rel, err)
			}
			if got != tc.want {
				t.Errorf("Match(%q, %q) = %v, want %v", tc.pattern, tc.rel, got, tc.want)
			}
		})
	}
}

func TestMatchBadPattern(t *testing.T) {
	for _, pattern := range []string{"", "/", ".", "[", "a/[b", `a\`} {
		t.Run(pattern, func(t *testing.T) {
			if _, err := Match(pattern, "a"); err == nil {
				t.Errorf("Match(%q): no error", pattern)
			}
		})
	}
}

// refMatch is the obvious backtracking matcher, to check matchSegments
// against.
func refMatch(pat, name []string) bool {
	if len(pat) == 0 {
		return len(name) == 0
	}
	if pat[0] == "**" {
		for i := 0; i <= len(name); i++ {
			if refMatch(pat[1:], name[i:]) {
				return true
			}
		}
		return false
	}
	if len(name) == 0 {
		return false
	}
	ok, _ := path.Match(pat[0], name[0])
	return ok && refMatch(pat[1:], name[1:])
}

func FuzzMatch(f *testing.F) {
	for _, tc := range globTests {
		f.Add(tc.pattern, tc.rel)
	}
	f.Add("**/**/**/**/**/**/**/**/x", strings.Repeat("a/", 60)+"b")
	f.Fuzz(func(t *testing.T, pattern, name string) {
		if _, err := Match(pattern, name); err != nil {
			return
		}
		g, _ := compileGlob(pattern)
		got := g.match(name, true) // as a directory, so a trailing-slash pattern applies too
		if strings.Count(pattern, "**") <= 6 {
			if want := refMatch(g.segs, splitPath(name)); got != want {
				t.Errorf("Match(%q, %q) = %v, backtracking matcher says %v", pattern, name, got, want)
			}
		}
		if ok, err := Match("**", name); err != nil || !ok {
			t.Errorf(`Match("**", %q) = %v, %v; want true`, name, ok, err)
		}
		// A pattern without a slash matches at any depth.
		if !strings.Contains(pattern, "/") && len(splitPath(name)) > 0 {
			if deeper := g.match("z/"+name, true); deeper != got {
				t.Errorf("Match(%q, %q) = %v but Match(%q, %q) = %v", pattern, name, got, pattern, "z/"+name, deeper)
			}
		}
	})
}
