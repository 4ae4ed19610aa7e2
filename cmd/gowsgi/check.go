package main

// This file is `gowsgi check`, the smoke test a CI job runs after the build:
// boot the app exactly as `serve` would, but on a private port; run Django's
// system checks in the workers' interpreter; make a few requests through
// the real HTTP stack; print one line per check and a closing
// "N passed, N failed", and stop everything it started. It exits 0 when
// every check passed, 1 when one failed and 2 when the app could not start.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/gowsgi/gowsgi/config"
	"github.com/gowsgi/gowsgi/master"
	"github.com/gowsgi/gowsgi/project"
	"github.com/gowsgi/gowsgi/pyworker"
	"github.com/gowsgi/gowsgi/smoke"
)

// Exit codes of `gowsgi check` (see README.md, "CI smoke test").
const (
	checkExitFailed  = 1 // a check failed (or the run was interrupted)
	checkExitNoStart = 2 // bad flags or config, no python, a taken --http, the app does not import
)

func checkCommand() *cli.Command {
	flags := []cli.Flag{
		&cli.StringSliceFlag{Name: "ini", Usage: "boot the app of uWSGI's ini `FILE[:section]` (repeatable, read in order) instead of a project directory; its listeners, pidfile, daemonize and logto are ignored"},
		&cli.StringSliceFlag{Name: "get", Usage: "request GET `PATH[=STATUS]`; STATUS is a code (404) or a class (2xx), default: below 500; repeatable (default: GET /)"},
		&cli.StringSliceFlag{Name: "post", Usage: "request POST `PATH=FILE[=STATUS]`: FILE is the body; .json, .xml, .txt and .html files are sent as such, any other as a urlencoded form; repeatable"},
		&cli.StringSliceFlag{Name: "expect-body", Usage: "`PATH=TEXT`: the answers to the --get/--post of PATH must contain TEXT; repeatable"},
		&cli.DurationFlag{Name: "timeout", Value: 10 * time.Second, Usage: "a request answered slower than `D` fails"},
		&cli.StringFlag{Name: "host", Usage: "send `NAME` as the Host header (one of Django's ALLOWED_HOSTS; default: the private address)"},
		&cli.StringFlag{Name: "settings", Usage: "the Django settings `MODULE` (default: $DJANGO_SETTINGS_MODULE, then what manage.py sets)"},
		&cli.BoolFlag{Name: "deploy", Usage: "run Django's `check --deploy` (production settings) instead of `check`"},
		&cli.StringFlag{Name: "junit", Usage: "write a JUnit XML report to `FILE`"},
		&cli.BoolFlag{Name: "json", Usage: "print the results as JSON on stdout (the check lines go to stderr)"},
		&cli.BoolFlag{Name: "plain", Usage: "mark lines with ok/FAIL/warn instead of ✓/✗/!"},
		&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "print gowsgi's and the workers' log as it comes (default: only after a failure)"},
	}
	// Every uWSGI key is a flag here too, so that `check --ini uwsgi.ini
	// --env X=1` boots what `serve` would. --http keeps its meaning but
	// chooses the private address (default 127.0.0.1:0).
	flags = append(flags, config.Flags()...)
	return &cli.Command{
		Name:      "check",
		Usage:     "smoke-test the app for CI: boot it on a private port, run Django's checks, make requests, exit 0/1/2",
		ArgsUsage: "[PROJECT_DIR]",
		UsageText: "gowsgi check mysite --get / --get /items/=200 --post /form/=form.txt --junit report.xml\n" +
			"gowsgi check --ini uwsgi.ini --get /healthz/=200 --expect-body /healthz/=ok --json",
		Flags:  flags,
		Action: runCheck,
	}
}

// checkRun is one `gowsgi check`: its options, its log and its results.
type checkRun struct {
	*smoke.Report
	ctx     context.Context // cancelled by SIGINT, SIGTERM or SIGHUP
	verbose bool
	log     *checkLog
	// bootReport is the error of a failed boot as serve prints it (the
	// traceback, the cause, a hint), printed after the log.
	bootReport string

	mu     sync.Mutex
	signal os.Signal // the signal that interrupted the run
}

// checkLog is gowsgi's and the workers' log during a check: kept for the
// report, and copied to stderr as it comes with -v.
type checkLog struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	live io.Writer
}

func (l *checkLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.live != nil {
		l.live.Write(p)
	}
	return l.buf.Write(p)
}

func (l *checkLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func runCheck(c *cli.Context) error {
	args := c.Args().Slice()
	if len(args) > 1 {
		return &usageError{Msg: "too many arguments: " + strings.Join(args, " "), Hint: "gowsgi check [PROJECT_DIR | --ini FILE] [--get PATH[=STATUS]]..."}
	}
	if len(args) == 1 && c.IsSet("ini") {
		return &usageError{Msg: "both a PROJECT_DIR and --ini given", Hint: "give one: the ini file names its own chdir."}
	}
	reqs, err := smoke.ParseRequests(c.StringSlice("get"), c.StringSlice("post"), c.StringSlice("expect-body"))
	if err != nil {
		return err
	}
	// The report file is opened first, so that a wrong path fails before
	// anything boots.
	var junit *os.File
	if p := c.String("junit"); p != "" {
		if junit, err = os.Create(p); err != nil {
			return &usageError{Msg: fmt.Sprintf("--junit: %v", err), Hint: "the report's directory must exist."}
		}
		defer junit.Close()
	}

	// Signals only cancel the run; whoever is running notices and stops
	// what it started. (A SIGHUP, a closed terminal, stops it too: there
	// is nothing to reload.)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := &checkLog{}
	r := &checkRun{
		Report: &smoke.Report{
			Out:     os.Stdout,
			Plain:   c.Bool("plain"),
			GitHub:  os.Getenv("GITHUB_ACTIONS") != "",
			Started: time.Now(),
			Log:     log,
		},
		ctx:     ctx,
		verbose: c.Bool("verbose"),
		log:     log,
	}
	if c.Bool("json") {
		r.Out = os.Stderr
	}
	if f, ok := r.Out.(*os.File); ok && os.Getenv("NO_COLOR") == "" {
		r.Color = term.IsTerminal(int(f.Fd()))
	}
	if r.verbose {
		r.log.live = os.Stderr
	}

	go r.watchSignals(sigs, cancel)
	code := r.run(c, reqs)

	if code != 0 && !r.verbose {
		if log := strings.TrimRight(r.log.String(), "\n"); log != "" {
			fmt.Fprintf(os.Stderr, "--- gowsgi log (shown because a check failed; -v shows it always) ---\n%s\n--- end of gowsgi log ---\n", log)
		}
	}
	io.WriteString(os.Stderr, r.bootReport)
	passed, failed := r.Counts()
	if c.Bool("json") {
		r.WriteJSON(os.Stdout, code)
	}
	if junit != nil {
		if err := r.WriteJUnit(junit); err != nil {
			fatalf("writing the JUnit report %s: %v", junit.Name(), err)
			code = checkExitNoStart
		}
	}
	// The closing line, in the shape CI runners read.
	fmt.Fprintf(r.Out, "%d passed, %d failed\n", passed, failed)
	if code == 0 {
		return nil
	}
	return master.ExitCode(code)
}

// watchSignals cancels the run on the first signal and remembers which.
func (r *checkRun) watchSignals(sigs <-chan os.Signal, cancel context.CancelFunc) {
	select {
	case s := <-sigs:
		r.mu.Lock()
		r.signal = s
		r.mu.Unlock()
		cancel()
	case <-r.ctx.Done():
	}
}

// caught is the signal that interrupted the run, or nil.
func (r *checkRun) caught() os.Signal {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.signal
}

// run boots the app, runs every check and stops the app; it returns the
// exit code.
func (r *checkRun) run(c *cli.Context, reqs []*smoke.Request) int {
	start := time.Now()
	mc, settings, err := checkMasterConfig(c, r.log)
	if err != nil {
		return r.bootFailed(err, start)
	}
	// A signal during the boot is seen both by master.Start (which kills
	// the workers it started) and by r.ctx.
	m, err := master.Start(r.ctx, mc)
	if err != nil {
		return r.bootFailed(err, start)
	}
	url := m.URLs()[0]
	r.Add(smoke.Result{Name: "boot", OK: true, DurationMS: smoke.MsSince(start),
		Line: fmt.Sprintf("boot %s on %s in %d ms (%d worker(s) x %d thread(s), python %s)",
			mc.AppLabel, url, time.Since(start).Milliseconds(), mc.Workers.Processes, mc.Workers.Threads, m.PythonVersion())})

	// The checks run beside the master's signal loop, which stops the app
	// when they are done (or at once on a signal, or when a request timed
	// out and its worker is still busy with it).
	runCtx, stopApp := context.WithCancelCause(context.Background())
	checked := make(chan struct{})
	go func() {
		defer close(checked)
		ctx, cancel := context.WithCancel(r.ctx)
		defer cancel()
		go func() {
			select {
			case <-m.Stopping():
				r.interrupted(m.StopSignal())
				cancel()
			case <-ctx.Done():
			}
		}()
		stuck := r.checkAll(ctx, c, mc, url, settings, reqs)
		if stuck {
			stopApp(master.ErrStopNow)
		} else {
			stopApp(nil)
		}
	}()
	m.Run(runCtx)
	<-checked
	if s := r.caught(); s != nil {
		fatalf("check: interrupted by %s; the app is stopped and the remaining checks did not run", master.SignalName(s))
		return checkExitFailed
	}
	if _, failed := r.Counts(); failed > 0 {
		return checkExitFailed
	}
	return exitOK
}

// checkAll runs Django's checks and every request; it reports whether a
// request timed out (its worker is still busy with it).
func (r *checkRun) checkAll(ctx context.Context, c *cli.Context, mc master.Config, url, settings string, reqs []*smoke.Request) (stuck bool) {
	// Django's checks run after the boot, not beside it: an app that does
	// not import is reported once, by the boot, and the two pythons do not
	// compete for the CPU of a small CI runner.
	djangoStart := time.Now()
	rep := project.RunChecks(ctx, mc.Workers, settings, c.Bool("deploy"), r.log)
	if ctx.Err() == nil {
		r.addDjango(rep, c.Bool("deploy"), smoke.MsSince(djangoStart))
	}
	client, transport := smoke.NewClient()
	defer transport.CloseIdleConnections()
	for _, req := range reqs {
		if ctx.Err() != nil {
			break
		}
		res := smoke.Do(r.ctx, client, url, c.String("host"), version, c.Duration("timeout"), req)
		stuck = stuck || res.TimedOut
		r.Add(res)
	}
	return stuck
}

// interrupted records the signal that stopped the run.
func (r *checkRun) interrupted(s os.Signal) {
	if s == nil {
		return
	}
	r.mu.Lock()
	if r.signal == nil {
		r.signal = s
	}
	r.mu.Unlock()
}

// checkMasterConfig builds what the master runs, as serve would, and
// returns the Django settings module when the app is a Django project
// found by its directory.
func checkMasterConfig(c *cli.Context, log io.Writer) (master.Config, string, error) {
	var mc master.Config
	cfg, _, err := readConfig(c)
	if err != nil {
		return mc, "", err
	}
	settings := ""
	if !c.IsSet("ini") {
		if dir := c.Args().First(); dir != "" {
			cfg.Chdir = dir
		}
		if cfg.WSGIFile == "" && cfg.Module == "" {
			if cfg, settings, err = checkDjangoProject(c, cfg); err != nil {
				return mc, "", err
			}
		}
	}
	if err := cfg.ValidateWith(config.ValidateOptions{NoListener: true}); err != nil {
		return mc, "", &usageError{Msg: err.Error()}
	}
	addr := "127.0.0.1:0"
	if c.IsSet("http") {
		if len(cfg.HTTP) != 1 || cfg.HTTP[0].Network == "unix" {
			return mc, "", &usageError{Msg: "--http: give one TCP address for check", Hint: "--http 127.0.0.1:8123, or leave it out for a free port."}
		}
		addr = master.ListenAddr(cfg.HTTP[0])
	}
	if mc, err = master.FromConfig(cfg); err != nil {
		return mc, "", err
	}
	// One private listener; nothing that outlives the check or writes
	// where serve would.
	mc.Mode = master.ModeCheck
	mc.Banner = func(*master.Master) {} // check prints its own report
	mc.HTTP = []master.Listen{{Addr: addr, Flag: "--http"}}
	mc.Uwsgi = nil
	mc.Pidfile, mc.Daemonize, mc.Logto = "", "", ""
	mc.TouchReload, mc.PyAutoreload = nil, 0
	mc.Out = log
	mc.Workers.Stdout, mc.Workers.Stderr = log, log
	mc.Grace = 5 * time.Second
	// The URLconf and its views are imported at boot, so a broken views.py
	// fails the boot with its traceback instead of giving 500s.
	mc.Workers.EagerURLConf = true
	if settings != "" {
		mc.Workers.DjangoSettings = settings
		mc.AppLabel = mc.Workers.Module + "." + mc.Workers.Callable
	}
	return mc, settings, nil
}

// bootFailed records why the app could not start; the error is printed as
// serve prints it, with its hint.
func (r *checkRun) bootFailed(err error, start time.Time) int {
	if s := r.caught(); s != nil && !errors.Is(err, master.ErrInterrupted) {
		err = fmt.Errorf("%s: %w", master.SignalName(s), master.ErrInterrupted)
	}
	var be *pyworker.BootError
	var msg bytes.Buffer
	report(&msg, err)
	res := smoke.Result{Name: "boot", DurationMS: smoke.MsSince(start), Detail: msg.String()}
	r.bootReport = msg.String()
	if errors.As(err, &be) && be.Traceback != "" && strings.Contains(r.log.String(), strings.TrimSpace(be.Traceback)) {
		// The worker printed the traceback into the log, which is shown
		// just before: say it once.
		msg.Reset()
		report(&msg, &pyworker.BootError{Type: be.Type, Message: be.Message, Filename: be.Filename, Lineno: be.Lineno})
		r.bootReport = msg.String()
	}
	if be != nil {
		res.Line = "boot: " + be.Error()
		res.File, res.Lineno = be.Filename, be.Lineno
	} else {
		res.Line = "boot: " + firstLine(msg.String())
	}
	r.Add(res)
	return checkExitNoStart
}

func firstLine(s string) string {
	s = strings.TrimPrefix(strings.TrimSpace(s), "gowsgi: ")
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
