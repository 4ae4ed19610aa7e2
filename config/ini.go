package config

// This file reads uWSGI ini files: gopkg.in/ini.v1 parses them, a line
// scanner of our own finds where each key was written (ini.v1 keeps no
// line numbers), placeholders are expanded, and each key goes through the
// key table.

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"unicode"

	"gopkg.in/ini.v1"
)

// DefaultSection is the section Load reads when the path names none, as
// in uWSGI.
const DefaultSection = "uwsgi"

// LoadOptions changes how LoadWith reads a file.
type LoadOptions struct {
	// Strict makes unknown keys an error, as "strict = true" in the file
	// does (set it from --strict, which is read after the file).
	Strict bool
	// LookupEnv expands $(VAR) placeholders; nil is os.LookupEnv.
	LookupEnv func(string) (string, bool)
}

// Load reads a uWSGI ini file into a Config with LoadWith's defaults.
func Load(path string) (Config, []Warning, error) {
	return LoadWith(path, LoadOptions{})
}

// LoadWith reads a uWSGI ini file into a Config: Default, then every key
// of one section in file order (for a key written twice, the last value
// wins, and a repeatable key such as socket or env keeps every value).
//
// path is FILE or FILE:SECTION; the section defaults to [uwsgi]. As in
// uWSGI, lines whose first non-blank character is # or ; are comments (a
// # later in a line is part of the value), a key written without a value
// ("master" or "master =") is true, and values may hold placeholders:
//
//	%d  the absolute directory of the file, with a trailing slash
//	%p  the absolute path of the file
//	%s  the file name; %n the file name without its extension
//	%c  the name of the file's directory
//	%o  the path as the caller gave it
//	%(key)  the (first) value of another key of the section, which may
//	        be a key of the user's own, such as "base = /srv/mysite"
//	$(VAR)  the environment variable VAR
//
// Unlike uWSGI, a value wholly in quotes ("/srv/my site") loses them.
//
// Keys gowsgi does not use are reported as Warnings; bad values, and keys
// that would change how the rest of the file reads (ini, for, if-env...),
// are errors naming the file and line. The Config is not validated: call
// Validate once flags have been applied.
func LoadWith(path string, o LoadOptions) (Config, []Warning, error) {
	file, section := splitSpec(path)
	data, err := os.ReadFile(file)
	if err != nil {
		return Config{}, nil, fmt.Errorf("reading the ini file: %w", err)
	}
	return loadINI(file, section, data, o)
}

// splitSpec splits FILE:SECTION. A path that exists as written is a file
// even with a ":" in its name.
func splitSpec(spec string) (file, section string) {
	if _, err := os.Stat(spec); err == nil {
		return spec, DefaultSection
	}
	i := strings.LastIndexByte(spec, ':')
	if i < 0 || strings.ContainsRune(spec[i+1:], '/') {
		return spec, DefaultSection
	}
	if spec[i+1:] == "" {
		return spec[:i], DefaultSection
	}
	return spec[:i], spec[i+1:]
}

// iniOptions make ini.v1 read files the way uWSGI does.
var iniOptions = ini.LoadOptions{
	AllowShadows:               true, // socket, env, static-map... repeat
	AllowDuplicateShadowValues: true, // and a repeat may be identical
	AllowBooleanKeys:           true, // a bare "master" line
	IgnoreInlineComment:        true, // uWSGI has none: "#" in a value is data
	IgnoreContinuation:         true, // nor "\" continuations
	KeyValueDelimiters:         "=",  // nor "key: value"
}

// loadINI is LoadWith on the file's bytes; file names the file in
// messages and placeholders.
func loadINI(file, section string, data []byte, o LoadOptions) (Config, []Warning, error) {
	lines, err := scanINI(file, data)
	if err != nil {
		return Config{}, nil, err
	}
	f, err := parseINI(data)
	if err != nil {
		return Config{}, nil, fmt.Errorf("parsing %s: %w", file, err)
	}
	sec, err := f.GetSection(section)
	if err != nil {
		if len(lines) == 0 && section == DefaultSection {
			// An empty (or all-comment) file: nothing to read. Validate
			// will say what is missing.
			return Default(), nil, nil
		}
		return Config{}, nil, missingSection(file, section, f, lines)
	}

	var occurrences = map[string][]rawLine{}
	for _, l := range lines {
		if l.section == section {
			occurrences[l.key] = append(occurrences[l.key], l)
		}
	}
	entries := collect(sec, occurrences)

	r := &reader{file: file, section: section, entries: entries, lookupEnv: o.LookupEnv}
	if r.lookupEnv == nil {
		r.lookupEnv = os.LookupEnv
	}
	r.magic = magicTable(file)
	r.expandAll()
	cfg, errs := r.apply()
	if o.Strict || cfg.Strict {
		errs = append(errs, r.strict()...)
	}
	// Expansion warns before apply does; the reader wants file order.
	sort.SliceStable(r.warnings, func(i, j int) bool { return r.warnings[i].Line < r.warnings[j].Line })
	if err := joinErrors(errs); err != nil {
		return Config{}, r.warnings, err
	}
	cfg.normalize()
	return cfg, r.warnings, nil
}

// parseINI runs ini.v1, turning a panic on hostile input into an error:
// Load reads files it did not write.
func parseINI(data []byte) (f *ini.File, err error) {
	defer func() {
		if p := recover(); p != nil {
			f, err = nil, fmt.Errorf("the ini parser failed: %v", p)
		}
	}()
	return ini.LoadSources(iniOptions, data)
}

// missingSection explains which sections the file has instead.
func missingSection(file, section string, f *ini.File, lines []rawLine) error {
	var names []string
	hint, example := "", ""
	for _, s := range f.Sections() {
		if s.Name() == ini.DefaultSection {
			continue
		}
		names = append(names, "["+s.Name()+"]")
		if example == "" {
			example = s.Name()
		}
		if strings.EqualFold(s.Name(), section) {
			hint = fmt.Sprintf(" (section names are case-sensitive: [%s] is not [%s])", s.Name(), section)
		}
	}
	if len(names) == 0 {
		if len(lines) > 0 {
			return fmt.Errorf("%s: no [%s] section: the file's keys come before any section header; put [%s] on its first line", file, section, section)
		}
		return fmt.Errorf("%s: no [%s] section: the file has no sections", file, section)
	}
	return fmt.Errorf("%s: no [%s] section; the file has %s%s: name one as %s:%s", file, section, strings.Join(names, ", "), hint, file, example)
}

// rawLine is one key line as uWSGI reads it.
type rawLine struct {
	line    int
	section string
	key     string
	value   string
	bare    bool // no "=" at all: "master"
}

// scanINI finds every key line with its line number and section, reading
// the file as ini.v1 does, and reports the errors ini.v1 would report
// without a line number.
func scanINI(file string, data []byte) ([]rawLine, error) {
	s := string(data)
	switch {
	case strings.HasPrefix(s, "\xef\xbb\xbf"):
		s = s[3:]
	case strings.HasPrefix(s, "\xfe\xff"), strings.HasPrefix(s, "\xff\xfe"):
		s = s[2:]
	}
	var out []rawLine
	section := ini.DefaultSection
	bareAt := map[[2]string]int{} // where a key was first written bare
	seen := map[[2]string]bool{}
	for i, text := range strings.Split(s, "\n") {
		n := i + 1
		l := strings.TrimLeftFunc(text, unicode.IsSpace)
		if l == "" || l[0] == '#' || l[0] == ';' {
			continue
		}
		if l[0] == '[' {
			end := strings.LastIndexByte(l, ']')
			if end < 0 {
				return nil, fmt.Errorf("%s:%d: unclosed section header %q: end it with \"]\"", file, n, strings.TrimSpace(l))
			}
			if end == 1 {
				return nil, fmt.Errorf("%s:%d: empty section name \"[]\"", file, n)
			}
			section = l[1:end]
			continue
		}
		r := rawLine{line: n, section: section}
		k, v, ok := strings.Cut(l, "=")
		r.key, r.value, r.bare = strings.TrimSpace(k), strings.TrimSpace(v), !ok
		if r.key == "" {
			return nil, fmt.Errorf("%s:%d: no key name before \"=\"", file, n)
		}
		// ini.v1 cannot add a second value to a key first written bare.
		id := [2]string{section, r.key}
		if first, ok := bareAt[id]; ok {
			return nil, fmt.Errorf("%s:%d: %s is written again after the bare %q on line %d: keep one line (%s = true)", file, n, r.key, r.key, first, r.key)
		}
		if r.bare && !seen[id] {
			bareAt[id] = n
		}
		seen[id] = true
		out = append(out, r)
	}
	return out, nil
}

// entry is one key = value of the section, in file order.
type entry struct {
	key      string
	value    string // as written
	expanded string // after placeholders
	line     int    // 0 if not found
}

// collect lists the section's values in file order, with their lines.
// ini.v1's ValueWithShadows drops empty values ("master ="), so the
// scanner's lines are the guide when the two agree on the non-empty ones;
// when they do not (a quoted or multi-line value the scanner reads
// differently), ini.v1's values are kept and lines matched by position.
func collect(sec *ini.Section, occurrences map[string][]rawLine) []entry {
	var out []entry
	for _, k := range sec.Keys() {
		name := k.Name()
		vals := k.ValueWithShadows()
		occ := occurrences[name]
		nonEmpty := 0
		for _, o := range occ {
			if o.bare || !looksEmptyToINI(o.value) {
				nonEmpty++
			}
		}
		if len(occ) > 0 && nonEmpty == len(vals) {
			i := 0
			for _, o := range occ {
				e := entry{key: name, line: o.line}
				switch {
				case o.bare:
					i++ // ini.v1 holds "true"; the entry stays empty, which is true for a boolean
				case looksEmptyToINI(o.value):
					// not in vals: the entry stays empty
				default:
					e.value = vals[i]
					i++
				}
				out = append(out, e)
			}
			continue
		}
		if len(vals) == 0 {
			vals = []string{k.Value()}
		}
		for i, v := range vals {
			e := entry{key: name, value: v}
			if i < len(occ) {
				e.line = occ[i].line
			}
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return order(out[i]) < order(out[j]) })
	return out
}

// looksEmptyToINI reports whether ini.v1 reads the value as empty.
func looksEmptyToINI(v string) bool {
	return v == "" || v == `""` || v == "''" || v == "``"
}

// order sorts entries by line, unknown lines last.
func order(e entry) int {
	if e.line == 0 {
		return int(^uint(0) >> 1)
	}
	return e.line
}

// reader turns a section's entries into a Config.
type reader struct {
	file, section string
	entries       []entry
	magic         map[byte]string
	lookupEnv     func(string) (string, bool)

	first      map[string]int  // key -> index of its first entry
	referenced map[string]bool // keys named by a %(key)
	state      []uint8         // expansion: 0 to do, 1 under way, 2 done
	warnings   []Warning
}

func (r *reader) warn(e entry, kind WarningKind, detail string) {
	r.warnings = append(r.warnings, Warning{Kind: kind, File: r.file, Line: e.line, Key: e.key, Detail: detail})
}

// apply sets each entry through the key table, or reports it.
func (r *reader) apply() (Config, []error) {
	cfg := Default()
	var errs []error
	for _, e := range r.entries {
		if k := keyIndex[e.key]; k != nil {
			if err := k.set(&cfg, e.expanded); err != nil {
				ve := &ValueError{File: r.file, Line: e.line, Key: e.key, Value: e.value, Err: err}
				if e.expanded != e.value {
					ve.Err = fmt.Errorf("expands to %q: %w", e.expanded, err)
				}
				errs = append(errs, ve)
			}
			continue
		}
		if why, refuse, ok := foreignKey(e.key); ok {
			if refuse {
				errs = append(errs, fmt.Errorf("%s: %s: %s", location(r.file, e.line), e.key, why))
			} else {
				r.warn(e, NoEffect, why)
			}
			continue
		}
		if r.referenced[e.key] {
			continue // the user's own variable, for %(key)
		}
		r.warnings = append(r.warnings, Warning{Kind: UnknownKey, File: r.file, Line: e.line, Key: e.key, Suggestion: suggest(e.key)})
	}
	if cfg.Daemonize != "" && cfg.Logto != "" {
		r.shadowedLogto()
	}
	return cfg, errs
}

// shadowedLogto warns that logto is ignored: uWSGI's log setup takes
// daemonize's file when both are set.
func (r *reader) shadowedLogto() {
	var logto, daemonize entry
	for _, e := range r.entries {
		switch keyIndex[e.key] {
		case keyIndex["logto"]:
			logto = e
		case keyIndex["daemonize"]:
			daemonize = e
		}
	}
	where := ""
	if daemonize.line > 0 {
		where = fmt.Sprintf(" on line %d", daemonize.line)
	}
	r.warn(logto, NoEffect, fmt.Sprintf("%s = %s%s already names the log file; uWSGI ignores logto then too",
		daemonize.key, daemonize.expanded, where))
}

// strict turns unknown-key warnings into errors.
func (r *reader) strict() []error {
	var errs []error
	kept := r.warnings[:0]
	for _, w := range r.warnings {
		if w.Kind != UnknownKey {
			kept = append(kept, w)
			continue
		}
		msg := fmt.Sprintf("%s: unknown key %q (strict mode is on)", location(w.File, w.Line), w.Key)
		if w.Suggestion != "" {
			msg += fmt.Sprintf("; did you mean %q?", w.Suggestion)
		}
		errs = append(errs, errors.New(msg))
	}
	r.warnings = kept
	return errs
}

// normalize splits "module = pkg.mod:callable"; the module's callable wins
// over a callable key, as in uWSGI.
func (c *Config) normalize() {
	if mod, callable, ok := strings.Cut(c.Module, ":"); ok {
		c.Module, c.Callable = mod, callable
	}
}
