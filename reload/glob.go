package reload

// This file implements the glob patterns of Options.Include and
// Options.Exclude: path.Match per path segment, plus "**" for any number of
// segments, and .gitignore's rule that a pattern without a slash names a
// file or directory at any depth.

import (
	"fmt"
	"path"
	"strings"
)

// glob is a compiled Include or Exclude pattern.
type glob struct {
	src     string   // the pattern as the user wrote it, for messages
	segs    []string // path.Match patterns, or "**"
	dirOnly bool     // written with a trailing slash: matches directories only
}

// compileGlob parses pattern (see Match for the syntax).
func compileGlob(pattern string) (glob, error) {
	g := glob{src: pattern}
	p := pattern
	if strings.HasSuffix(p, "/") {
		g.dirOnly = true
		p = strings.TrimRight(p, "/")
	}
	anchored := strings.Contains(p, "/")
	p = strings.TrimLeft(p, "/")
	for _, s := range strings.Split(p, "/") {
		if s == "" || s == "." {
			continue
		}
		if _, err := path.Match(s, ""); err != nil {
			return glob{}, fmt.Errorf("bad pattern %q: %w", pattern, err)
		}
		// "**" is only special as a whole segment; "a**b" means "a*b",
		// which is what path.Match makes of it anyway.
		g.segs = append(g.segs, s)
	}
	if len(g.segs) == 0 {
		return glob{}, fmt.Errorf("bad pattern %q: empty", pattern)
	}
	if !anchored {
		// Like .gitignore: "*.log" or "node_modules" matches at any depth.
		g.segs = append([]string{"**"}, g.segs...)
	}
	return g, nil
}

// match reports whether rel, a clean slash-separated path relative to the
// root, matches g. isDir says whether rel names a directory.
func (g glob) match(rel string, isDir bool) bool {
	if g.dirOnly && !isDir {
		return false
	}
	return matchSegments(g.segs, splitPath(rel))
}

// splitPath splits a slash-separated path into its non-empty segments.
func splitPath(p string) []string {
	segs := strings.Split(p, "/")
	out := segs[:0]
	for _, s := range segs {
		if s != "" && s != "." {
			out = append(out, s)
		}
	}
	return out
}

// matchSegments matches pattern segments against name segments. It is a
// dynamic programme over (pattern, name) suffixes rather than backtracking,
// so a pattern such as "**/a/**/a/**/a/**/b" against a deep path costs
// len(pat)*len(name) segment matches, where backtracking would try an
// exponential number of splits.
func matchSegments(pat, name []string) bool {
	// next[j] reports whether pat[i+1:] matches name[j:].
	next := make([]bool, len(name)+1)
	cur := make([]bool, len(name)+1)
	next[len(name)] = true
	for i := len(pat) - 1; i >= 0; i-- {
		for j := len(name); j >= 0; j-- {
			if pat[i] == "**" {
				// Zero segments, or one more and "**" again.
				cur[j] = next[j] || (j < len(name) && cur[j+1])
				continue
			}
			cur[j] = false
			if j < len(name) && next[j+1] {
				ok, _ := path.Match(pat[i], name[j])
				cur[j] = ok
			}
		}
		next, cur = cur, next
	}
	return next[0]
}

// Match reports whether rel, a slash-separated path relative to the project
// root, matches pattern, the syntax of Options.Include and Options.Exclude:
//
//   - Each segment between slashes is a path.Match pattern: "*" is any
//     run of characters except "/", "?" one character, "[a-z]" a class,
//     "\" escapes.
//   - A segment "**" matches zero or more whole segments: "static/**"
//     matches "static" and everything under it, "**/tests/*.py" matches
//     "tests/a.py" and "app/tests/a.py".
//   - A pattern without a slash matches the name at any depth, as in
//     .gitignore: "*.log" is "**/*.log", "build" is "**/build".
//   - A pattern with a slash is anchored at the root: "docs/build" matches
//     only that directory; a leading slash ("/media") anchors a single name.
//   - A trailing slash ("data/") matches directories only; rel names a
//     directory when it ends in a slash, as in Batch.Paths.
//
// Matching an excluded directory excludes everything under it (it is not
// watched at all). Match returns an error only for a malformed pattern.
func Match(pattern, rel string) (bool, error) {
	g, err := compileGlob(pattern)
	if err != nil {
		return false, err
	}
	return g.match(rel, strings.HasSuffix(rel, "/")), nil
}
