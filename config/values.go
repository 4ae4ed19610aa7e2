package config

// This file reads the value syntax of each kind of key. Each function
// returns the cause alone ("not a whole number"); the caller says which
// file, line or flag the value came from.

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// parseNumber reads a whole number for kindInt and kindSize keys.
func parseNumber(v string, k kind, min, max int64) (int64, error) {
	what := "a whole number"
	if k == kindSize {
		what = "a whole number of bytes"
	}
	if v == "" || strings.HasPrefix(v, "+") {
		return 0, fmt.Errorf("not %s", what)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if errors.Is(err, strconv.ErrRange) {
		return 0, errors.New("too large")
	}
	if err != nil {
		return 0, fmt.Errorf("not %s", what)
	}
	return n, checkBounds(n, min, max)
}

func checkBounds(n, min, max int64) error {
	if n < min {
		return fmt.Errorf("must be at least %d", min)
	}
	if max > 0 && n > max {
		return fmt.Errorf("must be at most %d", max)
	}
	return nil
}

// parseSeconds reads uWSGI's whole seconds ("30"). A Go duration ("1m30s",
// "500ms") is accepted too, since the same syntax serves the flags.
func parseSeconds(v string) (time.Duration, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && !strings.HasPrefix(v, "+") {
		switch {
		case n < 0:
			return 0, errors.New("must not be negative")
		case n > math.MaxInt64/int64(time.Second):
			return 0, errors.New("too large")
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, errors.New("not a whole number of seconds (or a duration such as 1m30s)")
	}
	if d < 0 {
		return 0, errors.New("must not be negative")
	}
	return d, nil
}

// parseBool reads uWSGI's booleans. An empty value is true: uWSGI files
// write flags as a bare "master" or "master =".
func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "", "true", "yes", "on", "1":
		return true, nil
	case "false", "no", "off", "0":
		return false, nil
	}
	return false, errors.New("not a boolean: use true or false")
}

// parseMode reads chmod-socket: octal digits, or nothing for 666 as in
// uWSGI.
func parseMode(v string) (os.FileMode, error) {
	if v == "" {
		return 0o666, nil
	}
	if len(v) > 4 || strings.Trim(v, "01234567") != "" {
		return 0, errors.New("not an octal permission such as 660")
	}
	n, _ := strconv.ParseUint(v, 8, 32)
	switch {
	case n > 0o777:
		return 0, errors.New("not a permission: the largest is 777")
	case n == 0:
		return 0, errors.New("000 would let nobody connect: use 660 (owner and group) or 666 (everyone)")
	}
	return os.FileMode(n), nil
}

// parseHTTPS reads "addr,cert,key[,ciphers[,client-ca]]".
func parseHTTPS(v string) (HTTPSAddr, error) {
	parts := strings.Split(v, ",")
	if len(parts) < 3 || len(parts) > 5 || parts[1] == "" || parts[2] == "" {
		return HTTPSAddr{}, errors.New("not ADDR,CERT,KEY (for example https = :8443,cert.pem,key.pem)")
	}
	a, err := ParseAddr(parts[0])
	if err != nil {
		return HTTPSAddr{}, fmt.Errorf("address %q: %w", parts[0], err)
	}
	h := HTTPSAddr{Addr: a, Cert: parts[1], Key: parts[2]}
	if len(parts) > 3 {
		h.Ciphers = parts[3]
	}
	if len(parts) > 4 {
		h.ClientCA = parts[4]
	}
	return h, nil
}

// parseStaticMap reads "/prefix=/dir".
func parseStaticMap(v string) (StaticMap, error) {
	prefix, dir, _ := strings.Cut(v, "=")
	m := StaticMap{Prefix: prefix, Dir: dir}
	return m, checkStaticMap(m)
}

func checkStaticMap(m StaticMap) error {
	if !strings.HasPrefix(m.Prefix, "/") || m.Dir == "" {
		return errors.New("not /PREFIX=DIR (for example static-map = /static=/srv/mysite/static)")
	}
	return nil
}

// checkEnv checks one env value. uWSGI passes a value without "=" to
// putenv, which on glibc removes the variable; that is never what the
// file meant.
func checkEnv(e string) error {
	k, _, ok := strings.Cut(e, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return errors.New("not KEY=VALUE (for example env = DJANGO_SETTINGS_MODULE=mysite.settings)")
	}
	if strings.ContainsRune(e, 0) {
		return errors.New("has a NUL byte, which an environment cannot hold")
	}
	return nil
}

// checkModule checks "pkg.mod" or "pkg.mod:callable". An empty value
// clears the key.
func checkModule(m string) error {
	if m == "" {
		return nil
	}
	if len(m) > 1 && (m[0] == '"' || m[0] == '\'') {
		return errors.New("the quotes are part of the value in uWSGI ini files (uWSGI would fail to import it too): write the name without them")
	}
	if strings.HasSuffix(m, ".py") || strings.Contains(m, "/") {
		return fmt.Errorf("a module is a dotted name, and this looks like a file: use wsgi-file = %s", m)
	}
	mod, callable, hasCallable := strings.Cut(m, ":")
	ok := mod != ""
	for _, part := range strings.Split(mod, ".") {
		ok = ok && isIdentifier(part)
	}
	if hasCallable {
		ok = ok && isIdentifier(strings.TrimSuffix(callable, "()"))
	}
	if !ok {
		return errors.New("not pkg.mod or pkg.mod:callable (for example module = mysite.wsgi:application)")
	}
	return nil
}

func checkCallable(v string) error {
	if !isIdentifier(strings.TrimSuffix(v, "()")) {
		return errors.New("not a Python name, or a factory to call such as create_app() (for example callable = application)")
	}
	return nil
}

// checkProtocol accepts the protocols gowsgi's sockets speak.
func checkProtocol(v string) error {
	switch v {
	case "", "uwsgi", "http", "http11":
		return nil
	}
	return fmt.Errorf("gowsgi's sockets speak uwsgi or http; uWSGI's %s is not served (use socket for nginx's uwsgi_pass, or http)", v)
}

// parseStaticExpire reads "REGEXP SECONDS".
func parseStaticExpire(v string) (StaticExpire, error) {
	i := strings.LastIndexAny(v, " \t")
	if i < 0 {
		return StaticExpire{}, errors.New("not REGEXP SECONDS (for example static-expires = /static/.* 86400)")
	}
	pattern, secs := strings.TrimSpace(v[:i]), strings.TrimSpace(v[i+1:])
	n, err := strconv.ParseInt(secs, 10, 64)
	if err != nil || n < 0 || pattern == "" {
		return StaticExpire{}, errors.New("not REGEXP SECONDS (for example static-expires = /static/.* 86400)")
	}
	return StaticExpire{Pattern: pattern, Seconds: n}, nil
}

// checkHeader checks "Name: value".
func checkHeader(v string) error {
	name, _, ok := strings.Cut(v, ":")
	if !ok || strings.TrimSpace(name) == "" || strings.ContainsAny(v, "\r\n") || strings.ContainsAny(strings.TrimSpace(name), " \t") {
		return errors.New("not NAME: VALUE (for example add-header = X-Frame-Options: DENY)")
	}
	return nil
}

// isIdentifier reports whether s is a Python identifier (keywords aside).
func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || unicode.IsLetter(r) || (i > 0 && unicode.IsDigit(r))) {
			return false
		}
	}
	return true
}

// hasLineComment reports whether v looks like it ends with a comment,
// which uWSGI (and so gowsgi) reads as part of the value.
func hasLineComment(v string) bool {
	for i := 1; i < len(v); i++ {
		if (v[i] == '#' || v[i] == ';') && (v[i-1] == ' ' || v[i-1] == '\t') {
			return true
		}
	}
	return false
}

// checkEngine checks engine's value.
func checkEngine(v string) error {
	switch v {
	case "", "auto", "on", "off":
		return nil
	}
	return fmt.Errorf("%q is not auto, on or off", v)
}
