package config

// This file loads the table of every option of uWSGI 2.0 (uwsgi_options.tsv,
// 1,033 lines: 943 from `uwsgi --help` of 2.0.31, the PyPI build, and 90
// more that uWSGI 2.0's C source has with PCRE, OpenSSL or jails, marked
// "source"). It is data, not code: regenerate it with `make uwsgi-options`
// (gen_uwsgi_options.go).

import (
	_ "embed"
	"strings"
)

//go:embed uwsgi_options.tsv
var uwsgiOptionsTSV string

// uwsgiOptions is the table by option name.
var uwsgiOptions = func() map[string]uwsgiOption {
	m := make(map[string]uwsgiOption, 1100)
	for _, line := range strings.Split(strings.TrimRight(uwsgiOptionsTSV, "\n"), "\n") {
		f := strings.SplitN(line, "\t", 4)
		if len(f) != 4 {
			panic("config: uwsgi_options.tsv: a line without 4 fields: " + line)
		}
		m[f[0]] = uwsgiOption{short: f[1], sourceOnly: f[2] == "source", help: f[3]}
	}
	return m
}()
