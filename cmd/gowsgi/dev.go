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
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "http", Usage: "listen on `ADDR` (same as the ADDRPORT argument)"},
			&cli.StringFlag{Name: "settings", Usage: "the Django settings `MODULE` (default: $DJANGO_SETTINGS_MODULE, then what manage.py sets)"},
			&cli.StringFlag{Name: "wsgi-file", Usage: "serve a plain WSGI app from `FILE` instead of a Django project"},
			&cli.StringFlag{Name: "module", Usage: "serve a plain WSGI app from `pkg.mod[:callable]`"},
			&cli.StringFlag{Name: "python", Usage: "the Python interpreter `PATH` (default: $VIRTUAL_ENV/bin/python, then python3)"},
			&cli.BoolFlag{Name: "noreload", Usage: "do not watch files and reload"},
			&cli.BoolFlag{Name: "nostatic", Usage: "do not serve STATIC_URL from the staticfiles finders"},
			&cli.BoolFlag{Name: "insecure", Usage: "serve static files even with DEBUG off"},
			&cli.BoolFlag{Name: "no-livereload", Usage: "do not reload the browser after a change"},
			&cli.StringSliceFlag{Name: "include", Usage: "react only to files matching `GLOB` (e.g. '**/*.py'); repeatable"},
			&cli.StringSliceFlag{Name: "exclude", Usage: "do not watch paths matching `GLOB`; repeatable"},
			&cli.IntFlag{Name: "processes", Value: 1, Usage: "worker processes"},
			&cli.IntFlag{Name: "threads", Value: 4, Usage: "threads per worker"},
			&cli.BoolFlag{Name: "color", Usage: "colour the request log even when not a terminal"},
			&cli.BoolFlag{Name: "https", Usage: "serve HTTPS with a self-signed certificate for localhost (made once, kept in ~/.cache/gowsgi)"},
		},
		Action: runDev,
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
}

func runDev(c *cli.Context) error {
	args := c.Args().Slice()
	if len(args) > 2 {
		return &usageError{msg: "too many arguments: " + strings.Join(args, " "), hint: "gowsgi dev [PROJECT_DIR] [ADDRPORT]"}
	}
	dir, addr := ".", "127.0.0.1:8000"
	if len(args) >= 1 {
		// runserver's single argument is an addrport; accept that too.
		if _, err := os.Stat(args[0]); err != nil && len(args) == 1 {
			if a, perr := parseAddrPort(args[0]); perr == nil {
				addr, args = a, nil
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
		addr = a
	}
	if f := c.String("http"); f != "" {
		a, err := parseAddrPort(f)
		if err != nil {
			return &usageError{msg: "--http " + err.Error()}
		}
		addr = a
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
	}
	if c.Bool("https") {
		if cfg.http[0].tls, err = devTLSConfig(os.Stderr); err != nil {
			return err
		}
	}
	color := c.Bool("color") || term.IsTerminal(int(os.Stderr.Fd()))
	cfg.accessFormat = runserverLogFormat(color)
	opts := pyworker.Options{
		Python: python, Dir: abs, Processes: c.Int("processes"), Threads: c.Int("threads"),
		Spawn: pyworker.SpawnZygote, Preload: "site", StartTimeout: 5 * time.Minute,
		WarmUp: warmUpRequest, ReportFiles: true,
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
		info, err := inspectDjango(python, abs, settings, env)
		if err != nil {
			return err
		}
		d.info = info
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

// wrap puts static files and live reload in front of the app.
func (d *devServer) wrap(static, insecure bool) func(http.Handler) http.Handler {
	return func(app http.Handler) http.Handler {
		var h http.Handler = app
		var mounts []*gateway.Static
		if info := d.info; info != nil && static && info.StaticFiles && (info.Debug || insecure) && strings.HasPrefix(info.StaticURL, "/") {
			st := &gateway.Static{URL: info.StaticURL, Revalidate: true}
			for _, sd := range info.StaticDirs {
				st.Dirs = append(st.Dirs, gateway.StaticDir{Prefix: sd[0], Root: sd[1]})
			}
			mounts = append(mounts, st)
		}
		if info := d.info; info != nil && static && strings.HasPrefix(info.MediaURL, "/") && info.MediaURL != "/" && info.MediaRoot != "" {
			mounts = append(mounts, &gateway.Static{URL: info.MediaURL, Dirs: []gateway.StaticDir{{Root: info.MediaRoot}}, Revalidate: true})
		}
		if len(mounts) > 0 {
			next := h
			h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for _, st := range mounts {
					if st.Match(r.URL.Path) && st.Serve(w, r) {
						return
					}
				}
				next.ServeHTTP(w, r)
			})
		}
		if d.live != nil {
			h = d.live.Wrap(h)
		}
		return h
	}
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
