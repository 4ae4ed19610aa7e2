package main

// This file carries the operations keys (stats, log-format, log-maxsize,
// reload-on-rss, evil-reload-on-rss) from the configuration into what the
// master runs.

import (
	"fmt"
	"os"
	"strings"

	"github.com/gowsgi/gowsgi/config"
	"github.com/gowsgi/gowsgi/gateway"
	"github.com/gowsgi/gowsgi/master"
)

// applyOps fills in mc's operations settings from cfg. The stats address
// is set by runServe only: `gowsgi check` boots the same ini next to a
// running server and must not take its stats port.
func applyOps(mc *master.Config, cfg config.Config) {
	mc.Workers.ReloadOnRSS = int64(cfg.ReloadOnRSS) << 20
	mc.Workers.EvilReloadOnRSS = int64(cfg.EvilReloadOnRSS) << 20
	mc.LogMaxSize = cfg.LogMaxSize
	logFormat := cfg.LogFormat
	if strings.Contains(cfg.LogFormat, "%(") {
		// An ini written for uWSGI: keep it working, in gowsgi's format.
		fmt.Fprintf(os.Stderr, "gowsgi: warning: log-format = %s: uWSGI's %%(var) templates are not supported; using the uwsgi format (or set log-format to combined or json)\n", cfg.LogFormat)
		logFormat = ""
	}
	if f, err := gateway.AccessFormat(logFormat); err == nil && f != nil {
		mc.AccessFormat = f
	}
}
