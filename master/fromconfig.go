package master

// This file builds the one Config a master runs from the configuration
// that flags and ini files resolve to (package config): serve and check
// both start from it, and nothing changes the Config once Start has it.
// What is checked here is what can fail before anything starts: the
// directories, the interpreter, the certificates, the static mounts.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gowsgi/gowsgi/config"
	"github.com/gowsgi/gowsgi/gateway"
	"github.com/gowsgi/gowsgi/pyworker"
)

// FromConfig turns the configuration into what the master runs,
// checking what can be checked before anything starts.
func FromConfig(cfg config.Config) (Config, error) {
	var mc Config
	dir := cfg.Chdir
	if dir == "" {
		dir = "."
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return mc, err
	}
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		return mc, &ConfigError{Msg: fmt.Sprintf("chdir %s: no such directory", dir), Hint: "point chdir (--chdir) at the directory that holds your project (where manage.py is)."}
	}
	file := cfg.WSGIFile
	if file != "" {
		if !filepath.IsAbs(file) {
			file = filepath.Join(abs, file)
		}
		if _, err := os.Stat(file); err != nil {
			return mc, &ConfigError{Msg: fmt.Sprintf("wsgi-file %s: no such file (looked in %s)", cfg.WSGIFile, abs), Hint: "a relative wsgi-file (--wsgi-file) is taken from chdir; check both."}
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
		mc.HTTP = append(mc.HTTP, Listen{Addr: ListenAddr(a), Flag: "--http", Mode: cfg.ChmodSocket})
	}
	// uWSGI's protocol = http makes every socket = an HTTP listener;
	// uwsgi-socket = always speaks uwsgi.
	for _, a := range cfg.Socket {
		l := Listen{Addr: ListenAddr(a), Flag: "--socket", Mode: cfg.ChmodSocket}
		if cfg.SocketProtocol() == "http" {
			mc.HTTP = append(mc.HTTP, l)
		} else {
			mc.Uwsgi = append(mc.Uwsgi, l)
		}
	}
	for _, a := range cfg.UWSGISocket {
		mc.Uwsgi = append(mc.Uwsgi, Listen{Addr: ListenAddr(a), Flag: "--uwsgi-socket", Mode: cfg.ChmodSocket})
	}
	for _, h := range cfg.HTTPS {
		l, err := HTTPSListener(h, cfg.ChmodSocket, os.Stderr)
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
			return mc, &ConfigError{Msg: fmt.Sprintf("static-map %s: %v", sm, errors.Unwrap(err)), Hint: "the directory after = must exist."}
		}
		mc.StaticMaps = append(mc.StaticMaps, st)
	}
	mc.LimitPost = cfg.LimitPost
	if mc.Identity, err = ResolveIdentity(cfg.UID, cfg.GID); err != nil {
		return mc, err
	}
	proxies, err := gateway.ParseProxies(cfg.TrustedProxies)
	if err != nil {
		return mc, &ConfigError{Msg: fmt.Sprintf("trusted-proxies: %v", err), Hint: "give IP addresses or CIDR prefixes (10.0.0.0/8), or none."}
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

// applyOps fills in mc's operations settings from cfg. The stats address
// is set by runServe only: `gowsgi check` boots the same ini next to a
// running server and must not take its stats port.
func applyOps(mc *Config, cfg config.Config) {
	mc.Workers.ReloadOnRSS = int64(cfg.ReloadOnRSS) << 20
	mc.Workers.EvilReloadOnRSS = int64(cfg.EvilReloadOnRSS) << 20
	mc.LogMaxSize = cfg.LogMaxSize
	// log-format (uWSGI's %(var) template, or a format's name) and logdate:
	// built by the spec, which the workers' engines build again.
	mc.AccessSpec.Format, mc.AccessSpec.Date = cfg.LogFormat, cfg.LogDate
	mc.AccessFormat, _ = mc.AccessSpec.Build()
	mc.Engine = cfg.Engine
}
