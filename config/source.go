package config

// This file says where a value came from, for messages and for
// "gowsgi serve --print-config-sources".

import (
	"strconv"
	"strings"
)

// A Source is where one value was given: an ini file's line, a UWSGI_*
// environment variable, or a command-line flag.
type Source struct {
	// File and Line locate an ini line (Line counts from 1).
	File string
	Line int
	// Env is the environment variable, such as UWSGI_PROCESSES.
	Env string
	// Flag is the command-line flag, such as --processes.
	Flag string
}

// String writes "uwsgi.ini:4", "$UWSGI_PROCESSES" or "--processes".
func (s Source) String() string {
	switch {
	case s.Flag != "":
		return s.Flag
	case s.Env != "":
		return "$" + s.Env
	}
	return location(s.File, s.Line)
}

// MarshalText writes String, so sources print as JSON strings.
func (s Source) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Applied says what gowsgi does with a key it read and does not apply.
type Applied uint8

const (
	// Ignored: a real uWSGI option gowsgi accepts without applying.
	Ignored Applied = iota + 1
	// Unknown: a key uWSGI does not know either (a typo, most often).
	Unknown
	// Placeholder: the user's own variable, read by %(key).
	Placeholder
)

func (a Applied) String() string {
	switch a {
	case Ignored:
		return "uWSGI option gowsgi does not apply"
	case Unknown:
		return "unknown to uWSGI and gowsgi"
	case Placeholder:
		return "placeholder"
	}
	return "applied"
}

// MarshalText writes String.
func (a Applied) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// NotApplied is one option gowsgi read and does not apply.
type NotApplied struct {
	Key    string  `json:"key"`
	Value  string  `json:"value"`
	Source Source  `json:"source"`
	What   Applied `json:"what"`
	// Detail is what the option does in uWSGI and, when it matters, what
	// changes for this deployment; for Unknown, the did-you-mean.
	Detail string `json:"detail,omitempty"`
}

// envKeyName is uWSGI's env_to_arg: UWSGI_HTTP_SOCKET is http-socket.
func envKeyName(name string) string {
	return strings.ReplaceAll(strings.ToLower(name), "_", "-")
}

// ReloadsEnv counts a master's restarts: uWSGI sets it to 0 when it
// starts and each reload's re-exec adds one; a start that finds it set is a
// reload (if-reload). It is not an option.
const ReloadsEnv = "UWSGI_RELOADS"

// Reloads is this start's count as uWSGI's uwsgi_setup makes it from its
// environment (read through lookup): 0 for a first start, one more than
// the value found for a reload. The ini sees the count in $(UWSGI_RELOADS), and the
// master sets it before it starts anything (a HUP's new master inherits it).
func Reloads(lookup func(string) (string, bool)) (n int, reload bool) {
	v, ok := lookup(ReloadsEnv)
	if !ok {
		return 0, false
	}
	found, _ := atoi(v)
	return int(found) + 1, true
}

// IsEnvOption reports whether the environment variable name is a uWSGI
// option (UWSGI_PROCESSES), not one of the UWSGI_* variables uWSGI sets for
// itself (UWSGI_RELOADS).
func IsEnvOption(name string) bool {
	rest, ok := strings.CutPrefix(name, "UWSGI_")
	return ok && rest != "" && !envSkip[rest]
}

// envSkip are UWSGI_* variables uWSGI sets for itself, not options.
var envSkip = map[string]bool{
	"RELOADS": true, "VASSALS_DIR": true, "EMPEROR_FD": true, "BROODLORD_NUM": true,
	"EMPEROR_FD_CONFIG": true, "EMPEROR_PROXY": true, "JAIL_PID": true, "ORIGINAL_PROC_NAME": true,
}

// readEnviron adds the UWSGI_* environment variables as options, first, as
// uWSGI's parse_sys_envs does: a file or flag given later wins.
func (l *loader) readEnviron() {
	for _, kv := range l.environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !IsEnvOption(name) {
			continue
		}
		l.add(envKeyName(strings.TrimPrefix(name, "UWSGI_")), value, Source{Env: name})
	}
}

// atoi reads a number as C's atoi and strtol do: blanks, a sign, digits;
// it stops at the first other byte. It reports whether any digit was read.
func atoi(s string) (int64, bool) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || s[i] == '\v' || s[i] == '\f') {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	var n int64
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		if n < (1<<62)/10 {
			n = n*10 + int64(s[i]-'0')
		}
		i++
	}
	if neg {
		n = -n
	}
	return n, i > start
}

// numberPrefix is the part of s that atoi reads.
func numberPrefix(s string) string {
	n, ok := atoi(s)
	if !ok {
		return ""
	}
	return strconv.FormatInt(n, 10)
}

// uwsgiTrue reads a boolean as uWSGI's uwsgi_opt_true: true unless the
// value is false, off, no (any case) or 0.
func uwsgiTrue(v string) bool {
	switch strings.ToLower(v) {
	case "false", "off", "no", "0":
		return false
	}
	return true
}
