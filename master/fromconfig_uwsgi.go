package master

// This file carries the uWSGI options that real ini files use beyond the
// basics into the Config: static-map2, static-expires, add-header,
// logdate, log-4xx/log-5xx, max-worker-lifetime, listen and chown-socket.
// (protocol = http on a socket is in FromConfig.)

import (
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/gowsgi/gowsgi/config"
	"github.com/gowsgi/gowsgi/gateway"
)

// applyUwsgiOptions fills in mc from cfg's uWSGI options; FromConfig
// calls it last.
func applyUwsgiOptions(mc *Config, cfg config.Config) error {
	// static-map2 = /static=/srv keeps the prefix: /static/a.css is
	// /srv/static/a.css, which static-map = /static=/srv/static serves.
	for _, sm := range cfg.StaticMap2 {
		root := filepath.Join(sm.Dir, sm.Prefix)
		if abs, err := filepath.Abs(root); err == nil {
			root = abs
		}
		st := &gateway.Static{URL: strings.TrimSuffix(sm.Prefix, "/") + "/", Dirs: []gateway.StaticDir{{Root: root}}}
		if err := st.CheckDirs(); err != nil {
			return &ConfigError{Msg: fmt.Sprintf("static-map2 %s: %v", sm, errors.Unwrap(err)), Hint: "static-map2 serves PREFIX from DIR/PREFIX: that directory must exist."}
		}
		mc.StaticMaps = append(mc.StaticMaps, st)
	}
	headers, err := gateway.ParseResponseHeaders(cfg.AddHeader)
	if err != nil {
		return &ConfigError{Msg: err.Error(), Hint: "write add-header = Name: value."}
	}
	mc.ResponseHeaders = headers
	for _, e := range cfg.StaticExpires {
		re, err := regexp.Compile(e.Pattern)
		if err != nil {
			return &ConfigError{Msg: fmt.Sprintf("static-expires = %s: %v", e, err), Hint: "the pattern is a regular expression on the file's path."}
		}
		for _, st := range mc.StaticMaps {
			st.Expires = append(st.Expires, gateway.ExpireRule{Pattern: re, Seconds: e.Seconds})
		}
	}
	// log-4xx / log-5xx log those requests even with disable-logging.
	if cfg.DisableLogging && (cfg.Log4xx || cfg.Log5xx) {
		mc.AccessLog = true
		log4, log5 := cfg.Log4xx, cfg.Log5xx
		mc.LogSkip = func(status int) bool {
			return !(log4 && status >= 400 && status < 500) && !(log5 && status >= 500)
		}
	}
	mc.Workers.MaxLifetime = cfg.MaxWorkerLifetime
	// listen = N; 0 keeps Go's backlog, the kernel's maximum.
	for i := range mc.HTTP {
		mc.HTTP[i].Backlog = cfg.Listen
	}
	for i := range mc.Uwsgi {
		mc.Uwsgi[i].Backlog = cfg.Listen
	}
	if cfg.ChownSocket != "" {
		uid, gid, err := ResolveOwner(cfg.ChownSocket)
		if err != nil {
			return err
		}
		mc.Identity.ChownSockets(append(append([]Listen(nil), mc.HTTP...), mc.Uwsgi...), uid, gid)
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
func applyLogDate(mc *Config, logdate string) {
	f := strftimeOf(logdate)
	if f == "" {
		return
	}
	inner := mc.AccessFormat
	mc.AccessFormat = func(b []byte, r *http.Request, status int, size int64, d time.Duration, pid, gen int) []byte {
		b = gateway.AppendStrftime(b, f, time.Now())
		b = append(b, " - "...)
		if inner == nil {
			return gateway.DefaultFormat(b, r, status, size, d, pid, gen)
		}
		return inner(b, r, status, size, d, pid, gen)
	}
}
