// Package hostile loads the hostile-request corpus of testdata/hostile:
// each request file and what its .expect file says gowsgi must do with it
// (the format is described in testdata/hostile/make_corpus.py). The
// gateway's tests run the corpus against the listeners alone, cmd/gowsgi's
// against real gowsgi processes with Python workers.
package hostile

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Case is one request file and its expectations.
type Case struct {
	Name       string
	Raw        []byte
	Responses  []int // statuses in order, before the connection closes
	Unanswered bool  // no response at all
	App        int   // requests that reach the app
	BodyLength int   // length of the last response's body; -1: not checked
	Closed     bool  // the server closes the connection
	HalfClose  bool  // the client half-closes after sending
	Logs       []*regexp.Regexp
}

// Load reads every *ext file of corpus/dir (corpus is testdata/hostile)
// with its .expect.
func Load(corpus, dir, ext string) ([]Case, error) {
	files, err := filepath.Glob(filepath.Join(corpus, dir, "*"+ext))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no corpus in %s (%v)", filepath.Join(corpus, dir), err)
	}
	var cases []Case
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		exp, err := os.ReadFile(strings.TrimSuffix(f, ext) + ".expect")
		if err != nil {
			return nil, fmt.Errorf("%s has no .expect: %w", f, err)
		}
		c := Case{Name: strings.TrimSuffix(filepath.Base(f), ext), Raw: raw, BodyLength: -1}
		if err := c.parse(string(exp)); err != nil {
			return nil, fmt.Errorf("%s.expect: %w", c.Name, err)
		}
		cases = append(cases, c)
	}
	return cases, nil
}

func (c *Case) parse(expect string) error {
	for _, line := range strings.Split(expect, "\n") {
		word, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
		var err error
		switch word {
		case "", "#":
		case "responses":
			for _, s := range strings.Fields(arg) {
				n, err := strconv.Atoi(s)
				if err != nil {
					return fmt.Errorf("%q: %w", line, err)
				}
				c.Responses = append(c.Responses, n)
			}
		case "unanswered":
			c.Unanswered = true
		case "app":
			c.App, err = strconv.Atoi(arg)
		case "body-length":
			c.BodyLength, err = strconv.Atoi(arg)
		case "closed":
			c.Closed = true
		case "half-close":
			c.HalfClose = true
		case "log":
			var re *regexp.Regexp
			if re, err = regexp.Compile(arg); err == nil {
				c.Logs = append(c.Logs, re)
			}
		default:
			return fmt.Errorf("unknown line %q", line)
		}
		if err != nil {
			return fmt.Errorf("%q: %w", line, err)
		}
	}
	return nil
}
