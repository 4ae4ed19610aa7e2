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
		return stopByPidfile(c.String("stop"), 60*time.Second)
	case c.IsSet("reload"):
		return reloadByPidfile(c.String("reload"))
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
	mc.ops.stats = cfg.Stats // serve only: check and dev never bind it
	return serve(mc)
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
func masterFromConfig(cfg config.Config) (masterConfig, error) {
	var mc masterConfig
	dir := cfg.Chdir
	if dir == "" {
		dir = "."
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return mc, err
	}
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		return mc, &usageError{msg: fmt.Sprintf("chdir %s: no such directory", dir), hint: "point chdir (--chdir) at the directory that holds your project (where manage.py is)."}
	}
	file := cfg.WSGIFile
	if file != "" {
		if !filepath.IsAbs(file) {
			file = filepath.Join(abs, file)
		}
		if _, err := os.Stat(file); err != nil {
			return mc, &usageError{msg: fmt.Sprintf("wsgi-file %s: no such file (looked in %s)", cfg.WSGIFile, abs), hint: "a relative wsgi-file (--wsgi-file) is taken from chdir; check both."}
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
		mc.http = append(mc.http, listenSpec{addr: listenAddr(a), flag: "--http", mode: cfg.ChmodSocket})
	}
	// uWSGI's protocol = http makes every socket = an HTTP listener;
	// uwsgi-socket = always speaks uwsgi.
	for _, a := range cfg.Socket {
		l := listenSpec{addr: listenAddr(a), flag: "--socket", mode: cfg.ChmodSocket}
		if cfg.SocketProtocol() == "http" {
			mc.http = append(mc.http, l)
		} else {
			mc.uwsgi = append(mc.uwsgi, l)
		}
	}
	for _, a := range cfg.UWSGISocket {
		mc.uwsgi = append(mc.uwsgi, listenSpec{addr: listenAddr(a), flag: "--uwsgi-socket", mode: cfg.ChmodSocket})
	}
	for _, h := range cfg.HTTPS {
		l, err := httpsListener(h, cfg.ChmodSocket, os.Stderr)
		if err != nil {
			return mc, err
		}
		mc.http = append(mc.http, l)
	}
	mc.bufferSize = cfg.BufferSize
	if mc.bufferSize > gateway.MaxUwsgiBufferSize {
		mc.bufferSize = gateway.MaxUwsgiBufferSize
	}
	// An HTTP listener keeps net/http's 64 KiB for the request line and
	// headers unless buffer-size is set: uWSGI's default 4096 fits nginx's
	// packets but not a browser's big cookies sent directly.
	if cfg.BufferSize != config.Default().BufferSize {
		mc.maxHeaderBytes = cfg.BufferSize
	}
	mc.socketTimeout = cfg.SocketTimeout
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
	mc.workers = pyworker.Options{
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
			return mc, &usageError{msg: fmt.Sprintf("static-map %s: %v", sm, errors.Unwrap(err)), hint: "the directory after = must exist."}
		}
		mc.staticMaps = append(mc.staticMaps, st)
	}
	mc.limitPost = cfg.LimitPost
	if mc.identity, err = resolveIdentity(cfg.UID, cfg.GID); err != nil {
		return mc, err
	}
	proxies, err := gateway.ParseProxies(cfg.TrustedProxies)
	if err != nil {
		return mc, &usageError{msg: fmt.Sprintf("trusted-proxies: %v", err), hint: "give IP addresses or CIDR prefixes (10.0.0.0/8), or none."}
	}
	mc.proxies = &proxies
	mc.accessLog = !cfg.DisableLogging
	mc.pidfile = absOrEmpty(cfg.Pidfile)
	mc.daemonize = absOrEmpty(cfg.Daemonize)
	mc.logto = absOrEmpty(cfg.Logto)
	mc.touchReload = cfg.TouchReload
	mc.pyAutoreload = cfg.PyAutoreload
	mc.out = os.Stderr
	mc.appLabel = label
	applyOps(&mc, cfg)
	if err := applyUwsgiOptions(&mc, cfg); err != nil {
		return mc, err
	}
	return mc, nil
}

// listenAddr is the address as net.Listen takes it; unix paths keep a
// "unix:" prefix so listenSpec knows the network.
func listenAddr(a config.Addr) string {
	if a.Network == "unix" {
		return "unix:" + a.Path
	}
	return a.ListenAddress()
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
