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
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/gowsgi/gowsgi/config"
	"github.com/gowsgi/gowsgi/master"
	"github.com/gowsgi/gowsgi/pyworker"
)

// Exit codes of `gowsgi check` (see README.md, "CI smoke test").
const (
	checkExitFailed  = 1 // a check failed (or the run was interrupted)
	checkExitNoStart = 2 // bad flags or config, no python, a taken --http, the app does not import
)

func checkCommand() *cli.Command {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "ini", Usage: "boot the app of uWSGI's ini `FILE[:section]` instead of a project directory; its listeners, pidfile, daemonize and logto are ignored"},
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

// checkRequest is one --get or --post.
type checkRequest struct {
	method, path string
	body         []byte
	contentType  string
	want         statusWant
	expect       []string // --expect-body texts
}

func (r *checkRequest) name() string { return r.method + " " + r.path }

// statusWant is the status a request must get: an exact code, a class
// (2 for 2xx), or, when both are zero, anything below 500.
type statusWant struct{ code, class int }

func (w statusWant) ok(status int) bool {
	switch {
	case w.code != 0:
		return status == w.code
	case w.class != 0:
		return status/100 == w.class
	}
	return status < 500
}

func (w statusWant) String() string {
	switch {
	case w.code != 0:
		return fmt.Sprint(w.code)
	case w.class != 0:
		return fmt.Sprintf("%dxx", w.class)
	}
	return "< 500"
}

var statusRE = regexp.MustCompile(`^[1-5](?:[0-9][0-9]|xx)$`)

// splitStatus takes a trailing =STATUS off a spec. Only a status-shaped
// suffix counts, so `/slow/?s=5` is a path; `/page/?n=200` must be written
// `/page/?n=200=2xx` (or with its own expected status).
func splitStatus(spec string) (string, statusWant) {
	i := strings.LastIndexByte(spec, '=')
	if i <= 0 || !statusRE.MatchString(spec[i+1:]) {
		return spec, statusWant{}
	}
	s := spec[i+1:]
	if strings.HasSuffix(s, "xx") {
		return spec[:i], statusWant{class: int(s[0] - '0')}
	}
	var code int
	fmt.Sscanf(s, "%d", &code)
	return spec[:i], statusWant{code: code}
}

// postTypes are the Content-Types of --post bodies by the file's
// extension; any other file is a urlencoded form (name=x&lang=go), what a
// web form posts. A fixed table, not the system's mime.types, so a check
// sends the same request on every machine.
var postTypes = map[string]string{
	".json": "application/json",
	".xml":  "application/xml",
	".txt":  "text/plain; charset=utf-8",
	".html": "text/html; charset=utf-8",
}

// parseCheckRequests reads --get, --post and --expect-body. With neither
// --get nor --post the plan is GET / expecting a status below 500.
func parseCheckRequests(gets, posts, expects []string) ([]*checkRequest, error) {
	var reqs []*checkRequest
	for _, g := range gets {
		path, want := splitStatus(g)
		if !strings.HasPrefix(path, "/") {
			return nil, &usageError{Msg: fmt.Sprintf("--get %s: the path must start with /", g), Hint: "--get /items/ or --get /items/=200"}
		}
		reqs = append(reqs, &checkRequest{method: "GET", path: path, want: want})
	}
	for _, p := range posts {
		rest, want := splitStatus(p)
		i := strings.LastIndexByte(rest, '=')
		if i <= 0 || i == len(rest)-1 || !strings.HasPrefix(rest, "/") {
			return nil, &usageError{Msg: fmt.Sprintf("--post %s: want PATH=FILE[=STATUS]", p), Hint: "--post /form/=testdata/form.txt or --post /api/items/=item.json=201"}
		}
		path, file := rest[:i], rest[i+1:]
		body, err := os.ReadFile(file)
		if err != nil {
			return nil, &usageError{Msg: fmt.Sprintf("--post %s: %v", p, err), Hint: "FILE is read from the directory gowsgi check runs in."}
		}
		ctype, ok := postTypes[strings.ToLower(filepath.Ext(file))]
		if !ok {
			ctype = "application/x-www-form-urlencoded"
		}
		reqs = append(reqs, &checkRequest{method: "POST", path: path, body: body, contentType: ctype, want: want})
	}
	if len(reqs) == 0 {
		reqs = []*checkRequest{{method: "GET", path: "/"}}
	}
	for _, e := range expects {
		// The longest request path followed by "=" names the requests: both
		// paths and texts may hold "=".
		best := ""
		for _, r := range reqs {
			if strings.HasPrefix(e, r.path+"=") && len(r.path) > len(best) {
				best = r.path
			}
		}
		if best == "" {
			return nil, &usageError{Msg: fmt.Sprintf("--expect-body %s: no --get or --post of that path", e), Hint: "write --expect-body PATH=TEXT with the PATH of a --get or --post exactly as given."}
		}
		for _, r := range reqs {
			if r.path == best {
				r.expect = append(r.expect, e[len(best)+1:])
			}
		}
	}
	return reqs, nil
}

// checkRun is one `gowsgi check`: its options, its log and its results.
type checkRun struct {
	ctx     context.Context // cancelled by SIGINT, SIGTERM or SIGHUP
	out     io.Writer       // the check lines: stdout, or stderr with --json
	color   bool
	plain   bool
	verbose bool
	github  bool
	log     *checkLog
	started time.Time
	// bootReport is the error of a failed boot as serve prints it (the
	// traceback, the cause, a hint), printed after the log.
	bootReport string

	mu      sync.Mutex
	results []checkResult
	signal  os.Signal // the signal that interrupted the run
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
	reqs, err := parseCheckRequests(c.StringSlice("get"), c.StringSlice("post"), c.StringSlice("expect-body"))
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
	r := &checkRun{
		ctx:     ctx,
		out:     os.Stdout,
		plain:   c.Bool("plain"),
		verbose: c.Bool("verbose"),
		github:  os.Getenv("GITHUB_ACTIONS") != "",
		log:     &checkLog{},
		started: time.Now(),
	}
	if c.Bool("json") {
		r.out = os.Stderr
	}
	if f, ok := r.out.(*os.File); ok && os.Getenv("NO_COLOR") == "" {
		r.color = term.IsTerminal(int(f.Fd()))
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
	passed, failed := r.counts()
	if c.Bool("json") {
		r.writeJSON(os.Stdout, code)
	}
	if junit != nil {
		if err := r.writeJUnit(junit); err != nil {
			fatalf("writing the JUnit report %s: %v", junit.Name(), err)
			code = checkExitNoStart
		}
	}
	// The closing line, in the shape CI runners read.
	fmt.Fprintf(r.out, "%d passed, %d failed\n", passed, failed)
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
func (r *checkRun) run(c *cli.Context, reqs []*checkRequest) int {
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
	r.add(checkResult{Name: "boot", OK: true, DurationMS: msSince(start),
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
	if _, failed := r.counts(); failed > 0 {
		return checkExitFailed
	}
	return exitOK
}

// checkAll runs Django's checks and every request; it reports whether a
// request timed out (its worker is still busy with it).
func (r *checkRun) checkAll(ctx context.Context, c *cli.Context, mc master.Config, url, settings string, reqs []*checkRequest) (stuck bool) {
	// Django's checks run after the boot, not beside it: an app that does
	// not import is reported once, by the boot, and the two pythons do not
	// compete for the CPU of a small CI runner.
	djangoStart := time.Now()
	rep := runDjangoChecks(ctx, mc.Workers, settings, c.Bool("deploy"), r.log)
	if ctx.Err() == nil {
		r.addDjango(rep, c.Bool("deploy"), msSince(djangoStart))
	}
	client, transport := checkClient()
	defer transport.CloseIdleConnections()
	for _, req := range reqs {
		if ctx.Err() != nil {
			break
		}
		res := r.do(client, url, c.String("host"), c.Duration("timeout"), req)
		stuck = stuck || res.TimedOut
		r.add(res)
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
	base := config.Default()
	if ini := c.String("ini"); ini != "" {
		var warns []config.Warning
		var err error
		base, warns, err = config.LoadWith(ini, config.LoadOptions{Strict: c.Bool("strict")})
		for _, w := range warns {
			fmt.Fprintf(os.Stderr, "gowsgi: warning: %s\n", w)
		}
		if err != nil {
			return mc, "", &usageError{Msg: err.Error(), Hint: "fix the ini file; gowsgi names the line."}
		}
	}
	cfg, err := config.FromCLI(c, base)
	if err != nil {
		return mc, "", &usageError{Msg: err.Error()}
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
	if mc, err = masterFromConfig(cfg); err != nil {
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
	res := checkResult{Name: "boot", DurationMS: msSince(start), Detail: msg.String()}
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
		res.file, res.line = be.Filename, be.Lineno
	} else {
		res.Line = "boot: " + firstLine(msg.String())
	}
	r.add(res)
	return checkExitNoStart
}

func firstLine(s string) string {
	s = strings.TrimPrefix(strings.TrimSpace(s), "gowsgi: ")
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// checkClient makes requests as a browser would reach the app directly:
// no proxy from the environment, redirects not followed.
func checkClient() (*http.Client, *http.Transport) {
	t := &http.Transport{
		Proxy:       nil,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}
	return &http.Client{
		Transport:     t,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, t
}

// maxCheckBody is how much of an answer is read for --expect-body; the
// rest is read and dropped, so the time covers the whole answer.
const maxCheckBody = 16 << 20

// do makes one request and judges it.
func (r *checkRun) do(client *http.Client, base, host string, timeout time.Duration, req *checkRequest) checkResult {
	res := checkResult{Name: req.name(), Want: req.want.String()}
	ctx, cancel := context.WithTimeout(r.ctx, timeout)
	defer cancel()
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	hreq, err := http.NewRequestWithContext(ctx, req.method, base+req.path, body)
	if err != nil {
		res.Line = fmt.Sprintf("%s: %v", req.name(), err)
		return res
	}
	if host != "" {
		hreq.Host = host
	}
	hreq.Header.Set("User-Agent", "gowsgi-check/"+version)
	if req.contentType != "" {
		hreq.Header.Set("Content-Type", req.contentType)
	}
	start := time.Now()
	resp, err := client.Do(hreq)
	var got []byte
	if err == nil {
		got, err = io.ReadAll(io.LimitReader(resp.Body, maxCheckBody))
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
		}
		resp.Body.Close()
		res.Status = resp.StatusCode
	}
	d := time.Since(start)
	res.DurationMS = float64(d.Microseconds()) / 1000
	switch {
	case err != nil && r.ctx.Err() != nil:
		res.Line = fmt.Sprintf("%s interrupted after %s", req.name(), fmtMS(d))
		return res
	case err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		res.TimedOut = true
		res.Line = fmt.Sprintf("%s timed out: no complete answer within %s (--timeout)", req.name(), timeout)
		return res
	case err != nil:
		res.Line = fmt.Sprintf("%s failed: %v", req.name(), err)
		return res
	}
	ms := fmtMS(d)
	if !req.want.ok(resp.StatusCode) {
		res.Line = fmt.Sprintf("%s %d (want %s) in %s", req.name(), resp.StatusCode, req.want, ms)
		res.Detail = bodyExcerpt(got)
		return res
	}
	for _, text := range req.expect {
		if !bytes.Contains(got, []byte(text)) {
			res.Line = fmt.Sprintf("%s %d in %s, but the body lacks %q", req.name(), resp.StatusCode, ms, text)
			res.Detail = bodyExcerpt(got)
			return res
		}
	}
	res.OK = true
	res.Line = fmt.Sprintf("%s %d in %s", req.name(), resp.StatusCode, ms)
	return res
}
