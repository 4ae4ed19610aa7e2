package master

// This file carries the uWSGI options that real ini files use beyond the
// basics into the Config: static-map2, static-expires, add-header,
// logdate, log-4xx/log-5xx, max-worker-lifetime, listen and chown-socket.
// (protocol = http on a socket is in FromConfig.)

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

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
		mc.AccessSpec.Only4xx, mc.AccessSpec.Only5xx = cfg.Log4xx, cfg.Log5xx
		_, mc.LogSkip = mc.AccessSpec.Build()
	}
	mc.Workers.MaxLifetime = cfg.MaxWorkerLifetime
	// listen = N; 0 keeps Go's backlog, the kernel's maximum. Accept is
	// deferred for socket-timeout, as uWSGI does, unless no-defer-accept.
	for _, ls := range [][]Listen{mc.HTTP, mc.Uwsgi} {
		for i := range ls {
			ls[i].Backlog = cfg.Listen
			ls[i].DeferAccept = cfg.SocketTimeout
			if cfg.NoDeferAccept {
				ls[i].DeferAccept = -1
			}
		}
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
