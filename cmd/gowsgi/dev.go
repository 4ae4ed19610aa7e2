package main

// This file is `gowsgi dev`: runserver's workflow with a real server under
// it. It finds the Django project, serves it with static files, watches the
// tree and swaps in a new worker generation on every code change.

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/gowsgi/gowsgi/gateway"
	"github.com/gowsgi/gowsgi/master"
	"github.com/gowsgi/gowsgi/project"
	"github.com/gowsgi/gowsgi/pyworker"
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

func runDev(c *cli.Context) error {
	args := c.Args().Slice()
	if len(args) > 2 {
		return &usageError{Msg: "too many arguments: " + strings.Join(args, " "), Hint: "gowsgi dev [PROJECT_DIR] [ADDRPORT]"}
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
			return &usageError{Msg: "ADDRPORT " + err.Error(), Hint: "use a port (8001) or address:port (0.0.0.0:8001, [::1]:8001)."}
		}
		addr, addrArg = a, args[1]
	}
	if f := c.String("http"); f != "" {
		a, err := parseAddrPort(f)
		if err != nil {
			return &usageError{Msg: "--http " + err.Error()}
		}
		addr, addrArg = a, f
	}
	addr = withDefaultHost(addrArg, addr, devDefaultHost(c.Bool("ipv6")))
	engine := c.String("engine")
	switch engine {
	case "auto", "on", "off":
	default:
		return &usageError{Msg: fmt.Sprintf("--engine %q", engine), Hint: "use auto, on or off."}
	}
	if engine == "auto" {
		engine = ""
	}
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
		return &usageError{Msg: fmt.Sprintf("%s: no such directory", dir), Hint: "gowsgi dev [PROJECT_DIR] [ADDRPORT], where PROJECT_DIR holds manage.py."}
	}
	python, err := pyworker.FindPython(c.String("python"), "")
	if err != nil {
		return err
	}
	d := &devProject{dir: abs}
	cfg := master.Config{
		Mode:       master.ModeDev,
		HTTP:       []master.Listen{{Addr: addr, Flag: "--http"}},
		AccessLog:  true,
		Out:        os.Stderr,
		KeepBroken: true,
		// One CONTROL-C stops within about a second, as runserver does,
		// even with an event stream open (issue 15, item 3).
		Grace:   time.Second,
		Proxies: proxies,
		Engine:  engine,
	}
	if c.Bool("https") {
		if cfg.HTTP[0].TLS, err = master.DevTLSConfig(os.Stderr); err != nil {
			return err
		}
	}
	color := c.Bool("force-color") || !c.Bool("no-color") && term.IsTerminal(int(os.Stderr.Fd()))
	cfg.AccessFormat = gateway.RunserverFormat(color)
	cfg.AccessSpec = gateway.AccessSpec{Runserver: true, Color: color} // the engine's
	opts := pyworker.Options{
		Python: python, Dir: abs, Processes: c.Int("processes"), Threads: c.Int("threads"),
		Spawn: pyworker.SpawnZygote, Preload: "site", StartTimeout: 5 * time.Minute,
		WarmUp: warmUpRequest, ReportFiles: true,
		// A replaced generation's open streams end a second after the
		// swap; the browser reconnects to the new code.
		RetireGrace: time.Second,
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
		cfg.AppLabel = file + module
		opts.Preload = "none"
	} else {
		settings, err := project.FindSettings(abs, c.String("settings"))
		if err != nil {
			return err
		}
		d.settings = settings
		env = []string{"DJANGO_SETTINGS_MODULE=" + settings}
		info, err := project.InspectWith(python, abs, settings, env, project.InspectArgs{
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
			return &usageError{Msg: fmt.Sprintf("%s has no WSGI_APPLICATION", settings), Hint: "set WSGI_APPLICATION = \"mysite.wsgi.application\" in the settings, or pass --module."}
		}
		opts.Module, opts.Callable = project.SplitWSGIApplication(info.WSGIApplication)
		opts.DjangoSettings = settings
		opts.EagerURLConf = true
		cfg.AppLabel = info.WSGIApplication
	}
	opts.Env = env
	cfg.Workers = opts
	dev := &master.DevOptions{Dir: abs, NoReload: c.Bool("noreload"), Include: c.StringSlice("include"), Exclude: c.StringSlice("exclude")}
	if !c.Bool("no-livereload") {
		dev.Live = gateway.NewLiveReload()
	}
	if d.info != nil {
		dev.SiteDirs = d.info.SiteDirs
	}
	if d.info != nil {
		dev.SettingsFiles = d.info.SettingsFiles
	}
	cfg.Dev = dev
	dev.Static = d.devMounts(!c.Bool("nostatic"), c.Bool("insecure"))
	cfg.Banner = func(m *master.Master) { d.printBanner(m, !dev.NoReload) }
	m, err := master.Start(context.Background(), cfg)
	if err != nil {
		return err
	}
	return m.Run(context.Background())
}

// devProject is what runDev found out about the project.
type devProject struct {
	dir      string
	info     *project.Info // nil for a plain WSGI app
	settings string
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

func (d *devProject) printBanner(m *master.Master, watching bool) {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s\n", time.Now().Format("January 02, 2006 - 15:04:05"))
	if d.info != nil {
		fmt.Fprintf(&b, "Django version %s, using settings '%s'\n", d.info.Django, d.settings)
	}
	ln := m.Listeners()[0]
	fmt.Fprintf(&b, "Starting gowsgi %s development server at %s://%s/ (python %s, %d process(es) x %d thread(s))\n",
		version, master.ListenerScheme(ln), ln.Addr(), m.PythonVersion(), m.Config().Workers.Processes, m.Config().Workers.Threads)
	if watching {
		fmt.Fprintf(&b, "Watching %s for changes (inotify); a save swaps in new workers without dropping requests.\n", d.dir)
	}
	fmt.Fprintf(&b, "Quit the server with CONTROL-C.\n")
	for _, u := range m.URLs() {
		fmt.Fprintf(&b, "gowsgi: listening on %s\n", u)
	}
	io.WriteString(m.Out(), b.String())
}
