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
)

// applyOps fills in mc's operations settings from cfg. The stats address
// is set by runServe only: `gowsgi check` boots the same ini next to a
// running server and must not take its stats port.
func applyOps(mc *masterConfig, cfg config.Config) {
	mc.workers.ReloadOnRSS = int64(cfg.ReloadOnRSS) << 20
	mc.workers.EvilReloadOnRSS = int64(cfg.EvilReloadOnRSS) << 20
	mc.ops.logMaxSize = cfg.LogMaxSize
	mc.ops.logFormat = cfg.LogFormat
	if strings.Contains(cfg.LogFormat, "%(") {
		// An ini written for uWSGI: keep it working, in gowsgi's format.
		fmt.Fprintf(os.Stderr, "gowsgi: warning: log-format = %s: uWSGI's %%(var) templates are not supported; using the uwsgi format (or set log-format to combined or json)\n", cfg.LogFormat)
		mc.ops.logFormat = ""
	}
	if f, err := gateway.AccessFormat(mc.ops.logFormat); err == nil && f != nil {
		mc.accessFormat = f
	}
}
