package config

// This file turns the collected options into a Config: each key of the
// key table is read the way uWSGI's option parser for it reads the value
// (the number at the start of "1000 ; restart"), and every other key is
// reported as a real uWSGI option gowsgi does not apply, or as a key uWSGI
// does not know either.

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// finish runs the placeholder passes and inherit =, then applies every
// option to Default.
func (l *loader) finish(strictOpt bool) (Loaded, error) {
	l.expandPasses()
	// inherit = files are read last, as uWSGI reads them when it applies
	// options: after the placeholder passes, so theirs stay as written.
	for len(l.inherits) > 0 {
		o := l.inherits[0]
		l.inherits = l.inherits[1:]
		l.readInclude(o.src, o.key, o.value)
	}
	referenced := l.referencedKeys()
	res := Loaded{Config: Default(), Sources: map[string][]Source{}}
	cfg := &res.Config
	for _, o := range l.opts {
		if o.placeholder {
			res.NotApplied = append(res.NotApplied, NotApplied{Key: o.key, Value: o.value, Source: o.src, What: Placeholder})
			continue
		}
		// uWSGI's one-letter names (p, s, M...) are command-line
		// shortcuts only: in a file, "p = 4" is not processes.
		if k := keyIndex[o.key]; k != nil && len(o.key) > 1 {
			if err := l.applyKey(cfg, k, o); err != nil {
				l.errs = append(l.errs, err)
				continue
			}
			res.Sources[k.name] = append(res.Sources[k.name], o.src)
			continue
		}
		switch {
		case readKey(o.key):
			// acted on while reading (ini, for, if-env...)
		case isUwsgiOption(o.key):
			detail := behaviourNote(o.key)
			if o.key == "gevent" || o.key == "async" {
				detail += fmt.Sprintf(" (%d x %d = %d here, where uWSGI would run %s per worker)", cfg.Processes, cfg.Threads, cfg.Processes*cfg.Threads, o.value)
			}
			res.NotApplied = append(res.NotApplied, NotApplied{Key: o.key, Value: o.value, Source: o.src, What: Ignored, Detail: detail})
			l.warnings = append(l.warnings, Warning{Kind: NoEffect, File: o.src.File, Line: o.src.Line, Env: o.src.Env, Key: o.key, Detail: detail})
		case referenced[o.key]:
			res.NotApplied = append(res.NotApplied, NotApplied{Key: o.key, Value: o.value, Source: o.src, What: Placeholder})
		default:
			s, why := suggestKey(o.key), ""
			if long := shortcutOf(o.key); long != "" {
				s = long
				why = fmt.Sprintf("uWSGI's -%s works on its command line only: in a file uWSGI ignores it silently", o.key)
			}
			na := NotApplied{Key: o.key, Value: o.value, Source: o.src, What: Unknown}
			if s != "" {
				na.Detail = fmt.Sprintf("did you mean %q?", s)
			}
			res.NotApplied = append(res.NotApplied, na)
			l.warnings = append(l.warnings, Warning{Kind: UnknownKey, File: o.src.File, Line: o.src.Line, Env: o.src.Env, Key: o.key, Suggestion: s, Detail: why})
		}
	}
	if strictOpt || l.strict || cfg.Strict {
		l.errs = append(l.errs, strictErrors(l.warnings)...)
		kept := l.warnings[:0]
		for _, w := range l.warnings {
			if w.Kind != UnknownKey {
				kept = append(kept, w)
			}
		}
		l.warnings = kept
	}
	l.crossChecks(cfg)
	sort.SliceStable(l.warnings, func(i, j int) bool {
		a, b := l.warnings[i], l.warnings[j]
		if a.File != b.File {
			return false // keep the order the files were read in
		}
		return a.Line < b.Line
	})
	res.Warnings = l.warnings
	if err := joinErrors(l.errs); err != nil {
		return Loaded{Config: Default(), Warnings: l.warnings}, err
	}
	cfg.normalize()
	return res, nil
}

// shortcutOf is the option whose command-line letter name is, or "".
func shortcutOf(name string) string {
	if len(name) != 1 {
		return ""
	}
	// Several options share a letter (-p is processes and workers): the
	// key table's own name wins, then the first in order.
	best := ""
	for _, n := range suggestionNames {
		o, ok := uwsgiOptions[n]
		if !ok || o.short != name {
			continue
		}
		if k := keyIndex[n]; k != nil && k.name == n {
			return n
		}
		if best == "" {
			best = n
		}
	}
	return best
}

// referencedKeys are the keys some %(key) or if-opt named: the user's own
// variables ("base = /srv/mysite") are not typos.
func (l *loader) referencedKeys() map[string]bool {
	out := map[string]bool{}
	for _, o := range l.opts {
		for _, s := range []string{o.raw, o.value} {
			for rest := s; ; {
				i := strings.Index(rest, "%(")
				if i < 0 {
					break
				}
				end := strings.IndexByte(rest[i:], ')')
				if end < 0 {
					break
				}
				for _, tok := range strings.Fields(rest[i+2 : i+end]) {
					out[tok] = true
				}
				rest = rest[i+end:]
			}
		}
		if logicKeys[o.key] != nil && strings.HasSuffix(o.key, "-opt") {
			name, _, _ := strings.Cut(o.value, "=")
			out[name] = true
		}
	}
	return out
}

// strictErrors are the unknown-key warnings as strict mode's errors.
func strictErrors(ws []Warning) []error {
	var errs []error
	for _, w := range ws {
		if w.Kind != UnknownKey {
			continue
		}
		msg := fmt.Sprintf("%s: unknown key %q (strict mode is on; uWSGI's strict mode stops on it too)", w.where(), w.Key)
		if w.Suggestion != "" {
			msg += fmt.Sprintf("; did you mean %q?", w.Suggestion)
		}
		errs = append(errs, errors.New(msg))
	}
	return errs
}

// applyKey reads one option of the key table as uWSGI would and sets it.
func (l *loader) applyKey(cfg *Config, k *key, o option) error {
	v, note := uwsgiReads(k, o.value)
	if v == "0" && note != "" {
		// "processes = $(UNSET)" is 0 to uWSGI's atoi: for processes no
		// worker at all (uWSGI's "no-workers" mode, which answers
		// nothing). gowsgi runs one, and says so.
		switch k.name {
		case "threads":
			v, note = "1", note+"; gowsgi runs 1 thread"
		case "processes":
			v, note = "1", note+"; uWSGI would start no worker at all (its no-workers mode); gowsgi runs 1"
		}
	}
	if err := k.set(cfg, v); err != nil {
		if note != "" {
			err = fmt.Errorf("%w (%s)", err, note) // what uWSGI makes of it
		}
		ve := &ValueError{File: o.src.File, Line: o.src.Line, Env: o.src.Env, Key: o.key, Value: o.value, Err: err}
		if o.value != o.raw {
			ve.Err = fmt.Errorf("expands to %q: %w", o.value, err)
		}
		return ve
	}
	if note != "" {
		l.warnings = append(l.warnings, Warning{Kind: ReadAs, File: o.src.File, Line: o.src.Line, Env: o.src.Env, Key: o.key,
			Detail: fmt.Sprintf("%q: %s", o.value, note)})
	}
	return nil
}

// uwsgiReads returns the value as uWSGI's parser for the key reads it, and
// a note when that is not the whole value: uWSGI has no end-of-line
// comments, so "processes = 4 # one per core" is read by atoi as 4, and
// "master = false # for now" is true.
func uwsgiReads(k *key, v string) (string, string) {
	const comment = "uWSGI ini files have no end-of-line comments: the rest is part of the value; put the comment on a line of its own"
	switch k.kind {
	case kindInt, kindSize, kindSeconds:
		if _, err := strconv.ParseInt(v, 10, 64); err == nil {
			return v, ""
		}
		if k.kind == kindSeconds {
			if _, err := parseSeconds(v); err == nil {
				return v, "" // a Go duration such as 1m30s
			}
		}
		if n := numberPrefix(v); n != "" {
			return n, fmt.Sprintf("uWSGI reads %s (the number at the start); %s", n, comment)
		}
		return "0", "uWSGI reads 0: its parser (atoi) finds no number at the start"
	case kindBool:
		if _, err := parseBool(v); err == nil {
			return v, ""
		}
		b := strconv.FormatBool(uwsgiTrue(v))
		note := fmt.Sprintf("uWSGI reads it as %s (every value but false, off, no and 0 is true)", b)
		if hasLineComment(v) {
			note += "; " + comment
		}
		return b, note
	case kindAddrs, kindAddr:
		if _, err := ParseAddr(v); err == nil && !hasLineComment(v) {
			return v, ""
		}
		if f := strings.Fields(v); len(f) > 1 {
			if _, err := ParseAddr(f[0]); err == nil && strings.Contains(f[0], ":") {
				return f[0], fmt.Sprintf("uWSGI binds %s (it reads the port as a number and stops at the blank); %s", f[0], comment)
			}
		}
	case kindMode:
		if f := strings.Fields(v); len(f) > 1 {
			return f[0], fmt.Sprintf("uWSGI refuses it (\"invalid chmod value\"); gowsgi reads %s; %s", f[0], comment)
		}
	}
	if hasLineComment(v) {
		return v, "the text after # or ; is part of the value, as in uWSGI; " + comment
	}
	return v, ""
}

// crossChecks warns where two keys meet: daemonize hides logto, module wins
// over wsgi-file.
func (l *loader) crossChecks(cfg *Config) {
	last := func(k *key) option {
		var found option
		for _, o := range l.opts {
			if keyIndex[o.key] == k {
				found = o
			}
		}
		return found
	}
	if cfg.Daemonize != "" && cfg.Logto != "" {
		d, lt := last(keyIndex["daemonize"]), last(keyIndex["logto"])
		l.warnings = append(l.warnings, Warning{Kind: NoEffect, File: lt.src.File, Line: lt.src.Line, Env: lt.src.Env, Key: lt.key,
			Detail: fmt.Sprintf("%s = %s (%s) already names the log file; uWSGI ignores logto then too", d.key, d.value, d.src)})
	}
	if cfg.Module != "" && cfg.WSGIFile != "" {
		m, w := last(keyIndex["module"]), last(keyIndex["wsgi-file"])
		l.warnings = append(l.warnings, Warning{Kind: NoEffect, File: w.src.File, Line: w.src.Line, Env: w.src.Env, Key: w.key,
			Detail: fmt.Sprintf("module = %s (%s) is set too, and uWSGI serves the module: wsgi-file is not used", m.value, m.src)})
		cfg.WSGIFile = ""
	}
}

// normalize splits "module = pkg.mod:callable"; the module's callable wins
// over a callable key, as in uWSGI.
func (c *Config) normalize() {
	if mod, callable, ok := strings.Cut(c.Module, ":"); ok {
		c.Module, c.Callable = mod, callable
	}
}
