package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/gowsgi/gowsgi/gateway"
	"github.com/gowsgi/gowsgi/pyworker"
)

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:      "serve",
		Usage:     "serve a WSGI app in production (uWSGI-style flags)",
		UsageText: "gowsgi serve --http 127.0.0.1:8000 --chdir mysite --module mysite.wsgi:application --processes 2 --threads 2",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "http", Usage: "serve HTTP on `ADDR` (host:port or a unix socket path); repeatable", Value: nil},
			&cli.StringSliceFlag{Name: "socket", Aliases: []string{"s", "uwsgi-socket"}, Usage: "serve the uwsgi protocol (nginx's uwsgi_pass) on `ADDR` (host:port or a unix socket path); repeatable"},
			&cli.IntFlag{Name: "buffer-size", Aliases: []string{"b"}, Usage: "largest uwsgi request packet in `BYTES` (nginx puts every request header in it; at most 65535)", Value: gateway.DefaultUwsgiBufferSize},
			&cli.StringFlag{Name: "chdir", Usage: "change to `DIR` before loading the app; it is also put first on sys.path"},
			&cli.StringFlag{Name: "wsgi-file", Usage: "load the WSGI callable from `FILE`"},
			&cli.StringFlag{Name: "module", Aliases: []string{"w"}, Usage: "load the WSGI callable from `pkg.mod[:callable]`"},
			&cli.StringFlag{Name: "callable", Usage: "name of the WSGI callable", Value: "application"},
			&cli.IntFlag{Name: "processes", Aliases: []string{"workers", "p"}, Usage: "number of worker processes", Value: 1},
			&cli.IntFlag{Name: "threads", Usage: "threads per worker process", Value: 1},
			&cli.StringFlag{Name: "python", Usage: "the Python interpreter `PATH` (default: $VIRTUAL_ENV/bin/python, then python3)"},
			&cli.StringFlag{Name: "home", Aliases: []string{"virtualenv", "venv"}, Usage: "the app's virtualenv `DIR`"},
			&cli.StringSliceFlag{Name: "env", Usage: "set `KEY=VALUE` in the workers' environment; repeatable"},
			&cli.BoolFlag{Name: "lazy-apps", Usage: "load the app in each worker instead of once before forking"},
			&cli.IntFlag{Name: "max-requests", Usage: "retire a worker after `N` requests"},
			&cli.DurationFlag{Name: "harakiri", Usage: "kill a worker stuck on one request for this long, e.g. 30s"},
			&cli.BoolFlag{Name: "disable-logging", Usage: "no access log"},
			&cli.StringFlag{Name: "pidfile", Usage: "write the master's pid to `FILE` (replaced atomically; it names the new master after a HUP)"},
			&cli.StringFlag{Name: "daemonize", Usage: "detach and log to `FILE`; the command still waits until the workers are ready or failed"},
		},
		Action: runServe,
	}
}

func runServe(c *cli.Context) error {
	cfg, err := serveConfigFromFlags(c)
	if err != nil {
		return err
	}
	return serve(cfg)
}

func serveConfigFromFlags(c *cli.Context) (masterConfig, error) {
	var cfg masterConfig
	dir := c.String("chdir")
	if dir == "" {
		dir = "."
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return cfg, err
	}
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		return cfg, &usageError{msg: fmt.Sprintf("--chdir %s: no such directory", dir), hint: "point --chdir at the directory that holds your project (where manage.py is)."}
	}
	module, file := c.String("module"), c.String("wsgi-file")
	callable := c.String("callable")
	switch {
	case module == "" && file == "":
		return cfg, &usageError{msg: "no app to serve", hint: "name it with --module mysite.wsgi:application or --wsgi-file mysite/wsgi.py."}
	case module != "" && file != "":
		return cfg, &usageError{msg: "both --module and --wsgi-file are set", hint: "keep one of them."}
	case file != "":
		if !filepath.IsAbs(file) {
			file = filepath.Join(abs, file)
		}
		if _, err := os.Stat(file); err != nil {
			return cfg, &usageError{msg: fmt.Sprintf("--wsgi-file %s: no such file (looked in %s)", c.String("wsgi-file"), abs), hint: "a relative --wsgi-file is taken from --chdir; check both."}
		}
	}
	if i := strings.IndexByte(module, ':'); i >= 0 {
		module, callable = module[:i], module[i+1:]
	}
	python, err := pyworker.FindPython(c.String("python"), c.String("home"))
	if err != nil {
		return cfg, err
	}
	for _, e := range c.StringSlice("env") {
		if !strings.Contains(e, "=") {
			return cfg, &usageError{msg: fmt.Sprintf("--env %q is not KEY=VALUE", e)}
		}
	}
	for _, a := range c.StringSlice("http") {
		cfg.http = append(cfg.http, listenSpec{addr: a, flag: "--http"})
	}
	for _, a := range c.StringSlice("socket") {
		cfg.uwsgi = append(cfg.uwsgi, listenSpec{addr: a, flag: "--socket"})
	}
	if len(cfg.http) == 0 && len(cfg.uwsgi) == 0 {
		cfg.http = []listenSpec{{addr: "127.0.0.1:8000", flag: "--http"}}
	}
	cfg.bufferSize = c.Int("buffer-size")
	if cfg.bufferSize < 1 || cfg.bufferSize > gateway.MaxUwsgiBufferSize {
		return cfg, &usageError{msg: fmt.Sprintf("--buffer-size %d is out of range", cfg.bufferSize),
			hint: fmt.Sprintf("a uwsgi packet's size is 16 bits: use 1 to %d (uWSGI's default is %d).", gateway.MaxUwsgiBufferSize, gateway.DefaultUwsgiBufferSize)}
	}
	spawn := pyworker.SpawnZygote
	if c.Bool("lazy-apps") {
		spawn = pyworker.SpawnExec
	}
	label := module + ":" + callable
	if file != "" {
		label = c.String("wsgi-file")
	}
	cfg.workers = pyworker.Options{
		Python: python, Dir: abs, Module: module, WSGIFile: file, Callable: callable,
		Env: c.StringSlice("env"), Processes: c.Int("processes"), Threads: c.Int("threads"),
		Spawn: spawn, Preload: "app", MaxRequests: c.Int("max-requests"), Harakiri: c.Duration("harakiri"),
	}
	if cfg.workers.Processes < 1 || cfg.workers.Threads < 1 {
		return cfg, &usageError{msg: "--processes and --threads must be at least 1"}
	}
	cfg.accessLog = !c.Bool("disable-logging")
	cfg.pidfile = absOrEmpty(c.String("pidfile"))
	cfg.daemonize = absOrEmpty(c.String("daemonize"))
	cfg.out = os.Stderr
	cfg.appLabel = label
	return cfg, nil
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
