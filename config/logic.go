package config

// This file is uWSGI's configuration logic (core/config.c): the options
// that act while a file is read. A for or if-* key opens a block; every
// line after it, up to endif / endfor / end, is given to the block, which
// adds it zero or more times with %(_) replaced (by the loop item, or by
// the value tested). Blocks do not nest in uWSGI: a second one inside the
// first stops it ("recursive logic in options is not supported"), and so
// it does here.

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// logicBlock is the open block: uWSGI's logic_opt and logic_opt_arg.
type logicBlock struct {
	key string
	arg string
	src Source
	run func(l *loader, arg, key, value string, src Source)
}

// endKeys close a block.
var endKeys = map[string]bool{"end": true, "endfor": true, "endif": true, "end-if": true, "end-for": true}

// logicKeys are the keys that open a block, by what they run for each line.
// (Filled in init: the functions call add, which reads the map.)
var logicKeys map[string]func(l *loader, arg, key, value string, src Source)

func init() {
	logicKeys = map[string]func(l *loader, arg, key, value string, src Source){
		"for":                   logicFor,
		"for-glob":              logicForGlob,
		"for-times":             logicForTimes,
		"for-readline":          logicForReadline,
		"if-opt":                func(l *loader, arg, k, v string, s Source) { l.ifOpt(arg, k, v, s, false) },
		"if-not-opt":            func(l *loader, arg, k, v string, s Source) { l.ifOpt(arg, k, v, s, true) },
		"if-env":                func(l *loader, arg, k, v string, s Source) { l.ifEnv(arg, k, v, s, false) },
		"ifenv":                 func(l *loader, arg, k, v string, s Source) { l.ifEnv(arg, k, v, s, false) },
		"if-not-env":            func(l *loader, arg, k, v string, s Source) { l.ifEnv(arg, k, v, s, true) },
		"if-reload":             func(l *loader, arg, k, v string, s Source) { l.ifReload(k, v, s, false) },
		"if-not-reload":         func(l *loader, arg, k, v string, s Source) { l.ifReload(k, v, s, true) },
		"if-hostname":           func(l *loader, arg, k, v string, s Source) { l.ifTest(arg == l.statics['h'], arg, k, v, s) },
		"if-not-hostname":       func(l *loader, arg, k, v string, s Source) { l.ifTest(arg != l.statics['h'], arg, k, v, s) },
		"if-exists":             func(l *loader, arg, k, v string, s Source) { l.ifTest(exists(arg), arg, k, v, s) },
		"ifexists":              func(l *loader, arg, k, v string, s Source) { l.ifTest(exists(arg), arg, k, v, s) },
		"if-not-exists":         func(l *loader, arg, k, v string, s Source) { l.ifTest(!exists(arg), arg, k, v, s) },
		"if-file":               func(l *loader, arg, k, v string, s Source) { l.ifTest(isFile(arg), arg, k, v, s) },
		"if-not-file":           func(l *loader, arg, k, v string, s Source) { l.ifTest(!isFile(arg), arg, k, v, s) },
		"if-dir":                func(l *loader, arg, k, v string, s Source) { l.ifTest(isDir(arg), arg, k, v, s) },
		"ifdir":                 func(l *loader, arg, k, v string, s Source) { l.ifTest(isDir(arg), arg, k, v, s) },
		"if-directory":          func(l *loader, arg, k, v string, s Source) { l.ifTest(isDir(arg), arg, k, v, s) },
		"if-not-dir":            func(l *loader, arg, k, v string, s Source) { l.ifTest(!isDir(arg), arg, k, v, s) },
		"if-plugin":             func(l *loader, arg, k, v string, s Source) { l.ifTest(builtinPlugin(arg), arg, k, v, s) },
		"ifplugin":              func(l *loader, arg, k, v string, s Source) { l.ifTest(builtinPlugin(arg), arg, k, v, s) },
		"if-not-plugin":         func(l *loader, arg, k, v string, s Source) { l.ifTest(!builtinPlugin(arg), arg, k, v, s) },
		"if-hostname-match":     nil, // regexps: refused below
		"if-not-hostname-match": nil,
	}
}

// add is uWSGI's add_exported_option: a line read from a file (or an
// environment variable) goes to the open block, if any, or becomes an
// option; an option that acts at once acts.
func (l *loader) add(key, value string, src Source) {
	if !l.runningLogic {
		if endKeys[key] {
			l.logic = nil
		}
		if b := l.logic; b != nil {
			l.runningLogic = true
			b.run(l, b.arg, key, value, src)
			l.runningLogic = false
			return
		}
	}
	o := option{key: key, value: value, raw: value, src: src, immediate: immediateKeys[key] || logicKeys[key] != nil || endKeys[key]}
	l.opts = append(l.opts, o)
	l.act(o)
}

// act runs an option that works while the file is read.
func (l *loader) act(o option) {
	if run, ok := logicKeys[o.key]; ok {
		switch {
		case l.logic != nil:
			l.errs = append(l.errs, fmt.Errorf("%s: %s = %s: a block inside the %s block of %s: uWSGI does not nest them (it stops: \"recursive logic in options is not supported\"); close the first with endif/endfor", o.src, o.key, o.value, l.logic.key, l.logic.src))
		case run == nil:
			l.errs = append(l.errs, fmt.Errorf("%s: %s: matching the hostname with a regular expression needs a uWSGI built with PCRE, and gowsgi does not do it: use if-hostname", o.src, o.key))
		default:
			l.logic = &logicBlock{key: o.key, arg: o.value, src: o.src, run: run}
		}
		return
	}
	switch o.key {
	case "ini", "include":
		l.readInclude(o.src, o.key, o.value)
	case "inherit":
		l.inherits = append(l.inherits, o)
	case "strict":
		l.strict = uwsgiTrue(o.value)
	case "set", "set-placeholder", "set-ph":
		k, v, ok := strings.Cut(o.value, "=")
		if !ok {
			l.errs = append(l.errs, fmt.Errorf("%s: %s = %s: not NAME=VALUE (uWSGI stops: \"invalid placeholder/--set value\")", o.src, o.key, o.value))
			return
		}
		if o.key == "set" {
			l.add(k, v, o.src)
			return
		}
		if isUwsgiOption(k) {
			l.errs = append(l.errs, fmt.Errorf("%s: %s = %s: %s is a uWSGI option, which uWSGI refuses as a placeholder name", o.src, o.key, o.value, k))
			return
		}
		l.opts = append(l.opts, option{key: k, value: v, raw: v, src: o.src, placeholder: true})
	case "ienv":
		if k, v, ok := strings.Cut(o.value, "="); ok {
			l.setEnv[k] = v
		}
	case "xml", "yaml", "yml", "json", "js", "config", "xmlconfig":
		l.errs = append(l.errs, fmt.Errorf("%s: %s = %s: gowsgi reads only ini files; write that file's options as ini lines", o.src, o.key, o.value))
	}
}

// firstValue is uWSGI's uwsgi_get_exported_opt: the first value collected
// for key, as written so far.
func (l *loader) firstValue(key string) (string, bool) {
	for _, o := range l.opts {
		if o.key == key {
			return o.value, true
		}
	}
	return "", false
}

// ifTest adds the line when ok, with %(_) the value tested.
func (l *loader) ifTest(ok bool, arg, key, value string, src Source) {
	if ok {
		l.add(key, strings.ReplaceAll(value, "%(_)", arg), src)
	}
}

// ifReload is if-reload / if-not-reload: whether this start is a restart.
// uWSGI knows by UWSGI_RELOADS, which it sets at start and a reload's
// re-exec finds (Reloads); gowsgi's master sets it too when it starts, and
// the new process a HUP or touch-reload starts inherits it. As in uWSGI,
// the block's lines are added as they are (no %(_)).
func (l *loader) ifReload(key, value string, src Source, negate bool) {
	if l.reload != negate {
		l.add(key, value, src)
	}
}

// ifEnv is if-env / if-not-env: "VAR" tests that VAR is set (even empty),
// "VAR=VALUE" that it is set to VALUE; %(_) is the variable's value.
func (l *loader) ifEnv(arg, key, value string, src Source, negate bool) {
	name, want, hasWant := strings.Cut(arg, "=")
	got, set := l.getenv(name)
	l.ifValue(set, got, want, hasWant, negate, key, value, src)
}

// ifOpt is if-opt / if-not-opt, on the options collected so far.
func (l *loader) ifOpt(arg, key, value string, src Source, negate bool) {
	name, want, hasWant := strings.Cut(arg, "=")
	got, set := l.firstValue(name)
	l.ifValue(set, got, want, hasWant, negate, key, value, src)
}

func (l *loader) ifValue(set bool, got, want string, hasWant, negate bool, key, value string, src Source) {
	ok := set && (!hasWant || got == want)
	if negate {
		ok = !ok
	}
	if !ok {
		return
	}
	if set {
		value = strings.ReplaceAll(value, "%(_)", got)
	}
	l.add(key, value, src)
}

// logicFor adds the line once per space-separated item.
func logicFor(l *loader, arg, key, value string, src Source) {
	for _, item := range strings.Split(arg, " ") {
		if item != "" {
			l.add(key, strings.ReplaceAll(value, "%(_)", item), src)
		}
	}
}

// logicForGlob adds the line once per path matching the pattern, sorted,
// directories with a trailing slash; a pattern matching nothing is itself
// the one item (glob's GLOB_MARK | GLOB_NOCHECK).
func logicForGlob(l *loader, arg, key, value string, src Source) {
	matches, err := filepath.Glob(arg)
	if err != nil || len(matches) == 0 {
		matches = []string{arg}
	}
	for _, m := range matches {
		if isDir(m) && !strings.HasSuffix(m, "/") {
			m += "/"
		}
		l.add(key, strings.ReplaceAll(value, "%(_)", m), src)
	}
}

// logicForTimes adds the line for 1, 2 ... N.
func logicForTimes(l *loader, arg, key, value string, src Source) {
	n, _ := atoi(arg)
	for i := int64(1); i <= n && i <= 100000; i++ {
		l.add(key, strings.ReplaceAll(value, "%(_)", strconv.FormatInt(i, 10)), src)
	}
}

// logicForReadline adds the line once per line of the file.
func logicForReadline(l *loader, arg, key, value string, src Source) {
	data, err := os.ReadFile(arg)
	if err != nil {
		l.warnings = append(l.warnings, Warning{Kind: NoEffect, File: src.File, Line: src.Line, Key: key,
			Detail: fmt.Sprintf("for-readline: %v; the block adds nothing (as in uWSGI)", err)})
		return
	}
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if line == "" {
			continue
		}
		l.add(key, strings.ReplaceAll(value, "%(_)", strings.TrimRight(line, "\r\n")), src)
	}
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }
func isFile(p string) bool { st, err := os.Stat(p); return err == nil && st.Mode().IsRegular() }
func isDir(p string) bool  { st, err := os.Stat(p); return err == nil && st.IsDir() }

// builtinPlugin reports whether uWSGI's PyPI build has the plugin built in,
// which gowsgi stands for.
func builtinPlugin(name string) bool { return name == "python" || name == "gevent" }
