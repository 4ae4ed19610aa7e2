package main

// This file is `gowsgi serve` and uWSGI's command line (`gowsgi --ini
// uwsgi.ini`, `gowsgi --stop uwsgi.pid`): every ini key is also a flag, and
// both become one config.Config before the master starts.

import (
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gowsgi/gowsgi/config"
	"github.com/gowsgi/gowsgi/master"
)

func serveFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.StringSliceFlag{Name: "ini", Usage: "read uWSGI's ini `FILE[:section]` (section [uwsgi] by default); repeatable, read in order; flags override them"},
		&cli.BoolFlag{Name: "print-config", Usage: "print the resolved configuration as JSON and exit"},
		&cli.BoolFlag{Name: "print-config-sources", Usage: "print the resolved configuration, where each value came from and every key gowsgi does not apply, as JSON, and exit"},
	}, config.Flags()...)
}

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "serve a WSGI app in production (uWSGI's ini keys as flags, or --ini)",
		UsageText: "gowsgi serve --http 127.0.0.1:8000 --chdir mysite --module mysite.wsgi:application --processes 2 --threads 2\n" +
			"gowsgi serve --ini uwsgi.ini",
		Flags:  serveFlags(),
		Action: runServe,
	}
}

// rootFlags make `gowsgi --ini uwsgi.ini`, `gowsgi --stop uwsgi.pid` and
// `gowsgi --reload uwsgi.pid` work as they do with uwsgi.
func rootFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: "stop", Usage: "stop the gowsgi whose pid is in `PIDFILE` gracefully, and wait until it is gone"},
		&cli.StringFlag{Name: "reload", Usage: "restart the gowsgi whose pid is in `PIDFILE` with no downtime (SIGHUP)"},
	}, serveFlags()...)
}

func runRoot(c *cli.Context) error {
	switch {
	case c.IsSet("stop"):
		return master.StopByPidfile(c.String("stop"), 60*time.Second, c.App.ErrWriter)
	case c.IsSet("reload"):
		return master.ReloadByPidfile(c.String("reload"), c.App.ErrWriter)
	case c.NumFlags() == 0 && !hasUwsgiEnv():
		return cli.ShowAppHelp(c)
	}
	return runServe(c)
}

func runServe(c *cli.Context) error {
	if c.Bool("print-config-sources") {
		cfg, loaded, err := loadServeConfig(c)
		if err != nil {
			return err
		}
		return printSources(os.Stdout, cfg, loaded)
	}
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	if c.Bool("print-config") {
		fmt.Println(cfg.Describe())
		return nil
	}
	mc, err := master.FromConfig(cfg)
	if err != nil {
		return err
	}
	mc.Stats = cfg.Stats // serve only: check and dev never bind it
	return master.Serve(mc)
}

// loadConfig reads the UWSGI_* environment and every --ini, applies the
// flags over them and validates the result (iniconfig.go). Warnings
// (unknown keys, keys with no effect) are printed.
func loadConfig(c *cli.Context) (config.Config, error) {
	cfg, _, err := loadServeConfig(c)
	return cfg, err
}
