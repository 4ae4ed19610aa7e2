package config

// This file is what Load tells the user: warnings about keys it read
// without using, and errors that point at a file and line.

import (
	"errors"
	"fmt"
	"strconv"
)

// WarningKind says why a Warning was raised.
type WarningKind uint8

const (
	// UnknownKey: neither gowsgi nor uWSGI knows the key (most often a
	// typo, which uWSGI ignores silently). With Strict it is an error.
	UnknownKey WarningKind = iota + 1
	// NoEffect: a uWSGI key that gowsgi accepts but ignores.
	NoEffect
	// Unresolved: a %(key) or $(VAR) placeholder with nothing to expand
	// to.
	Unresolved
	// ReadAs: a value uWSGI reads only in part ("4 # one per core" is 4),
	// which gowsgi reads the same way.
	ReadAs
)

// A Warning is something in an ini file that gowsgi read but did not use.
// Its String is one line for the log:
//
//	uwsgi.ini:5: unknown key "process" (uWSGI ignores it silently); did you mean "processes"?
//	uwsgi.ini:2: plugins: accepted but has no effect in gowsgi: gowsgi runs CPython itself; no plugin is needed
//	uwsgi.ini:7: chdir: %(base) names no key in [uwsgi]; it is left as written
type Warning struct {
	Kind WarningKind
	// File is the ini file as the caller named it; Line counts from 1 (0
	// when the line could not be found). Env is set instead for a UWSGI_*
	// environment variable.
	File string
	Line int
	Env  string
	// Key is the key as written in the file.
	Key string
	// Suggestion is, for UnknownKey, the nearest known key, or "".
	Suggestion string
	// Detail is, for NoEffect, what the option does in uWSGI and what
	// gowsgi does instead; for Unresolved, what could not be expanded and
	// what was done; for ReadAs, what uWSGI reads; for UnknownKey, why
	// uWSGI ignores it when that is not the usual reason.
	Detail string
}

func (w Warning) String() string {
	at := w.where()
	switch w.Kind {
	case UnknownKey:
		why := w.Detail
		if why == "" {
			why = "uWSGI does not know it either and ignores it silently"
		}
		s := fmt.Sprintf("%s: unknown key %q (%s)", at, w.Key, why)
		if w.Suggestion != "" {
			s += fmt.Sprintf("; did you mean %q?", w.Suggestion)
		}
		return s
	case NoEffect:
		return fmt.Sprintf("%s: %s: a uWSGI option gowsgi does not apply: %s", at, w.Key, w.Detail)
	case ReadAs:
		return fmt.Sprintf("%s: %s = %s", at, w.Key, w.Detail)
	default:
		return fmt.Sprintf("%s: %s: %s", at, w.Key, w.Detail)
	}
}

// where is "file:line", or "$UWSGI_X" for an environment variable.
func (w Warning) where() string {
	if w.Env != "" {
		return "$" + w.Env
	}
	return location(w.File, w.Line)
}

// location writes "file:line", or "file" when the line is unknown.
func location(file string, line int) string {
	if line > 0 {
		return file + ":" + strconv.Itoa(line)
	}
	return file
}

// A ValueError is a value gowsgi cannot use, with where it was written:
//
//	uwsgi.ini:4: processes = "two": not a whole number
//	--processes "two": not a whole number
//
// Err is the cause alone.
type ValueError struct {
	// File and Line locate an ini value; Flag is set instead for a
	// command-line value ("--processes").
	File string
	Line int
	Flag string
	// Env is set instead for a UWSGI_* environment variable.
	Env string
	// Key is the key as written (an alias stays an alias).
	Key   string
	Value string
	Err   error
}

func (e *ValueError) Error() string {
	if e.Flag != "" {
		return fmt.Sprintf("%s %q: %v", e.Flag, e.Value, e.Err)
	}
	if e.Env != "" {
		return fmt.Sprintf("$%s %q: %v", e.Env, e.Value, e.Err)
	}
	return fmt.Sprintf("%s: %s = %q: %v", location(e.File, e.Line), e.Key, e.Value, e.Err)
}

func (e *ValueError) Unwrap() error { return e.Err }

// suggest returns the nearest key to name, or "" (see suggestKey).
func suggest(name string) string { return suggestKey(name) }

// editDistance is the optimal string alignment distance between a and b:
// the insertions, deletions, substitutions and swaps of adjacent bytes
// that turn one into the other ("evn" is one swap from "env").
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// joinErrors is errors.Join, except that one error comes back as itself,
// so callers can still type-assert it.
func joinErrors(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}
