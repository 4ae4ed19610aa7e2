package master

// This file is a master's start: bind every listener, drop privileges,
// start the workers, then serve. Start is shared by serve, dev and check;
// what follows it is the one signal loop in loop.go.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/gowsgi/gowsgi/gateway"
	"github.com/gowsgi/gowsgi/pyworker"
)

// Version is the gowsgi version, shown in banners and on the status page;
// cmd/gowsgi sets it.
var Version = "dev"

// Master is a running gowsgi master.
type Master struct {
	cfg       Config
	listeners []net.Listener
	mgr       *pyworker.Manager
	servers   []*gateway.Server
	// uwsgiListeners (--socket) share one UwsgiServer: unlike HTTP, its
	// environ takes each connection's own local address.
	uwsgiListeners []net.Listener
	uwsgi          *gateway.UwsgiServer

	// listenFn creates (or inherits) listeners; Serve passes tableflip's,
	// so a HUP hands them to the new process. nil: bindSocket.
	listenFn func(network, addr string) (net.Listener, error)
	// out, workerOut and workerErr are where the master and its workers
	// write: Config.Out, or the log file Serve opened (logto, daemonize).
	out, workerOut, workerErr io.Writer
	// msgs is out for the master's own messages: dated with logdate
	// (gateway.DatedWriter). The access log and an app's traceback are
	// written to out as they are.
	msgs io.Writer

	// sigs receives SIGINT, SIGTERM and SIGHUP from the moment the master
	// starts, so no signal falls to its default action (exit) while the
	// workers boot. pendingHUP is a SIGHUP that arrived during the boot.
	sigs       chan os.Signal
	pendingHUP bool
	// restarts receives what touch-reload and py-autoreload ask for: a
	// restart named after them, never mistaken for a stop signal.
	restarts chan string

	// bootErr is the import failure of the newest generation while no
	// generation of the app is live (dev mode only).
	bootErr atomic.Pointer[pyworker.BootError]
	alog    *gateway.AccessLog
	logger  *log.Logger
	ops     *opsState // stats endpoint (stats.go)
	// engine is set when the workers serve the connections (engine.go).
	engine *engineSetup
	dev    *devState // dev mode's watching (dev.go)
	// front are the master's servers on the engine's sockets while the app
	// does not import (dev mode, devfront.go).
	front []*gateway.Server

	// handedOver is set once a HUP's new master took the sockets: this
	// one must not unlink the unix socket paths it serves on now.
	handedOver atomic.Bool
	// inherited is set while the sockets are a previous master's that
	// serves on them (a HUP's new master before it is ready).
	inherited atomic.Bool
	stopping  chan struct{} // closed when a stop begins
	stopSig   atomic.Value  // os.Signal that began it, if any
}

func (m *Master) logf(format string, a ...any) { m.logger.Printf(format, a...) }

// Start binds every listener, then starts the workers and waits until
// they are ready. On error everything started is stopped again.
func Start(ctx context.Context, cfg Config) (*Master, error) {
	return start(ctx, cfg, startOptions{})
}

// startOptions are what Serve sets up before a production master starts.
type startOptions struct {
	// listenFn creates or inherits listeners (tableflip's); nil:
	// bindSocket.
	listenFn func(network, addr string) (net.Listener, error)
	outs     *outputs // the log file; nil: Config.Out and the workers' own
	// inherited: the sockets come from a previous master that serves on
	// them until this one is ready, so they are not this one's to unlink.
	inherited bool
}

// start is Start with what Serve sets up.
func start(ctx context.Context, cfg Config, so startOptions) (_ *Master, err error) {
	listenFn, outs := so.listenFn, so.outs
	if cfg.Out == nil {
		cfg.Out = os.Stderr
	}
	m := &Master{
		cfg: cfg, listenFn: listenFn,
		out: cfg.Out, workerOut: cfg.Workers.Stdout, workerErr: cfg.Workers.Stderr,
		sigs: make(chan os.Signal, 4), restarts: make(chan string, 1), stopping: make(chan struct{}),
	}
	if outs != nil {
		m.out, m.workerOut, m.workerErr = outs.out, outs.stdout, outs.stderr
	}
	m.inherited.Store(so.inherited)
	m.msgs = gateway.DatedWriter(m.out, gateway.StrftimeOf(cfg.AccessSpec.Date))
	m.logger = log.New(m.msgs, "gowsgi: ", 0)
	signal.Notify(m.sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, stopQuietly)
	defer func() {
		if err != nil {
			signal.Stop(m.sigs)
			m.closeListeners()
		}
	}()
	for _, l := range cfg.HTTP {
		ln, err := listen(l, listenFn)
		if err != nil {
			return nil, err
		}
		m.listeners = append(m.listeners, serveTLS(ln, l.TLS))
	}
	for _, l := range cfg.Uwsgi {
		ln, err := listen(l, listenFn)
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
	cacheDir, err := cfg.Identity.drop()
	if err != nil {
		return nil, err
	}
	opts := cfg.Workers
	opts.LogDate = gateway.StrftimeOf(cfg.AccessSpec.Date)
	if cacheDir != "" {
		opts.CacheDir = cacheDir
	}
	opts.Logf = m.logf
	opts.Stdout, opts.Stderr = m.workerOut, m.workerErr
	why, err := m.pickEngine(&opts)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			m.closeEngine()
		}
	}()
	if why != "" {
		fmt.Fprintf(m.msgs, "gowsgi: the master serves the connections (proxy path): %s\n", why)
	}
	mgr, err := pyworker.New(opts)
	if err != nil {
		return nil, err
	}
	m.mgr = mgr
	fmt.Fprintf(m.msgs, "gowsgi: starting %d worker(s) x %d thread(s) for %s with %s\n",
		opts.Processes, opts.Threads, cfg.AppLabel, opts.Python)
	err = m.startWorkers(ctx)
	err = m.fallBackToProxy(ctx, &opts, err) // a Go runtime in the app (engine.go)
	m.unpollEngine()
	if err != nil {
		var be *pyworker.BootError
		if !cfg.KeepBroken || !errors.As(err, &be) {
			m.mgr.Kill()
			return nil, err
		}
		m.setBroken(be)
	}
	if m.engine != nil {
		fmt.Fprintf(m.msgs, "gowsgi: the workers serve the connections (in-worker engine)\n")
	}
	if cfg.Mode == ModeDev && cfg.Dev != nil {
		if err := m.startDev(); err != nil {
			m.mgr.Kill()
			return nil, err
		}
	}
	if cfg.AccessLog {
		m.alog = gateway.NewAccessLog(m.out)
		m.alog.Format = cfg.AccessFormat
		m.alog.Skip = cfg.LogSkip
	}
	if m.engine == nil {
		m.serveListeners()
	} else if m.bootErr.Load() != nil {
		m.startFront()
	}
	m.publishLive()
	m.serveStats()
	return m, nil
}

// serveListeners starts answering on every listener.
func (m *Master) serveListeners() {
	cfg := &m.cfg
	backend := m.ops.metrics.Backend(gateway.Workers(m.mgr))
	for _, ln := range m.listeners {
		var h http.Handler = &gateway.Handler{
			Backend:         backend,
			Metrics:         m.ops.metrics,
			Environ:         gateway.Environ{Scheme: ListenerScheme(ln), LocalAddr: ln.Addr(), ScriptName: cfg.ScriptName, Proxies: cfg.Proxies},
			Log:             m.alog,
			Logf:            m.logf,
			Unavailable:     m.serveBroken,
			LimitPost:       cfg.LimitPost,
			Timeout:         cfg.SocketTimeout,
			Static:          cfg.StaticMaps,
			ResponseHeaders: cfg.ResponseHeaders,
		}
		if cfg.Mode == ModeDev && cfg.Dev != nil {
			h = m.devFront(h)
		}
		// One server per listener keeps LocalAddr per listener.
		srv := gateway.NewServer(h, log.New(m.msgs, "gowsgi: http: ", 0), cfg.MaxHeaderBytes, cfg.SocketTimeout)
		srv.Serve(ln)
		m.servers = append(m.servers, srv)
	}
	if len(m.uwsgiListeners) > 0 {
		m.uwsgi = &gateway.UwsgiServer{
			Backend:         backend,
			Metrics:         m.ops.metrics,
			Environ:         gateway.Environ{Scheme: "http", ScriptName: cfg.ScriptName},
			BufferSize:      cfg.BufferSize,
			LimitPost:       cfg.LimitPost,
			Timeout:         cfg.SocketTimeout,
			Static:          cfg.StaticMaps,
			ResponseHeaders: cfg.ResponseHeaders,
			Unavailable:     m.serveBroken,
			Log:             m.alog,
			Logf:            m.logf,
		}
		for _, ln := range m.uwsgiListeners {
			m.uwsgi.Serve(ln)
		}
	}
}

// startWorkers starts the first generation; SIGINT or SIGTERM meanwhile
// gives up at once, and a SIGHUP is kept for the signal loop.
func (m *Master) startWorkers(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- m.mgr.Start(ctx) }()
	for {
		select {
		case err := <-done:
			return err
		case sig := <-m.sigs:
			if sig == syscall.SIGHUP && m.cfg.Mode != ModeCheck {
				if !m.pendingHUP {
					m.logf("SIGHUP while the workers start: restarting once they are up")
				}
				m.pendingHUP = true
				continue
			}
			m.mgr.Kill()
			<-done
			return fmt.Errorf("%s: %w", SignalName(sig), ErrInterrupted)
		}
	}
}

// setBroken records (or, with nil, clears) an import failure and prints
// its traceback once.
func (m *Master) setBroken(be *pyworker.BootError) {
	m.bootErr.Store(be)
	if be != nil {
		fmt.Fprintf(m.out, "%s\n", strings.TrimRight(be.Traceback, "\n"))
		fmt.Fprintf(m.msgs, "gowsgi: %v\n", be)
	}
}

// serveBroken answers with the import error page while the app is broken
// (dev mode) and reports whether it did.
func (m *Master) serveBroken(w http.ResponseWriter, r *http.Request) bool {
	be := m.bootErr.Load()
	if be == nil {
		return false
	}
	gateway.WriteBootError(w, be)
	return true
}
