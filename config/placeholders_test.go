package config

import (
	"strings"
	"testing"
)

func TestPlaceholders(t *testing.T) {
	env := map[string]string{"HOME": "/home/me"}
	tests := []struct {
		name    string
		lines   string // the [uwsgi] section's lines; chdir is checked
		want    string
		warning string // the one warning's detail, if any
	}{
		{name: "dir has a trailing slash", lines: "chdir = %d", want: "/srv/app/"},
		{name: "dir then a name", lines: "chdir = %dsrc", want: "/srv/app/src"},
		{name: "name without extension", lines: "chdir = /run/%n", want: "/run/site"},
		{name: "file name", lines: "chdir = /run/%s", want: "/run/site.ini"},
		{name: "path", lines: "chdir = %p", want: "/srv/app/site.ini"},
		{name: "directory name", lines: "chdir = /var/%c", want: "/var/app"},
		{name: "as given", lines: "chdir = %o", want: "/srv/app/site.ini"},
		{name: "unknown magic is kept", lines: "chdir = /x/%k%", want: "/x/%k%"},
		{name: "reference", lines: "base = /srv\nchdir = %(base)/app", want: "/srv/app"},
		{name: "reference to a later key", lines: "chdir = %(base)/app\nbase = /srv", want: "/srv/app"},
		{name: "reference takes the first value", lines: "v = 1\nv = 2\nchdir = /%(v)", want: "/1"},
		{name: "reference expands the other key", lines: "base = %dsrc\nchdir = %(base)", want: "/srv/app/src"},
		{name: "reference to a real key", lines: "http = :8000\nchdir = /%(http)", want: "/:8000"},
		{name: "expanded text is not expanded again", lines: "chdir = $(PCT)", want: "%d"},
		{name: "unterminated reference", lines: "chdir = /%(base", want: "/%(base"},
		{name: "missing reference", lines: "chdir = %(base)/app", want: "%(base)/app",
			warning: "%(base) names no key in [uwsgi]; it is left as written"},
		{name: "cycle", lines: "x = %(y)\ny = %(x)\nchdir = %(x)", want: "%(x)",
			warning: "%(x) refers back to itself; it is left as written"},
		{name: "environment", lines: "chdir = $(HOME)/app", want: "/home/me/app"},
		{name: "unset environment", lines: "chdir = $(NOPE)/app", want: "/app",
			warning: "$(NOPE): the environment variable NOPE is not set; it expands to nothing"},
	}
	env["PCT"] = "%d"
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := LoadOptions{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
			c, warnings, err := loadINI("/srv/app/site.ini", DefaultSection, []byte("[uwsgi]\n"+tc.lines+"\n"), o)
			if err != nil {
				t.Fatal(err)
			}
			if c.Chdir != tc.want {
				t.Errorf("chdir = %q, want %q", c.Chdir, tc.want)
			}
			var details []string
			for _, w := range warnings {
				details = append(details, w.Detail)
			}
			if got := strings.Join(details, "\n"); got != tc.warning {
				t.Errorf("warnings:\n%s\nwant:\n%s", got, tc.warning)
			}
		})
	}
}
