package main

// This file is `gowsgi serve` and uWSGI's command line (`gowsgi --ini
// uwsgi.ini`, `gowsgi --stop uwsgi.pid`): every ini key is also a flag, and
// both become one config.Config before the master starts.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gowsgi/gowsgi/config"
	"github.com/gowsgi/gowsgi/gateway"
	"github.com/gowsgi/gowsgi/master"
	"github.com/gowsgi/gowsgi/pyworker"
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
		return master.StopByPidfile(c.String("stop"), 60*time.Second)
	case c.IsSet("reload"):
		return master.ReloadByPidfile(c.String("reload"))
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
	mc, err := masterFromConfig(cfg)
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

// masterFromConfig turns the configuration into what the master runs,
// checking what can be checked before anything starts.
func masterFromConfig(cfg config.Config) (master.Config, error) {
	var mc master.Config
	dir := cfg.Chdir
	if dir == "" {
		dir = "."
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return mc, err
	}
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		return mc, &usageError{Msg: fmt.Sprintf("chdir %s: no such directory", dir), Hint: "point chdir (--chdir) at the directory that holds your project (where manage.py is)."}
	}
	file := cfg.WSGIFile
	if file != "" {
		if !filepath.IsAbs(file) {
			file = filepath.Join(abs, file)
		}
		if _, err := os.Stat(file); err != nil {
			return mc, &usageError{Msg: fmt.Sprintf("wsgi-file %s: no such file (looked in %s)", cfg.WSGIFile, abs), Hint: "a relative wsgi-file (--wsgi-file) is taken from chdir; check both."}
		}
	}
	home := cfg.Home
	if home != "" && !filepath.IsAbs(home) {
		home, _ = filepath.Abs(home)
	}
	python, err := pyworker.FindPython(cfg.Python, home)
	if err != nil {
		return mc, err
	}
	for _, a := range append(append([]config.Addr(nil), cfg.HTTP...), cfg.HTTPSocket...) {
		mc.HTTP = append(mc.HTTP, master.Listen{Addr: master.ListenAddr(a), Flag: "--http", Mode: cfg.ChmodSocket})
	}
	// uWSGI's protocol = http makes every socket = an HTTP listener;
	// uwsgi-socket = always speaks uwsgi.
	for _, a := range cfg.Socket {
		l := master.Listen{Addr: master.ListenAddr(a), Flag: "--socket", Mode: cfg.ChmodSocket}
		if cfg.SocketProtocol() == "http" {
			mc.HTTP = append(mc.HTTP, l)
		} else {
			mc.Uwsgi = append(mc.Uwsgi, l)
		}
	}
	for _, a := range cfg.UWSGISocket {
		mc.Uwsgi = append(mc.Uwsgi, master.Listen{Addr: master.ListenAddr(a), Flag: "--uwsgi-socket", Mode: cfg.ChmodSocket})
	}
	for _, h := range cfg.HTTPS {
		l, err := master.HTTPSListener(h, cfg.ChmodSocket, os.Stderr)
		if err != nil {
			return mc, err
		}
		mc.HTTP = append(mc.HTTP, l)
	}
	mc.BufferSize = cfg.BufferSize
	if mc.BufferSize > gateway.MaxUwsgiBufferSize {
		mc.BufferSize = gateway.MaxUwsgiBufferSize
	}
	// An HTTP listener keeps net/http's 64 KiB for the request line and
	// headers unless buffer-size is set: uWSGI's default 4096 fits nginx's
	// packets but not a browser's big cookies sent directly.
	if cfg.BufferSize != config.Default().BufferSize {
		mc.MaxHeaderBytes = cfg.BufferSize
	}
	mc.SocketTimeout = cfg.SocketTimeout
	spawn := pyworker.SpawnZygote
	if cfg.LazyApps {
		spawn = pyworker.SpawnExec
	}
	label := cfg.Module + ":" + cfg.Callable
	if cfg.WSGIFile != "" {
		label = cfg.WSGIFile
	}
	pythonPath := make([]string, 0, len(cfg.PythonPath))
	for _, p := range cfg.PythonPath {
		if a, err := filepath.Abs(p); err == nil {
			p = a
		}
		pythonPath = append(pythonPath, p)
	}
	mc.Workers = pyworker.Options{
		Python: python, Dir: abs, Module: cfg.Module, WSGIFile: file, Callable: cfg.Callable,
		PythonPath: pythonPath, Env: cfg.Env, Processes: cfg.Processes, Threads: cfg.Threads,
		Spawn: spawn, Preload: "app", MaxRequests: cfg.MaxRequests, Harakiri: cfg.Harakiri,
		QueueGets: cfg.QueueGets,
	}
	for _, sm := range cfg.StaticMap {
		root := sm.Dir
		if !filepath.IsAbs(root) {
			root, _ = filepath.Abs(root)
		}
		st := &gateway.Static{URL: strings.TrimSuffix(sm.Prefix, "/") + "/", Dirs: []gateway.StaticDir{{Root: root}}}
		if err := st.CheckDirs(); err != nil {
			return mc, &usageError{Msg: fmt.Sprintf("static-map %s: %v", sm, errors.Unwrap(err)), Hint: "the directory after = must exist."}
		}
		mc.StaticMaps = append(mc.StaticMaps, st)
	}
	mc.LimitPost = cfg.LimitPost
	if mc.Identity, err = master.ResolveIdentity(cfg.UID, cfg.GID); err != nil {
		return mc, err
	}
	proxies, err := gateway.ParseProxies(cfg.TrustedProxies)
	if err != nil {
		return mc, &usageError{Msg: fmt.Sprintf("trusted-proxies: %v", err), Hint: "give IP addresses or CIDR prefixes (10.0.0.0/8), or none."}
	}
	mc.Proxies = &proxies
	mc.AccessLog = !cfg.DisableLogging
	mc.Pidfile = absOrEmpty(cfg.Pidfile)
	mc.Daemonize = absOrEmpty(cfg.Daemonize)
	mc.Logto = absOrEmpty(cfg.Logto)
	mc.TouchReload = cfg.TouchReload
	mc.PyAutoreload = cfg.PyAutoreload
	mc.Out = os.Stderr
	mc.AppLabel = label
	applyOps(&mc, cfg)
	if err := applyUwsgiOptions(&mc, cfg); err != nil {
		return mc, err
	}
	return mc, nil
}

func absOrEmpty(p string) string {
	if p == "" {
		return ""
	}
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}
