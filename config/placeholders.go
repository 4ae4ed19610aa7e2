package config

// This file expands placeholders the way uWSGI 2.0 does, in its order:
//
//  1. while a file is read, every %X of its text is replaced from the magic
//     table (magicSub): %d, %n, %k... ; an X uWSGI has no variable for
//     becomes nothing, %% is %, and %( is kept for step 4;
//  2. after every file: $(VAR) from the environment (left as written when
//     VAR is unset);
//  3. then @(FILE), the file's contents;
//  4. then %(key), the first value of another key, or uWSGI's arithmetic.
//
// Steps 2-4 are uwsgi_apply_config_pass: one scan per option, and after
// each substitution the scan starts again from the value's second byte
// (uWSGI resets its index to 0 and then increments it), so a value that
// expands to a placeholder is expanded again unless it starts the value.

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// uwsgiVersion is what %V expands to: files test it against uWSGI's.
const uwsgiVersion = "2.0.31"

// maxExpansions bounds the substitutions in one value: uWSGI loops forever
// on "a = %(a)x"; gowsgi stops and says so.
const maxExpansions = 1000

// maxValueLen bounds what a value may expand to.
const maxValueLen = 1 << 20

// staticMagic returns the magic variables that do not depend on the file.
func staticMagic(hostname string, cpus int) map[byte]string {
	if hostname == "" {
		hostname, _ = os.Hostname()
	}
	if cpus <= 0 {
		cpus = runtime.NumCPU()
	}
	cwd, _ := os.Getwd()
	now := time.Now()
	m := map[byte]string{
		'h': hostname,
		'k': strconv.Itoa(cpus),
		'v': cwd,
		't': strconv.FormatInt(now.Unix(), 10),
		'T': strconv.FormatInt(now.UnixMicro(), 10),
		'V': uwsgiVersion,
		'[': "\033",
		'u': strconv.Itoa(os.Getuid()),
		'g': strconv.Itoa(os.Getgid()),
		'%': "%",
		'(': "%(",
	}
	m['U'], m['G'] = m['u'], m['g']
	if u, err := user.LookupId(m['u']); err == nil {
		m['U'] = u.Username
	}
	if g, err := user.LookupGroupId(m['g']); err == nil {
		m['G'] = g.Name
	}
	if exe, err := os.Executable(); err == nil {
		m['b'] = exe
	}
	return m
}

// fileMagic returns the magic table for one file (uWSGI's
// config_magic_table_fill): the static variables, the file's, and the
// first file's in upper case. spec is the name as given, with its
// :section.
func (l *loader) fileMagic(file, section, spec string) map[byte]string {
	m := map[byte]string{}
	for k, v := range l.statics {
		m[k] = v
	}
	abs := file
	if st, err := os.Lstat(file); err == nil && st.Mode()&os.ModeSymlink != 0 {
		if !filepath.IsAbs(file) {
			abs = filepath.Join(m['v'], file) // uWSGI keeps a symlink's own name
		}
	} else if real, err := filepath.EvalSymlinks(file); err == nil {
		if a, err := filepath.Abs(real); err == nil {
			abs = a
		}
	} else if a, err := filepath.Abs(file); err == nil {
		abs = a
	}
	dir, base := filepath.Split(abs)
	m['o'] = spec
	m['p'] = abs
	m['s'] = base
	m['d'] = dir // with its trailing slash, as uWSGI writes it
	m['c'] = filepath.Base(strings.TrimSuffix(dir, "/"))
	m['n'] = base
	m['e'] = ""
	if i := strings.LastIndexByte(base, '.'); i >= 0 {
		m['e'] = base[i+1:]
		m['n'] = base[:i]
	}
	for i := byte('0'); i <= '9'; i++ {
		m[i] = ""
	}
	parts := strings.FieldsFunc(dir, func(r rune) bool { return r == '/' })
	for i, p := range parts {
		if i > 9 {
			break
		}
		m[byte('0'+i)] = p
	}
	m['j'] = djb33xHex(abs)
	if st, err := os.Lstat(abs); err == nil {
		if sys, ok := statIno(st); ok {
			m['i'] = strconv.FormatUint(sys, 10)
		}
	}
	m['x'] = ""
	if spec != file {
		m['x'] = section
	}
	if l.upper == nil {
		l.upper = map[byte]string{}
		for _, c := range "odspcenxij" {
			l.upper[byte(c)-'a'+'A'] = m[byte(c)]
		}
	}
	for k, v := range l.upper {
		m[k] = v
	}
	return m
}

// djb33xHex is %j: uWSGI's djb33x hash of the path, as the hex of its four
// bytes in memory order (little-endian).
func djb33xHex(s string) string {
	h := uint32(5381)
	for i := 0; i < len(s); i++ {
		h = ((h << 5) + h) ^ uint32(int32(int8(s[i])))
	}
	return fmt.Sprintf("%02x%02x%02x%02x", byte(h), byte(h>>8), byte(h>>16), byte(h>>24))
}

// magicSub replaces every %X of text from the table, as uWSGI's magic_sub:
// an X with no variable becomes "" (so "%Y" disappears and a line ending
// in % joins the next one).
func magicSub(text string, m map[byte]string) string {
	if !strings.Contains(text, "%") {
		return text
	}
	var b strings.Builder
	for i := 0; i < len(text); i++ {
		if text[i] == '%' && i+1 < len(text) {
			b.WriteString(m[text[i+1]])
			i++
			continue
		}
		b.WriteByte(text[i])
	}
	return b.String()
}

// expandPasses runs steps 2-4 over every option that is not immediate.
func (l *loader) expandPasses() {
	passes := []struct {
		symbol byte
		hook   func(o *option, name string) (string, bool)
	}{
		{'$', func(o *option, name string) (string, bool) { return l.getenv(name) }},
		{'@', l.readAt},
		{'%', l.placeholder},
	}
	for _, p := range passes {
		for i := range l.opts {
			o := &l.opts[i]
			if o.immediate {
				continue
			}
			n := configPass(&o.value, p.symbol, func(name string) (string, bool) { return p.hook(o, name) })
			if n >= maxExpansions {
				l.warnings = append(l.warnings, Warning{Kind: Unresolved, File: o.src.File, Line: o.src.Line, Key: o.key,
					Detail: fmt.Sprintf("%c(...) placeholders expand to themselves without end (uWSGI loops forever here); gowsgi stopped after %d", p.symbol, n)})
			}
		}
	}
	// What is left as written is worth a word: a $(VAR) whose variable is
	// unset, a %(key) that names no key.
	for i := range l.opts {
		o := &l.opts[i]
		if o.immediate {
			continue
		}
		for _, name := range unresolved(o.value, '$') {
			l.warnings = append(l.warnings, Warning{Kind: Unresolved, File: o.src.File, Line: o.src.Line, Key: o.key,
				Detail: fmt.Sprintf("$(%s): the environment variable %s is not set; the text stays as written, as in uWSGI", name, name)})
		}
		for _, name := range unresolved(o.value, '%') {
			if logFormatKeys[o.key] && name != "_" {
				continue // a request-log variable
			}
			detail := fmt.Sprintf("%%(%s) names no key; it stays as written, as in uWSGI", name)
			if _, ok := l.firstValue(name); ok {
				detail = fmt.Sprintf("%%(%s) expands to another placeholder, which uWSGI leaves as written here", name)
			}
			l.warnings = append(l.warnings, Warning{Kind: Unresolved, File: o.src.File, Line: o.src.Line, Key: o.key, Detail: detail})
		}
	}
}

// logFormatKeys hold uWSGI's request-log variables, %(method) and the
// like, which look like placeholders and are read when a request is
// logged.
var logFormatKeys = map[string]bool{"log-format": true, "logformat": true, "log-req-encoder": true, "log-encoder": true}

// unresolved lists the NAME of every SYMBOL(NAME) left in v.
func unresolved(v string, symbol byte) []string {
	var out []string
	for {
		i := strings.Index(v, string(symbol)+"(")
		if i < 0 {
			return out
		}
		end := strings.IndexByte(v[i+2:], ')')
		if end < 0 {
			return out
		}
		out = append(out, v[i+2:i+2+end])
		v = v[i+2+end:]
	}
}

// readAt is @(FILE): its contents, less one trailing newline.
func (l *loader) readAt(o *option, name string) (string, bool) {
	data, err := os.ReadFile(name)
	if err != nil {
		l.errs = append(l.errs, fmt.Errorf("%s: %s: @(%s): %w (uWSGI stops here too)", o.src, o.key, name, err))
		return "", false
	}
	s := string(data)
	if n := len(s); n > 0 && (s[n-1] == '\n' || s[n-1] == '\r') {
		s = s[:n-1]
	}
	return s, true
}

// placeholder is uWSGI's uwsgi_manage_placeholder: %(key) is the first
// value of key; with spaces, %(a b + 1) is a pipeline of values (numbers
// or keys) joined by concatenation or + - * / on whole numbers, ++ and --
// adding and taking one.
func (l *loader) placeholder(o *option, name string) (string, bool) {
	if !strings.Contains(name, " ") {
		return l.firstValue(name)
	}
	const (
		concat = iota
		add
		sub
		mul
		div
	)
	state := concat
	current, have := "", false
	for _, tok := range strings.Split(name, " ") {
		if tok == "" {
			continue
		}
		var value string
		switch {
		case isDigits(tok):
			value = tok
		case tok == "+":
			state = add
			continue
		case tok == "-":
			state = sub
			continue
		case tok == "*":
			state = mul
			continue
		case tok == "/":
			state = div
			continue
		case tok == "++" || tok == "--":
			if have {
				n, _ := atoi(current)
				if tok == "++" {
					n++
				} else {
					n--
				}
				current = strconv.FormatInt(n, 10)
			}
			state = concat
			continue
		default:
			value, _ = l.firstValue(tok)
		}
		a, _ := atoi(current)
		b, _ := atoi(value)
		switch state {
		case concat:
			current += value
		case add:
			current = strconv.FormatInt(a+b, 10)
		case sub:
			current = strconv.FormatInt(a-b, 10)
		case mul:
			current = strconv.FormatInt(a*b, 10)
		case div:
			if b == 0 {
				current = "0"
			} else {
				current = strconv.FormatInt(a/b, 10)
			}
		}
		have = true
		state = concat
	}
	return current, have
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// configPass is one of uWSGI's uwsgi_apply_config_pass over one value: it
// finds SYMBOL(NAME) (parentheses may nest in NAME), replaces it with
// hook(NAME) when that has a value, and rescans. *p is updated at each
// substitution, as uWSGI updates the option in place, so a hook reading
// this very option sees the new text. It returns how many substitutions
// were made.
func configPass(p *string, symbol byte, hook func(string) (string, bool)) int {
	n := 0
	v := *p
	has, depth, keyStart := 0, 0, 0
	for j := 0; j < len(v); j++ {
		c := v[j]
		switch {
		case c == symbol:
			has = 1
		case c == '(' && has == 1:
			has, depth, keyStart = 2, 0, j+1
		case has > 1:
			switch c {
			case '(':
				has++
				depth++
			case ')':
				if depth > 0 {
					has++
					depth--
					continue
				}
				if has <= 2 {
					has = 0
					continue
				}
				key := v[keyStart : keyStart+has-2]
				val, ok := hook(key)
				has = 0
				if !ok {
					continue
				}
				v = v[:keyStart-2] + val + v[keyStart+len(key)+1:]
				*p = v
				n++
				// References that double at each step ("a = %(b)%(b)",
				// "b = %(c)%(c)"...) would fill memory long before 1000.
				if n >= maxExpansions || len(v) > maxValueLen {
					return maxExpansions
				}
				j = 0 // and the loop's j++ makes it 1, as in uWSGI
			default:
				has++
			}
		default:
			has = 0
		}
	}
	return n
}

// statIno is the inode number of st, for %i.
func statIno(st os.FileInfo) (uint64, bool) {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return uint64(sys.Ino), true
}
