package config

// This file expands the placeholders of ini values: uWSGI's magic
// variables (%d, %n...), references to other keys (%(key)) and
// environment variables ($(VAR)).

import (
	"fmt"
	"path/filepath"
	"strings"
)

// magicTable returns uWSGI's magic variables for the file.
func magicTable(file string) map[byte]string {
	abs, err := filepath.Abs(file)
	if err != nil {
		abs = file
	}
	dir := filepath.Dir(abs)
	base := filepath.Base(abs)
	slashDir := dir
	if !strings.HasSuffix(slashDir, "/") {
		slashDir += "/"
	}
	return map[byte]string{
		'd': slashDir,
		'p': abs,
		's': base,
		'n': strings.TrimSuffix(base, filepath.Ext(base)),
		'c': filepath.Base(dir),
		'o': file,
	}
}

// expandAll expands every entry's placeholders.
func (r *reader) expandAll() {
	r.first = map[string]int{}
	r.referenced = map[string]bool{}
	for i, e := range r.entries {
		if _, ok := r.first[e.key]; !ok {
			r.first[e.key] = i
		}
	}
	r.state = make([]uint8, len(r.entries))
	for i := range r.entries {
		r.expand(i)
	}
}

// expand expands entry i once, in one left-to-right pass: text that a
// placeholder expands to is not expanded again, except that %(key) brings
// the other key's own expanded value.
func (r *reader) expand(i int) string {
	e := &r.entries[i]
	switch r.state[i] {
	case 2:
		return e.expanded
	case 1:
		return "" // a cycle; the caller reports it
	}
	r.state[i] = 1
	v := e.value
	var b strings.Builder
	for j := 0; j < len(v); {
		c := v[j]
		if (c == '%' || c == '$') && j+1 < len(v) && v[j+1] == '(' {
			if end := strings.IndexByte(v[j+2:], ')'); end >= 0 {
				name := v[j+2 : j+2+end]
				whole := v[j : j+3+end]
				if c == '%' {
					b.WriteString(r.ref(*e, name, whole))
				} else {
					b.WriteString(r.env(*e, name, whole))
				}
				j += len(whole)
				continue
			}
		}
		if c == '%' && j+1 < len(v) {
			if m, ok := r.magic[v[j+1]]; ok {
				b.WriteString(m)
				j += 2
				continue
			}
		}
		b.WriteByte(c)
		j++
	}
	e.expanded = b.String()
	r.state[i] = 2
	return e.expanded
}

// ref expands %(name) in e.
func (r *reader) ref(e entry, name, whole string) string {
	i, ok := r.first[name]
	if !ok {
		r.warn(e, Unresolved, fmt.Sprintf("%s names no key in [%s]; it is left as written", whole, r.section))
		return whole
	}
	r.referenced[name] = true
	if r.state[i] == 1 {
		r.warn(e, Unresolved, fmt.Sprintf("%s refers back to itself; it is left as written", whole))
		return whole
	}
	return r.expand(i)
}

// env expands $(NAME) in e.
func (r *reader) env(e entry, name, whole string) string {
	v, ok := r.lookupEnv(name)
	if !ok {
		r.warn(e, Unresolved, fmt.Sprintf("%s: the environment variable %s is not set; it expands to nothing", whole, name))
	}
	return v
}
