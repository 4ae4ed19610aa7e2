package main

// This file carries the operations keys (stats, log-format, log-maxsize,
// reload-on-rss, evil-reload-on-rss) from the configuration into what the
// master runs.

import (
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
	if gateway.IsUwsgiLogFormat(cfg.LogFormat) {
		// uWSGI's %(var) template, written with uWSGI's request variables.
		mc.AccessFormat = gateway.UwsgiLogFormat(cfg.LogFormat, gateway.LogFormatOptions{Strftime: strftimeOf(cfg.LogDate)})
	} else if f, err := gateway.AccessFormat(cfg.LogFormat); err == nil && f != nil {
		mc.AccessFormat = f
	}
	applyLogDate(mc, cfg.LogDate)
}
