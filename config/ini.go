package config

// This file reads uWSGI ini files the way uWSGI 2.0's core/ini.c does, into
// the ordered list of options uWSGI itself collects (its exported_opts):
// every line of the asked section is one key = value, in file order, with
// the file's magic variables (%d, %n...) already expanded, as uWSGI does
// when it reads the file. Keys that act while the file is read (ini,
// include, for, if-env, set...) act here too (logic.go); the $(VAR),
// @(file) and %(key) passes and the key table come after (placeholders.go,
// apply.go).

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/ini.v1"
)

// DefaultSection is the section Load reads when the path names none, as
// in uWSGI.
const DefaultSection = "uwsgi"

// maxIncludeDepth bounds ini = / include = chains: uWSGI recurses until it
// runs out of stack; a file that includes itself is a mistake to report.
const maxIncludeDepth = 32

// LoadOptions changes how LoadWith and LoadFiles read files.
type LoadOptions struct {
	// Strict makes keys unknown to uWSGI an error, as "strict = true" in
	// the file does (set it from --strict, which is read after the file).
	Strict bool
	// LookupEnv reads the environment for $(VAR) and if-env; nil is
	// os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Environ lists the environment's NAME=VALUE pairs, of which UWSGI_*
	// become options as in uWSGI (UWSGI_PROCESSES=4 is processes = 4);
	// nil is os.Environ(), an empty slice reads none.
	Environ []string
	// Hostname and CPUs are the magic variables %h and %k; empty and 0 are
	// the machine's own.
	Hostname string
	CPUs     int
}

// Load reads a uWSGI ini file into a Config with LoadWith's defaults.
func Load(path string) (Config, []Warning, error) {
	return LoadWith(path, LoadOptions{})
}

// LoadWith reads one uWSGI ini file (FILE or FILE:SECTION); see LoadFiles.
func LoadWith(path string, o LoadOptions) (Config, []Warning, error) {
	r, err := LoadFiles([]string{path}, o)
	return r.Config, r.Warnings, err
}

// Loaded is what LoadFiles read.
type Loaded struct {
	// Config is Default with every option applied; it is not validated.
	Config Config
	// Warnings are in the order of the options they concern.
	Warnings []Warning
	// Sources maps each key of the key table that was set to where its
	// values came from, in order (a key set once has one Source).
	Sources map[string][]Source
	// NotApplied lists every option gowsgi read and does not apply: real
	// uWSGI options it ignores, keys unknown to uWSGI too, and the user's
	// own placeholders. Each is also in Warnings, except placeholders.
	NotApplied []NotApplied
}

// LoadFiles reads the UWSGI_* environment variables, then every ini file of
// paths in order, as `uwsgi --ini A --ini B` does, into one Config: Default,
// then every option in the order uWSGI collects them (the environment
// first); for a key given several times the last value wins, and a
// repeatable key such as socket or env keeps every value.
//
// A path is FILE or FILE:SECTION (the section defaults to [uwsgi]). As in
// uWSGI, lines whose first non-blank character is # or ; are comments, and
// only those: a # or ; later in a line is part of the value, which gowsgi
// then reads as uWSGI's option parsers do (the number at the start of
// "1000 ; restart", with a warning). A key without a value ("master") is
// true; values are not unquoted. Placeholders:
//
//	%d %p %s %n %e %c %x %o %0-%9 %j %i  the file (directory with a trailing
//	        slash, path, name, name without extension...), as uWSGI's magic
//	        variables; upper-case %D %P... are the first file's
//	%h %k %u %U %g %G %v %t %T %V %%  hostname, CPUs, uid, user, gid, group,
//	        start directory, time, version, a literal %
//	$(VAR)   the environment variable VAR (left as written if unset)
//	@(FILE)  the contents of FILE
//	%(key)   the first value of another key, which may be the user's own
//	        ("base = /srv/mysite"); %(a b + 1) does uWSGI's arithmetic
//
// ini = and include = read another file in place, inherit = at the end;
// for, for-glob, for-times, for-readline, if-env, if-not-env, if-exists,
// if-not-exists, if-file, if-not-file, if-dir, if-not-dir, if-opt,
// if-not-opt, if-reload, if-not-reload, if-hostname, if-not-hostname and
// if-plugin blocks end at endif / endfor / end.
//
// Errors name the file and line. Keys gowsgi does not apply are Warnings;
// with Strict (or "strict = true") a key uWSGI does not know either is an
// error, as uWSGI's strict mode makes it.
func LoadFiles(paths []string, o LoadOptions) (Loaded, error) {
	_, r, err := loadAll(paths, o)
	return r, err
}

// loadAll is LoadFiles, also returning the loader with the options as
// uWSGI would hold them (for the corpus test's comparison with uwsgi --get).
func loadAll(paths []string, o LoadOptions) (*loader, Loaded, error) {
	l := newLoader(o)
	l.readEnviron()
	for _, p := range paths {
		if err := l.readTop(p); err != nil {
			return l, Loaded{Config: Default(), Warnings: l.warnings}, err
		}
	}
	r, err := l.finish(o.Strict)
	return l, r, err
}

// loader collects options as uWSGI's add_exported_option does.
type loader struct {
	opts         []option
	lookupEnv    func(string) (string, bool)
	environ      []string
	statics      map[byte]string // %h %k %u ... : the same for every file
	upper        map[byte]string // %D %P ... : the first file's
	lastFile     string          // for ini = :section
	depth        int
	logic        *logicBlock
	runningLogic bool
	strict       bool
	inherits     []option // inherit = files, read after everything else
	setEnv       map[string]string
	reload       bool // this start is a restart (if-reload)
	errs         []error
	warnings     []Warning
}

// option is one key = value, as uWSGI collects them.
type option struct {
	key   string
	value string // after every expansion
	raw   string // as written (after the file's magic variables)
	src   Source
	// immediate options act while the file is read (ini, for, if-env,
	// strict, listen...); uWSGI leaves their value unexpanded.
	immediate bool
	// placeholder: set-placeholder's, never an option.
	placeholder bool
}

func newLoader(o LoadOptions) *loader {
	l := &loader{lookupEnv: o.LookupEnv, environ: o.Environ, setEnv: map[string]string{}}
	if l.lookupEnv == nil {
		l.lookupEnv = os.LookupEnv
	}
	// The file is read as uWSGI reads it: after UWSGI_RELOADS is counted.
	reloads, reload := Reloads(l.lookupEnv)
	l.reload = reload
	env := l.lookupEnv
	l.lookupEnv = func(k string) (string, bool) {
		if k == ReloadsEnv {
			return strconv.Itoa(reloads), true
		}
		return env(k)
	}
	if l.environ == nil {
		l.environ = os.Environ()
	}
	l.statics = staticMagic(o.Hostname, o.CPUs)
	return l
}

// getenv is the environment as the file sees it: ienv = changes it for the
// lines after.
func (l *loader) getenv(name string) (string, bool) {
	if v, ok := l.setEnv[name]; ok {
		return v, true
	}
	return l.lookupEnv(name)
}

// readTop reads a file named by --ini (or LoadWith).
func (l *loader) readTop(spec string) error {
	// uwsgi --ini FILE is itself the option ini = FILE, first of the file's.
	l.opts = append(l.opts, option{key: "ini", value: spec, raw: spec, src: Source{Flag: "--ini"}, immediate: true})
	file, section := splitSpec(spec)
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("reading the ini file: %w", err)
	}
	found, err := l.readINI(file, section, data, spec)
	if err != nil {
		return err
	}
	if !found {
		return missingSection(file, section, data)
	}
	return nil
}

// readInclude reads a file named by ini =, include = or inherit = on line
// at. uWSGI opens it relative to the directory it runs in, and a missing
// section there is only a warning.
func (l *loader) readInclude(at Source, key, spec string) {
	if l.depth >= maxIncludeDepth {
		l.errs = append(l.errs, fmt.Errorf("%s: %s = %s: files include each other more than %d deep (a file that includes itself?)", at, key, spec, maxIncludeDepth))
		return
	}
	file, section := splitSpec(spec)
	if file == "" {
		file = l.lastFile // ini = :section reads another section of the same file
	}
	switch ext := strings.ToLower(filepath.Ext(file)); {
	case key == "ini", ext == ".ini", file == l.lastFile:
	case ext == ".xml" || ext == ".yaml" || ext == ".yml" || ext == ".json" || ext == ".js":
		l.errs = append(l.errs, fmt.Errorf("%s: %s = %s: gowsgi reads only ini files; write the %s file's options as ini lines", at, key, spec, ext))
		return
	default:
		l.errs = append(l.errs, fmt.Errorf("%s: %s = %s: uWSGI loads only .ini, .xml, .yaml and .json files this way (it would stop here)", at, key, spec))
		return
	}
	data, err := os.ReadFile(file)
	if err != nil {
		hint := "uWSGI would stop here too"
		if !filepath.IsAbs(file) {
			hint += "; a relative path is taken from the directory gowsgi starts in: write %d before it for the ini file's directory"
		}
		l.errs = append(l.errs, fmt.Errorf("%s: %s = %s: %w (%s)", at, key, spec, err, hint))
		return
	}
	l.depth++
	found, err := l.readINI(file, section, data, spec)
	l.depth--
	if err != nil {
		l.errs = append(l.errs, err)
		return
	}
	if !found {
		l.warnings = append(l.warnings, Warning{Kind: NoEffect, File: at.File, Line: at.Line, Key: key,
			Detail: fmt.Sprintf("%s has no [%s] section: nothing was read from it (uWSGI warns the same)", file, section)})
	}
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

// readINI adds the options of one section of data, as core/ini.c reads
// them: lines end at \n; blanks, tabs and \r are stripped at both ends of
// a line, of the key and of the value; "[name]" starts a section (its last
// character is dropped, whatever it is); a line starting with ; or # is a
// comment; anything else is key = value, or a bare key with the value "".
// It reports whether the section was found.
func (l *loader) readINI(file, section string, data []byte, spec string) (bool, error) {
	if len(data) > 0 && strings.ContainsRune(string(data[:min(len(data), 8000)]), 0) {
		return false, fmt.Errorf("%s: not a text file (it has NUL bytes)", file)
	}
	magic := l.fileMagic(file, section, spec)
	// A UTF-8 byte order mark (Windows editors write one) would hide the
	// first [section] from uWSGI; gowsgi reads past it.
	text := magicSub(strings.TrimPrefix(string(data), "\xef\xbb\xbf"), magic)
	l.lastFile = file
	found := false
	current := ""
	for i, line := range strings.Split(text, "\n") {
		key := strings.Trim(line, " \t\r")
		if key == "" {
			continue
		}
		switch key[0] {
		case '[':
			current = ""
			if len(key) > 1 {
				current = key[1 : len(key)-1]
			}
			continue
		case ';', '#':
			continue
		}
		if current != section {
			continue
		}
		found = true
		k, v, _ := strings.Cut(key, "=")
		k, v = strings.Trim(k, " \t\r"), strings.Trim(v, " \t\r")
		l.add(k, v, Source{File: file, Line: i + 1})
	}
	return found, nil
}

// missingSection explains which sections the file has instead. The
// file's outline (its sections, and keys before any section header) is
// read by gopkg.in/ini.v1, which parses ini structure well. The values
// never come from it: uWSGI evaluates each line in file order as it reads
// it (if-env blocks, for loops, %(key) of the keys read so far, a key
// written twice), which a parser that returns a section as a map of keys
// cannot give; readINI reads them line by line, as core/ini.c does.
func missingSection(file, section string, data []byte) error {
	f, err := ini.LoadSources(ini.LoadOptions{
		AllowShadows: true, AllowBooleanKeys: true, IgnoreInlineComment: true,
		SkipUnrecognizableLines: true, AllowNonUniqueSections: true, KeyValueDelimiters: "=",
	}, data)
	if err != nil {
		return fmt.Errorf("%s: reading its sections: %w", file, err)
	}
	var names []string
	hint, example := "", ""
	seen := map[string]bool{}
	for _, s := range f.Sections() {
		name := s.Name()
		if name == ini.DefaultSection || seen[name] {
			continue
		}
		seen[name] = true
		names = append(names, "["+name+"]")
		if example == "" {
			example = name
		}
		if strings.EqualFold(name, section) {
			hint = fmt.Sprintf(" (section names are case-sensitive: [%s] is not [%s])", name, section)
		}
	}
	keysBefore := len(f.Section(ini.DefaultSection).Keys()) > 0
	switch {
	case len(names) == 0 && keysBefore:
		return fmt.Errorf("%s: no [%s] section: the file's keys come before any section header, where uWSGI reads none; put [%s] on its first line", file, section, section)
	case len(names) == 0:
		return nil // an empty or all-comment file: nothing to read
	}
	return fmt.Errorf("%s: no [%s] section; the file has %s%s: name one as %s:%s", file, section, strings.Join(names, ", "), hint, file, example)
}
