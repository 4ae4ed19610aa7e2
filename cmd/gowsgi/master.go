package main

// This file is the master process's life: bind, start the workers, serve,
// and stop in order on a signal. serve, dev and check all run through it.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gowsgi/gowsgi/gateway"
	"github.com/gowsgi/gowsgi/pyworker"
)

// listenSpec is one address to serve and the flag that asked for it.
type listenSpec struct {
	addr string // host:port, or a path for a unix socket
	flag string
	mode os.FileMode // unix sockets: chmod-socket, 0 = leave as created
	tls  *tls.Config // https: TLS over this listener (tls.go)
	// backlog, when set, is the listen queue (uWSGI's listen, backlog.go).
	backlog int
}

func (l listenSpec) network() string {
	if strings.Contains(l.addr, "/") || strings.HasPrefix(l.addr, "unix:") {
		return "unix"
	}
	return "tcp"
}

// masterConfig is what the master needs, whichever command built it.
type masterConfig struct {
	http       []listenSpec
	uwsgi      []listenSpec // uwsgi protocol listeners (--socket)
	bufferSize int          // largest uwsgi packet (--buffer-size); 0 is the default

	// maxHeaderBytes bounds an HTTP request's line and headers (431 past
	// it): buffer-size when set, else 0, net/http's 64 KiB.
	maxHeaderBytes int
	// socketTimeout is how long a client may stay silent while it sends a
	// request or reads a response (--socket-timeout); 0 is 30s.
	socketTimeout time.Duration

	workers    pyworker.Options
	accessLog  bool
	grace      time.Duration // how long in-flight requests may take on stop
	out        io.Writer     // banner and logs
	appLabel   string        // for the banner
	scriptName string

	// wrap, when set, wraps each listener's handler (dev mode: static
	// files, live reload).
	wrap func(http.Handler) http.Handler
	// keepBroken keeps the master up when the app fails to import at start
	// (dev mode serves the error page until the next save fixes it).
	keepBroken   bool
	pidfile      string        // write the master's pid here (serve)
	daemonize    string        // detach, logging here (serve)
	logto        string        // log to this file instead of stderr
	touchReload  []string      // a change to one of these restarts with no downtime
	pyAutoreload time.Duration // watch the app's Python files (uWSGI py-autoreload)
	staticMaps   []*gateway.Static
	limitPost    int64    // largest request body; 0 = no limit
	identity     identity // uid/gid to switch to after binding
	proxies      *gateway.Proxies

	// listenFn, when set, creates (or inherits) listeners; the serve
	// command passes tableflip's, so a HUP hands them to the new process.
	listenFn func(network, addr string) (net.Listener, error)
	// accessFormat overrides the access log's line format.
	accessFormat func(dst []byte, r *http.Request, status int, size int64, d time.Duration, pid, gen int) []byte
	ops          opsConfig // stats endpoint, log format and rotation (stats.go)
	// logSkip, when set, leaves out the access log lines of the statuses
	// it reports (log-4xx/log-5xx with disable-logging, uwsgi_options.go).
	logSkip func(status int) bool
	// responseHeaders are added to every response of the uwsgi listeners
	// (add-header; HTTP listeners get them through wrap).
	responseHeaders gateway.ResponseHeaders
}

// master is a running gowsgi.
type master struct {
	cfg       masterConfig
	listeners []net.Listener
	mgr       *pyworker.Manager
	servers   []*gateway.Server
	// uwsgiListeners (--socket) share one UwsgiServer: unlike HTTP, its
	// environ takes each connection's own local address.
	uwsgiListeners []net.Listener
	uwsgi          *gateway.UwsgiServer

	// sigs receives SIGINT, SIGTERM and SIGHUP from the moment the master
	// starts, so no signal falls to its default action (exit) while the
	// workers boot. pendingHUP is a SIGHUP that arrived during the boot.
	sigs       chan os.Signal
	pendingHUP bool
	// restartWhy is the option that queued the next SIGHUP (touch.go).
	restartWhy atomic.Pointer[string]

	// bootErr is the import failure of the newest generation while no
	// generation of the app is live (dev mode only).
	bootErr atomic.Pointer[pyworker.BootError]
	alog    *gateway.AccessLog
	logger  *log.Logger
	ops     *opsState // stats endpoint (stats.go)
}

func (m *master) logf(format string, a ...any) { m.logger.Printf(format, a...) }

// startMaster binds every listener, then starts the workers and waits until
// they are ready. On error everything started is stopped again.
func startMaster(ctx context.Context, cfg masterConfig) (_ *master, err error) {
	m := &master{cfg: cfg, logger: log.New(cfg.out, "gowsgi: ", 0), sigs: make(chan os.Signal, 4)}
	signal.Notify(m.sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer func() {
		if err != nil {
			signal.Stop(m.sigs)
			m.closeListeners()
		}
	}()
	for _, l := range cfg.http {
		ln, err := listen(l, cfg.listenFn)
		if err != nil {
			return nil, err
		}
		m.listeners = append(m.listeners, serveTLS(ln, l.tls))
	}
	for _, l := range cfg.uwsgi {
		ln, err := listen(l, cfg.listenFn)
		if err != nil {
			return nil, err
		}
		m.uwsgiListeners = append(m.uwsgiListeners, ln)
	}
	if err := m.listenStats(); err != nil {
		return nil, err
	}
	// Ports are bound: from here on nothing needs root, and the app must
	// not have it.
	if err := cfg.identity.drop(); err != nil {
		return nil, err
	}
	cfg.workers.Logf = m.logf
	mgr, err := pyworker.New(cfg.workers)
	if err != nil {
		return nil, err
	}
	m.mgr = mgr
	fmt.Fprintf(cfg.out, "gowsgi: starting %d worker(s) x %d thread(s) for %s with %s\n",
		cfg.workers.Processes, cfg.workers.Threads, cfg.appLabel, cfg.workers.Python)
	if err := m.startWorkers(ctx); err != nil {
		var be *pyworker.BootError
		if !cfg.keepBroken || !errors.As(err, &be) {
			mgr.Kill()
			return nil, err
		}
		m.setBroken(be)
	}
	if cfg.accessLog {
		m.alog = gateway.NewAccessLog(cfg.out)
		m.alog.Format = cfg.accessFormat
		m.alog.Skip = cfg.logSkip
	}
	for _, ln := range m.listeners {
		var h http.Handler = &gateway.Handler{
			Backend:     m.ops.metrics.Backend(mgr),
			Metrics:     m.ops.metrics,
			Environ:     gateway.Environ{Scheme: listenerScheme(ln), LocalAddr: ln.Addr(), ScriptName: cfg.scriptName, Proxies: cfg.proxies},
			Log:         m.alog,
			Logf:        m.logf,
			Unavailable: m.serveBroken,
			LimitPost:   cfg.limitPost,
			Timeout:     cfg.socketTimeout,
		}
		if len(cfg.staticMaps) > 0 {
			h = staticFirst(cfg.staticMaps, h)
		}
		if cfg.wrap != nil {
			h = cfg.wrap(h)
		}
		// One server per listener keeps LocalAddr per listener.
		srv := gateway.NewServer(h, log.New(cfg.out, "gowsgi: http: ", 0), cfg.maxHeaderBytes, cfg.socketTimeout)
		srv.Serve(ln)
		m.servers = append(m.servers, srv)
	}
	if len(m.uwsgiListeners) > 0 {
		m.uwsgi = &gateway.UwsgiServer{
			Backend:    m.ops.metrics.Backend(mgr),
			Metrics:    m.ops.metrics,
			Environ:    gateway.Environ{Scheme: "http", ScriptName: cfg.scriptName},
			BufferSize: cfg.bufferSize,
			LimitPost:  cfg.limitPost,
			Timeout:    cfg.socketTimeout,
			Log:        m.alog,
			Logf:       m.logf,

			ResponseHeaders: cfg.responseHeaders,
		}
		for _, ln := range m.uwsgiListeners {
			m.uwsgi.Serve(ln)
		}
	}
	m.serveStats()
	return m, nil
}

// staticFirst serves the static mounts (uWSGI's static-map) before the app;
// a path no directory has goes to the app.
func staticFirst(mounts []*gateway.Static, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, st := range mounts {
			if st.Match(r.URL.Path) && st.Serve(w, r) {
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// errInterrupted is returned when a signal stops the master while its
// workers boot.
var errInterrupted = errors.New("interrupted while the workers were starting")

// startWorkers starts the first generation; SIGINT or SIGTERM meanwhile
// gives up at once.
func (m *master) startWorkers(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- m.mgr.Start(ctx) }()
	for {
		select {
		case err := <-done:
			return err
		case sig := <-m.sigs:
			if sig == syscall.SIGHUP {
				m.pendingHUP = true
				continue
			}
			m.mgr.Kill()
			return fmt.Errorf("%s: %w", sigName(sig), errInterrupted)
		}
	}
}

// setBroken records (or, with nil, clears) an import failure and prints
// its traceback once.
func (m *master) setBroken(be *pyworker.BootError) {
	m.bootErr.Store(be)
	if be != nil {
		fmt.Fprintf(m.cfg.out, "%s\ngowsgi: %v\n", strings.TrimRight(be.Traceback, "\n"), be)
	}
}

// serveBroken answers with the import error page while the app is broken.
func (m *master) serveBroken(w http.ResponseWriter, r *http.Request) bool {
	be := m.bootErr.Load()
	if be == nil {
		return false
	}
	gateway.WriteBootError(w, be)
	return true
}

// listen binds one address, through listenFn when set (it returns an
// inherited socket after a HUP).
func listen(l listenSpec, listenFn func(network, addr string) (net.Listener, error)) (net.Listener, error) {
	addr := strings.TrimPrefix(l.addr, "unix:")
	if listenFn == nil {
		listenFn = net.Listen
	}
	if l.network() == "unix" {
		if dir := filepath.Dir(addr); dir != "" {
			if _, err := os.Stat(dir); err != nil {
				return nil, &listenError{addr: l.addr, flag: l.flag, err: err}
			}
		}
		// A socket file left by a crashed run is replaced only when
		// nothing answers on it. (An inherited socket answers: it is ours.)
		if _, err := os.Stat(addr); err == nil && !systemdOwns(addr) {
			if c, err := net.DialTimeout("unix", addr, time.Second); err == nil {
				c.Close()
				if ln, err := listenFn("unix", addr); err == nil {
					return ln, nil // inherited from the previous master
				}
				return nil, &listenError{addr: l.addr, flag: l.flag, err: syscall.EADDRINUSE}
			}
			os.Remove(addr)
		}
	}
	ln, err := listenFn(l.network(), addr)
	if err == nil && l.backlog > 0 {
		if berr := setBacklog(ln, l.backlog); berr != nil {
			ln.Close()
			return nil, &listenError{addr: l.addr, flag: "listen", err: berr}
		}
	}
	if err == nil && l.network() == "unix" && l.mode != 0 && !systemdOwns(addr) {
		if cerr := os.Chmod(addr, l.mode); cerr != nil {
			ln.Close()
			return nil, &listenError{addr: l.addr, flag: "chmod-socket", err: cerr}
		}
	}
	if err != nil {
		for _, target := range []error{syscall.EADDRINUSE, syscall.EACCES, syscall.EADDRNOTAVAIL} {
			if errors.Is(err, target) {
				err = target
			}
		}
		var op *net.OpError
		if errors.As(err, &op) {
			err = op.Err
			var se *os.SyscallError
			if errors.As(err, &se) {
				err = se.Err
			}
		}
		return nil, &listenError{addr: l.addr, flag: l.flag, err: err}
	}
	return ln, nil
}

// urls lists where the master listens, as a person would open them.
func (m *master) urls() []string {
	var out []string
	for _, ln := range m.listeners {
		a := ln.Addr()
		if a.Network() == "unix" {
			out = append(out, "unix:"+a.String())
			continue
		}
		out = append(out, listenerScheme(ln)+"://"+a.String())
	}
	// uwsgi://ADDR: ADDR is what nginx's uwsgi_pass takes.
	for _, ln := range m.uwsgiListeners {
		a := ln.Addr()
		if a.Network() == "unix" {
			out = append(out, "uwsgi://unix:"+a.String())
			continue
		}
		out = append(out, "uwsgi://"+a.String())
	}
	return out
}

// printReady prints where the master listens, as runserver does.
func (m *master) printReady() {
	st := m.mgr.Status()
	py := st.Python
	if i := strings.IndexByte(py, ' '); i > 0 {
		py = py[:i]
	}
	ready := 0
	for _, w := range st.Workers {
		if w.State == "ready" {
			ready++
		}
	}
	// One write, so a reader never sees half of the block.
	var b strings.Builder
	fmt.Fprintf(&b, "gowsgi %s: %d of %d worker processes ready, %d thread(s) each (python %s, generation %d)\n",
		version, ready, m.cfg.workers.Processes, m.cfg.workers.Threads, py, st.Generation)
	for _, u := range m.urls() {
		fmt.Fprintf(&b, "gowsgi: listening on %s\n", u)
	}
	b.WriteString("gowsgi: quit with CONTROL-C\n")
	io.WriteString(m.cfg.out, b.String())
}

func sigName(s os.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

// shutdown is the two-phase stop: stop accepting and let in-flight
// requests finish, then stop the workers; whatever is left after the grace
// period is killed.
func (m *master) shutdown() error {
	grace := m.cfg.grace
	if grace == 0 {
		grace = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	for _, s := range m.servers {
		s.Shutdown(ctx)
	}
	if m.uwsgi != nil {
		m.uwsgi.Shutdown(ctx)
	}
	err := m.mgr.Stop(ctx)
	m.closeAll()
	return err
}

// drain is the old master's half of a HUP: the new master serves on the
// same sockets now, so stop accepting, answer each open connection once
// more with "Connection: close", finish in-flight requests, then stop the
// workers.
func (m *master) drain() error {
	grace := m.cfg.grace
	if grace == 0 {
		grace = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range m.servers {
		wg.Add(1)
		go func(s *gateway.Server) {
			defer wg.Done()
			s.Drain(ctx, 2*time.Second)
		}(s)
	}
	if m.uwsgi != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.uwsgi.Shutdown(ctx)
		}()
	}
	wg.Wait()
	m.stopStats()
	err := m.mgr.Stop(ctx)
	if m.alog != nil {
		m.alog.Close()
	}
	return err
}

func (m *master) kill() {
	for _, s := range m.servers {
		s.Close()
	}
	if m.uwsgi != nil {
		m.uwsgi.Close()
	}
	m.mgr.Kill()
	m.closeAll()
}

func (m *master) closeAll() {
	m.closeListeners()
	if m.alog != nil {
		m.alog.Close()
	}
}

func (m *master) closeListeners() {
	m.stopStats()
	for _, ln := range append(m.listeners[:len(m.listeners):len(m.listeners)], m.uwsgiListeners...) {
		ln.Close()
		if ln.Addr().Network() == "unix" && !systemdOwns(ln.Addr().String()) {
			os.Remove(ln.Addr().String())
		}
	}
}
