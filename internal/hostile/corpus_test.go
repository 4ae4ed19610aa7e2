package hostile

import (
	"strings"
	"testing"
)

func TestLoadTheCorpus(t *testing.T) {
	for _, tc := range []struct{ dir, ext string }{{"http", ".req"}, {"uwsgi", ".pkt"}} {
		cases, err := Load("../../testdata/hostile", tc.dir, tc.ext)
		if err != nil {
			t.Fatal(err)
		}
		if len(cases) < 20 {
			t.Errorf("%s: %d cases, want the whole corpus", tc.dir, len(cases))
		}
		for _, c := range cases {
			if len(c.Raw) == 0 || (len(c.Responses) == 0 && !c.Unanswered) {
				t.Errorf("%s/%s: no request or no expectation", tc.dir, c.Name)
			}
		}
	}
}

func TestExpectErrors(t *testing.T) {
	for expect, want := range map[string]string{
		"responses 400 x": `"responses 400 x"`,
		"app two":         `"app two"`,
		"log (":           `"log ("`,
		"frobnicate":      `unknown line "frobnicate"`,
	} {
		var c Case
		if err := c.parse(expect); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parse(%q) = %v, want an error with %s", expect, err, want)
		}
	}
	c := Case{BodyLength: -1}
	if err := c.parse("# comment\nresponses 200 400\napp 1\nclosed\nhalf-close\nbody-length 5\nlog ^x$\n"); err != nil {
		t.Fatal(err)
	}
	if len(c.Responses) != 2 || c.App != 1 || !c.Closed || !c.HalfClose || c.BodyLength != 5 || len(c.Logs) != 1 {
		t.Errorf("parsed %+v", c)
	}
}
