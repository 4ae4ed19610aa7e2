package main

// This file is `gowsgi dev`: runserver's workflow with a real server under
// it. It finds the Django project, serves it with static files, watches the
// tree and swaps in a new worker generation on every code change.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/gowsgi/gowsgi/gateway"
	"github.com/gowsgi/gowsgi/pyworker"
	"github.com/gowsgi/gowsgi/reload"
)

func devCommand() *cli.Command {
	return &cli.Command{
		Name:      "dev",
		Usage:     "serve a Django project for development, reloading on every save (runserver's replacement)",
		ArgsUsage: "[PROJECT_DIR] [ADDRPORT]",
		UsageText: "gowsgi dev                      # the project in ., on 127.0.0.1:8000\n" +
			"gowsgi dev mysite 8001\n" +
			"gowsgi dev mysite 0.0.0.0:8000\n" +
			"gowsgi dev --wsgi-file app.py   # a plain WSGI app",
		Flags:        devFlags(),
		OnUsageError: devUsageError,
		Action:       runDev,
	}
}

// devServer is a running `gowsgi dev`.
type devServer struct {
	*master
	dir      string
	info     *djangoInfo
	live     *gateway.LiveReload
	watcher  *reload.Watcher
	settings string
	front    devFront
}

func runDev(c *cli.Context) error {
	args := c.Args().Slice()
	if len(args) > 2 {
		return &usageError{msg: "too many arguments: " + strings.Join(args, " "), hint: "gowsgi dev [PROJECT_DIR] [ADDRPORT]"}
	}
	dir, addr, addrArg := ".", "127.0.0.1:8000", ""
	if len(args) >= 1 {
		// runserver's single argument is an addrport; accept that too.
		if _, err := os.Stat(args[0]); err != nil && len(args) == 1 {
			if a, perr := parseAddrPort(args[0]); perr == nil {
				addr, addrArg, args = a, args[0], nil
			}
		}
	}
	if len(args) >= 1 {
		dir = args[0]
	}
	if len(args) == 2 {
		a, err := parseAddrPort(args[1])
		if err != nil {
			return &usageError{msg: "ADDRPORT " + err.Error(), hint: "use a port (8001) or address:port (0.0.0.0:8001, [::1]:8001)."}
		}
		addr, addrArg = a, args[1]
	}
	if f := c.String("http"); f != "" {
		a, err := parseAddrPort(f)
		if err != nil {
			return &usageError{msg: "--http " + err.Error()}
		}
		addr, addrArg = a, f
	}
	addr = withDefaultHost(addrArg, addr, devDefaultHost(c.Bool("ipv6")))
	proxies, err := devProxies(c.StringSlice("trust-proxy"))
	if err != nil {
		return err
	}
	noteInertFlags(c, os.Stderr)
	if label := proxiesLabel(proxies); label != "" {
		fmt.Fprintf(os.Stderr, "gowsgi: believing X-Forwarded-* and Forwarded headers from %s (--trust-proxy)\n", label)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		return &usageError{msg: fmt.Sprintf("%s: no such directory", dir), hint: "gowsgi dev [PROJECT_DIR] [ADDRPORT], where PROJECT_DIR holds manage.py."}
	}
	python, err := pyworker.FindPython(c.String("python"), "")
	if err != nil {
		return err
	}
	d := &devServer{dir: abs}
	cfg := masterConfig{
		http:       []listenSpec{{addr: addr, flag: "--http"}},
		accessLog:  true,
		out:        os.Stderr,
		keepBroken: true,
		grace:      5 * time.Second,
		proxies:    proxies,
	}
	if c.Bool("https") {
		if cfg.http[0].tls, err = devTLSConfig(os.Stderr); err != nil {
			return err
		}
	}
	color := c.Bool("force-color") || !c.Bool("no-color") && term.IsTerminal(int(os.Stderr.Fd()))
	cfg.accessFormat = runserverLogFormat(color)
	opts := pyworker.Options{
		Python: python, Dir: abs, Processes: c.Int("processes"), Threads: c.Int("threads"),
		Spawn: pyworker.SpawnZygote, Preload: "site", StartTimeout: 5 * time.Minute,
		WarmUp: warmUpRequest, ReportFiles: true,
	}
	if c.Bool("nothreading") {
		opts.Threads = 1
	}
	for _, p := range c.StringSlice("pythonpath") {
		if !filepath.IsAbs(p) {
			p = filepath.Join(abs, p)
		}
		opts.PythonPath = append(opts.PythonPath, p)
	}
	var env []string
	if file, module := c.String("wsgi-file"), c.String("module"); file != "" || module != "" {
		opts.WSGIFile, opts.Module = file, module
		if file != "" && !filepath.IsAbs(file) {
			opts.WSGIFile = filepath.Join(abs, file)
		}
		if i := strings.IndexByte(module, ':'); i >= 0 {
			opts.Module, opts.Callable = module[:i], module[i+1:]
		}
		cfg.appLabel = file + module
		opts.Preload = "none"
	} else {
		settings, err := findSettings(abs, c.String("settings"))
		if err != nil {
			return err
		}
		d.settings = settings
		env = []string{"DJANGO_SETTINGS_MODULE=" + settings}
		info, err := inspectDjangoWith(python, abs, settings, env, inspectArgs{
			Checks: true, SkipChecks: c.Bool("skip-checks"), Color: color, PythonPath: opts.PythonPath,
		})
		if err != nil {
			return devInspectError(err, python, settings)
		}
		d.info = info
		if err := printChecks(os.Stderr, info.Checks); err != nil {
			return err
		}
		if info.WSGIApplication == "" {
			return &usageError{msg: fmt.Sprintf("%s has no WSGI_APPLICATION", settings), hint: "set WSGI_APPLICATION = \"mysite.wsgi.application\" in the settings, or pass --module."}
		}
		opts.Module, opts.Callable = splitWSGIApplication(info.WSGIApplication)
		opts.DjangoSettings = settings
		opts.EagerURLConf = true
		cfg.appLabel = info.WSGIApplication
	}
	opts.Env = env
	cfg.workers = opts
	if !c.Bool("no-livereload") {
		d.live = gateway.NewLiveReload()
	}
	cfg.wrap = d.wrap(!c.Bool("nostatic"), c.Bool("insecure"))

	m, err := startMaster(context.Background(), cfg)
	if err != nil {
		return err
	}
	d.master = m
	d.front.master.Store(m)
	if !c.Bool("noreload") {
		w, err := reload.New(abs, reload.Options{Include: c.StringSlice("include"), Exclude: c.StringSlice("exclude")})
		if err != nil {
			m.kill()
			if hint := reload.Hint(err); hint != "" {
				return &usageError{msg: err.Error(), hint: hint}
			}
			return err
		}
		d.watcher = w
		d.watchImported()
	}
	d.printBanner(addr)
	return d.loop()
}

// warmUpRequest is the request every new generation answers before it goes
// live: GET / imports the URLconf and the views it needs.
func warmUpRequest() *pyworker.Request {
	var env []byte
	for _, kv := range [][2]string{
		{"REQUEST_METHOD", "GET"}, {"SCRIPT_NAME", ""}, {"PATH_INFO", "/"}, {"QUERY_STRING", ""},
		{"SERVER_NAME", "127.0.0.1"}, {"SERVER_PORT", "80"}, {"SERVER_PROTOCOL", "HTTP/1.1"},
		{"REMOTE_ADDR", "127.0.0.1"}, {"REMOTE_PORT", "0"}, {"HTTP_HOST", "127.0.0.1"},
		{"wsgi.url_scheme", "http"}, {"HTTP_USER_AGENT", "gowsgi-warmup"},
	} {
		env = pyworker.AppendEnviron(env, kv[0], kv[1])
	}
	return &pyworker.Request{Environ: env, Path: "/ (warm-up)"}
}

func (d *devServer) printBanner(addr string) {
	out := d.cfg.out
	fmt.Fprintf(out, "\n%s\n", time.Now().Format("January 02, 2006 - 15:04:05"))
	if d.info != nil {
		fmt.Fprintf(out, "Django version %s, using settings '%s'\n", d.info.Django, d.settings)
	}
	py := d.mgr.PythonVersion()
	fmt.Fprintf(out, "Starting gowsgi %s development server at %s://%s/ (python %s, %d process(es) x %d thread(s))\n",
		version, listenerScheme(d.listeners[0]), d.listeners[0].Addr(), py, d.cfg.workers.Processes, d.cfg.workers.Threads)
	if d.watcher != nil {
		fmt.Fprintf(out, "Watching %s for changes (inotify); a save swaps in new workers without dropping requests.\n", d.dir)
	}
	fmt.Fprintf(out, "Quit the server with CONTROL-C.\n")
	for _, u := range d.urls() {
		fmt.Fprintf(out, "gowsgi: listening on %s\n", u)
	}
}

// loop reloads on changes until a signal stops the server.
func (d *devServer) loop() error {
	sigs := d.sigs
	defer signal.Stop(sigs)
	var batches <-chan reload.Batch
	var werrs <-chan error
	pkgs := d.watchPackages()
	if d.watcher != nil {
		batches, werrs = d.watcher.Batches(), d.watcher.Errors()
		defer d.watcher.Close()
	}
	for {
		select {
		case b := <-batches:
			d.onChange(b)
		case <-pkgs:
			d.logf("installed packages changed; restarting the zygote with them")
			d.mgr.ResetZygote()
			d.onChange(reload.Batch{Paths: []string{"site-packages"}, Kind: reload.KindCode})
		case err := <-werrs:
			d.logf("watching files: %v", err)
			if hint := reload.Hint(err); hint != "" {
				d.logf("hint: %s", hint)
			}
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				// A full restart: fresh preloaded modules too.
				d.mgr.ResetZygote()
				d.onChange(reload.Batch{Paths: []string{"SIGHUP"}, Kind: reload.KindCode})
				continue
			}
			fmt.Fprintf(d.cfg.out, "gowsgi: %s: stopping (press CONTROL-C again to stop at once)\n", sigName(sig))
			if d.live != nil {
				d.live.Close()
			}
			done := make(chan error, 1)
			go func() { done <- d.shutdown() }()
			select {
			case <-done:
			case <-sigs:
				d.kill()
			}
			return nil
		}
	}
}

func (d *devServer) onChange(b reload.Batch) {
	what := describeBatch(b.Paths)
	if b.Kind == reload.KindOther {
		return // README.md and the like: nothing running depends on it
	}
	if b.Kind != reload.KindCode {
		// Templates and static files need no new workers: Django's own
		// template-reset hooks run in the live workers, and the browser
		// reloads.
		d.mgr.Notify(absPaths(d.dir, b.Paths))
		d.logf("%s changed; reloading the browser", what)
		if d.live != nil {
			d.live.Reload(what + " changed")
		}
		return
	}
	d.logf("%s changed; starting new workers", what)
	if d.settingsChanged(b) {
		d.mgr.ResetZygote() // its Django stage holds the old settings (dev_stage.go)
	}
	start := time.Now()
	err := d.mgr.Reload(context.Background())
	var be *pyworker.BootError
	switch {
	case err == nil:
		if d.bootErr.Load() != nil {
			d.logf("the app imports again")
		}
		d.bootErr.Store(nil)
		d.logf("generation %d live in %d ms", d.mgr.Generation(), time.Since(start).Milliseconds())
		d.watchImported()
	case errors.As(err, &be):
		d.setBroken(be)
		d.logf("showing the error in the browser until the next save fixes it")
	default:
		d.logf("reload failed: %v", err)
	}
	if d.live != nil {
		d.live.Reload(what + " changed")
	}
}

// watchImported tells the watcher which files the app imported: inside the
// project they count as code whatever their name; outside it (a package
// installed in editable mode) they are watched one by one.
func (d *devServer) watchImported() {
	files := d.mgr.ImportedFiles()
	if d.watcher == nil || files == nil {
		return
	}
	var inside, outside []string
	for _, f := range files {
		if rel, err := filepath.Rel(d.dir, f); err == nil && !strings.HasPrefix(rel, "..") {
			inside = append(inside, filepath.ToSlash(rel))
		} else {
			outside = append(outside, f)
		}
	}
	d.watcher.SetImported(inside)
	if len(outside) > 0 {
		if err := d.watcher.WatchFiles(outside); err != nil {
			d.logf("watching imported files outside %s: %v", d.dir, err)
		}
	}
}

func absPaths(dir string, rel []string) []string {
	out := make([]string, len(rel))
	for i, p := range rel {
		out[i] = filepath.Join(dir, p)
	}
	return out
}

func describeBatch(paths []string) string {
	switch len(paths) {
	case 0:
		return "something"
	case 1:
		return paths[0]
	}
	return fmt.Sprintf("%s and %d more", paths[0], len(paths)-1)
}

// runserverLogFormat writes request lines as runserver does, coloured by
// status when color is on:
//
//	[24/Nov/2026 16:29:46] "GET /items/ HTTP/1.1" 200 512
func runserverLogFormat(color bool) func([]byte, *http.Request, int, int64, time.Duration, int, int) []byte {
	return func(b []byte, r *http.Request, status int, size int64, d time.Duration, pid, gen int) []byte {
		code := ""
		if color {
			switch {
			case status >= 500:
				code = "\x1b[1;31m" // bold red
			case status >= 400:
				code = "\x1b[31m" // red
			case status == 304:
				code = "\x1b[36m" // cyan
			case status >= 300:
				code = "\x1b[32m" // green
			}
		}
		b = append(b, code...)
		b = append(b, '[')
		b = time.Now().AppendFormat(b, "02/Jan/2006 15:04:05")
		b = append(b, "] \""...)
		b = append(b, r.Method...)
		b = append(b, ' ')
		b = append(b, r.RequestURI...)
		b = append(b, ' ')
		b = append(b, r.Proto...)
		b = append(b, "\" "...)
		b = strconv.AppendInt(b, int64(status), 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, size, 10)
		if code != "" {
			b = append(b, "\x1b[0m"...)
		}
		return b
	}
}

// watchPackages watches the interpreter's site-packages directories (their
// top level, where pip adds and removes *.dist-info): an installed,
// upgraded or removed package means the zygote's preloaded modules are
// stale. It returns a channel that receives once per burst of changes.
func (d *devServer) watchPackages() <-chan struct{} {
	out := make(chan struct{}, 1)
	if d.watcher == nil || d.info == nil || len(d.info.SiteDirs) == 0 {
		return out
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		d.logf("watching site-packages: %v", err)
		return out
	}
	for _, dir := range d.info.SiteDirs {
		if err := fw.Add(dir); err != nil {
			d.logf("watching %s: %v", dir, err)
		}
	}
	go packagesLoop(fw, out)
	return out
}

// packagesLoop debounces site-packages events with one resetting timer:
// pip touches many entries per install.
func packagesLoop(fw *fsnotify.Watcher, out chan<- struct{}) {
	var timer <-chan time.Time
	for {
		select {
		case ev, ok := <-fw.Events:
			if !ok {
				return
			}
			name := filepath.Base(ev.Name)
			if strings.HasSuffix(name, ".dist-info") || strings.HasSuffix(name, ".egg-info") ||
				strings.HasSuffix(name, ".pth") || strings.HasSuffix(name, ".egg-link") {
				timer = time.After(500 * time.Millisecond)
			}
		case _, ok := <-fw.Errors:
			if !ok {
				return
			}
		case <-timer:
			timer = nil
			select {
			case out <- struct{}{}:
			default:
			}
		}
	}
}
