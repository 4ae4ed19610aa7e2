package main

// This file carries the uWSGI options that real ini files use beyond the
// basics into what the master runs: static-map2, static-expires,
// add-header, logdate, log-4xx/log-5xx, max-worker-lifetime and
// chown-socket. (protocol = http on a socket is in masterFromConfig.)

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gowsgi/gowsgi/config"
	"github.com/gowsgi/gowsgi/gateway"
)

// applyUwsgiOptions fills in mc from cfg's uWSGI options; masterFromConfig
// calls it last.
func applyUwsgiOptions(mc *masterConfig, cfg config.Config) error {
	// static-map2 = /static=/srv keeps the prefix: /static/a.css is
	// /srv/static/a.css, which static-map = /static=/srv/static serves.
	for _, sm := range cfg.StaticMap2 {
		root := filepath.Join(sm.Dir, sm.Prefix)
		if abs, err := filepath.Abs(root); err == nil {
			root = abs
		}
		st := &gateway.Static{URL: strings.TrimSuffix(sm.Prefix, "/") + "/", Dirs: []gateway.StaticDir{{Root: root}}}
		if err := st.CheckDirs(); err != nil {
			return &usageError{msg: fmt.Sprintf("static-map2 %s: %v", sm, errors.Unwrap(err)), hint: "static-map2 serves PREFIX from DIR/PREFIX: that directory must exist."}
		}
		mc.staticMaps = append(mc.staticMaps, st)
	}
	headers, err := gateway.ParseResponseHeaders(cfg.AddHeader)
	if err != nil {
		return &usageError{msg: err.Error(), hint: "write add-header = Name: value."}
	}
	mc.responseHeaders = headers
	expires, err := compileExpires(cfg.StaticExpires, mc.staticMaps)
	if err != nil {
		return err
	}
	if len(headers) > 0 || expires != nil {
		inner := mc.wrap
		mc.wrap = func(h http.Handler) http.Handler {
			if inner != nil {
				h = inner(h)
			}
			if expires != nil {
				h = expires(h)
			}
			return gateway.AddHeaders(headers, h)
		}
	}
	// log-4xx / log-5xx log those requests even with disable-logging.
	if cfg.DisableLogging && (cfg.Log4xx || cfg.Log5xx) {
		mc.accessLog = true
		log4, log5 := cfg.Log4xx, cfg.Log5xx
		mc.logSkip = func(status int) bool {
			return !(log4 && status >= 400 && status < 500) && !(log5 && status >= 500)
		}
	}
	mc.workers.MaxLifetime = cfg.MaxWorkerLifetime
	// listen = N; 0 keeps Go's backlog, the kernel's maximum.
	if cfg.Listen > 0 {
		for i := range mc.http {
			mc.http[i].backlog = cfg.Listen
		}
		for i := range mc.uwsgi {
			mc.uwsgi[i].backlog = cfg.Listen
		}
	}
	if cfg.ChownSocket != "" {
		uid, gid, err := resolveOwner(cfg.ChownSocket)
		if err != nil {
			return err
		}
		for _, l := range append(append([]listenSpec(nil), mc.http...), mc.uwsgi...) {
			if l.network() == "unix" {
				mc.identity.chown = append(mc.identity.chown, socketOwner{path: strings.TrimPrefix(l.addr, "unix:"), uid: uid, gid: gid})
				mc.identity.configured = true
			}
		}
	}
	return nil
}

// strftimeOf is logdate's strftime format: "" when off, uWSGI's default
// (ctime's) for true.
func strftimeOf(logdate string) string {
	switch strings.ToLower(logdate) {
	case "":
		return ""
	case "true", "1", "on", "yes":
		return "%a %b %e %H:%M:%S %Y"
	}
	return logdate
}

// applyLogDate prefixes each access log line with the date and " - ", as
// uWSGI's logdate does for its log lines.
func applyLogDate(mc *masterConfig, logdate string) {
	f := strftimeOf(logdate)
	if f == "" {
		return
	}
	inner := mc.accessFormat
	mc.accessFormat = func(b []byte, r *http.Request, status int, size int64, d time.Duration, pid, gen int) []byte {
		b = gateway.AppendStrftime(b, f, time.Now())
		b = append(b, " - "...)
		if inner == nil {
			return gateway.DefaultFormat(b, r, status, size, d, pid, gen)
		}
		return inner(b, r, status, size, d, pid, gen)
	}
}

// compileExpires returns a handler wrapper that adds Expires and
// Cache-Control max-age to static files whose path matches a
// static-expires pattern (the first that matches wins), or nil.
func compileExpires(rules []config.StaticExpire, mounts []*gateway.Static) (func(http.Handler) http.Handler, error) {
	if len(rules) == 0 {
		return nil, nil
	}
	type rule struct {
		re      *regexp.Regexp
		seconds int64
	}
	var rs []rule
	for _, e := range rules {
		re, err := regexp.Compile(e.Pattern)
		if err != nil {
			return nil, &usageError{msg: fmt.Sprintf("static-expires = %s: %v", e, err), hint: "the pattern is a regular expression on the file's path."}
		}
		rs = append(rs, rule{re, e.Seconds})
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if file := staticFile(mounts, r.URL.Path); file != "" {
				for _, ru := range rs {
					if ru.re.MatchString(file) {
						h := w.Header()
						h.Set("Expires", time.Now().Add(time.Duration(ru.seconds)*time.Second).UTC().Format(http.TimeFormat))
						h.Set("Cache-Control", "max-age="+strconv.FormatInt(ru.seconds, 10))
						break
					}
				}
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}

// staticFile is the file a static mount serves for path, or "".
func staticFile(mounts []*gateway.Static, path string) string {
	for _, st := range mounts {
		if !st.Match(path) {
			continue
		}
		rel := strings.TrimPrefix(path, st.URL)
		for _, d := range st.Dirs {
			p := filepath.Join(d.Root, filepath.FromSlash(rel))
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				return p
			}
		}
	}
	return ""
}
