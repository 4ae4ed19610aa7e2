package config

// This file is the resolved configuration and its consistency checks.

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// Config is every setting of a gowsgi server, resolved: placeholders
// expanded, aliases folded into one field, defaults filled in. Load builds
// one from a uWSGI ini file, FromCLI lays command-line flags over one, and
// Default returns the defaults. Each field's doc names its ini key (which
// is also its --flag, see Flags) and what uWSGI means by it.
//
// Paths are kept as written (after placeholder expansion); relative ones
// are relative to the directory gowsgi starts in, except WSGIFile, which is
// relative to Chdir, as in uWSGI.
type Config struct {
	// Listeners. uWSGI serves every listener with the same workers; so does
	// gowsgi.

	// Socket (socket, uwsgi-socket, s) listens for the uwsgi binary
	// protocol, what nginx's uwsgi_pass speaks. Repeatable.
	Socket []Addr
	// HTTP (http) is uWSGI's front HTTP router; gowsgi has no separate
	// router process, so it is an HTTP listener like HTTPSocket.
	HTTP []Addr
	// HTTPSocket (http-socket) serves HTTP directly on the socket.
	HTTPSocket []Addr
	// HTTPS (https = addr,cert,key[,ciphers[,client-ca]]) serves HTTPS.
	HTTPS []HTTPSAddr

	// The app.

	// Chdir (chdir) is the directory the workers change to before loading
	// the app; uWSGI also puts it first on sys.path.
	Chdir string
	// WSGIFile (wsgi-file, file) is a Python file that defines the WSGI
	// callable, relative to Chdir.
	WSGIFile string
	// Module (module, wsgi, w) is the dotted module that defines the WSGI
	// callable. The ini value may be "pkg.mod:callable"; Load and FromCLI
	// split it, so Module holds "pkg.mod" and Callable "callable" (the
	// module's callable wins over a callable key, as in uWSGI).
	Module string
	// Callable (callable) is the name of the WSGI callable in WSGIFile or
	// Module. Default "application".
	Callable string
	// Home (home, virtualenv, venv, pyhome) is the app's virtualenv.
	Home string
	// Python (python) is the interpreter to run, a gowsgi key (uWSGI links
	// its Python in). Empty: pyworker.FindPython decides (Home, $VIRTUAL_ENV, the
	// virtualenv gowsgi is installed in, python3).
	Python string
	// PythonPath (pythonpath, python-path, pp) are directories added to
	// sys.path, in order. Repeatable.
	PythonPath []string
	// Env (env) are KEY=VALUE pairs set in the workers' environment, in
	// order (a later one for the same KEY wins). Repeatable.
	Env []string

	// Workers.

	// Processes (processes, workers, p) is the number of worker processes.
	// Default 1.
	Processes int
	// Threads (threads) is the number of request threads per worker.
	// Default 1.
	Threads int
	// Master (master, M) asks uWSGI for its supervising master process.
	// gowsgi always has one; the key is kept so files round-trip.
	Master bool
	// LazyApps (lazy-apps) loads the app in each worker instead of once
	// in a parent that then forks.
	LazyApps bool
	// EnableThreads (enable-threads, T) lets the app start its own threads
	// (uWSGI leaves the GIL off without it). gowsgi's workers always allow
	// threads; the key is kept so files round-trip.
	EnableThreads bool
	// QueueGets (queue-gets, gowsgi's own) lets a GET or HEAD queue behind
	// a short request running on a busy worker thread (pyworker/pool.go)
	// instead of waiting for a free thread.
	QueueGets bool
	// NeedApp (need-app) makes a failed app import fatal at start instead
	// of serving errors.
	NeedApp bool

	// Process control.

	// Pidfile (pidfile) is where the master writes its pid.
	Pidfile string
	// Daemonize (daemonize) detaches from the terminal and logs to this
	// file.
	Daemonize string
	// Logto (logto) logs to this file without detaching. uWSGI ignores
	// it when Daemonize is set, and so should the server; Load warns.
	Logto string
	// Vacuum (vacuum) removes unix sockets and the pidfile on exit.
	Vacuum bool
	// DieOnTerm (die-on-term) makes SIGTERM stop the server (uWSGI before
	// 2.1 reloads on SIGTERM without it; gowsgi always stops).
	DieOnTerm bool
	// DisableLogging (disable-logging, L) turns the request log off.
	DisableLogging bool
	// TouchReload (touch-reload) are files whose modification reloads the
	// workers gracefully. Repeatable.
	TouchReload []string
	// PyAutoreload (py-autoreload, python-autoreload) checks the app's
	// modules this often and reloads when one changed; 0 is off. The ini
	// value is in seconds.
	PyAutoreload time.Duration
	// UID and GID (uid, gid) are the user and group to run as, a name or a
	// number as written; they are resolved when the server starts.
	UID, GID string
	// ChmodSocket (chmod-socket, C) is the permission of unix sockets; 0
	// leaves the umask's. A bare "chmod-socket =" means 0666, as in uWSGI.
	ChmodSocket os.FileMode

	// Limits.

	// Harakiri (harakiri) kills a worker stuck on one request for longer
	// than this; 0 is off. The ini value is in seconds.
	Harakiri time.Duration
	// MaxRequests (max-requests) retires a worker after this many
	// requests; 0 is no limit.
	MaxRequests int
	// BufferSize (buffer-size, b) is the largest request header block
	// (uwsgi packet) accepted, in bytes. Default 4096 as in uWSGI, which
	// caps it at 65535; gowsgi allows up to 1 MiB.
	BufferSize int
	// SocketTimeout (socket-timeout) is how long a client may send nothing
	// of its request (the headers, from their first byte, or the next bytes
	// of its body), or read nothing of its response, before it is cut off
	// (408 while it sends a body). It also bounds nginx on the uwsgi
	// listener. uWSGI's default is 4 seconds for its internal sockets;
	// gowsgi's is 30, as it faces clients directly. Must be more than 0.
	SocketTimeout time.Duration
	// Listen (listen) is the listen backlog. uWSGI's default is 100;
	// gowsgi's is 1024 (the kernel caps it at net.core.somaxconn).
	Listen int
	// LimitPost (limit-post) is the largest request body in bytes; 0 is
	// no limit.
	LimitPost int64
	// ReloadOnRSS (reload-on-rss) retires a worker whose resident memory
	// passes this many MiB; 0 is off.
	ReloadOnRSS int
	// EvilReloadOnRSS (evil-reload-on-rss) kills a worker at once, even
	// mid-request, when its resident memory passes this many MiB; 0 is off.
	EvilReloadOnRSS int
	// LogFormat (log-format, logformat) is the access log's format:
	// "uwsgi" (the default), "combined" (Apache's) or "json" (one object a
	// line). A uWSGI %(var) template is accepted and logged in the default
	// format.
	LogFormat string
	// LogMaxSize (log-maxsize) rotates the logto/daemonize file when it
	// passes this many bytes; 0 never rotates.
	LogMaxSize int64
	// StaticMap (static-map = /prefix=/dir) serves files under dir for URL
	// paths under prefix, without the app. Repeatable.
	StaticMap []StaticMap
	// Stats (stats, stats-server) is where the status and metrics endpoint
	// listens; the zero Addr is off.
	Stats Addr
	// TrustedProxies (trusted-proxies) are the addresses (IPs or CIDR
	// prefixes) whose X-Forwarded-For/-Proto/-Host and Forwarded headers
	// are believed: they set REMOTE_ADDR, wsgi.url_scheme and HTTP_HOST.
	// From anyone else those headers never reach the app. Empty means
	// loopback only; "none" trusts nobody. Repeatable.
	TrustedProxies []string
	// Strict (strict) turns unknown ini keys from warnings into an error.
	Strict bool
}

// HTTPSAddr is one https listener: uWSGI's "https = addr,cert,key".
type HTTPSAddr struct {
	Addr Addr
	// Cert and Key are the PEM certificate chain and private key files.
	Cert, Key string
	// Ciphers is uWSGI's optional OpenSSL cipher list. It is kept for
	// --print-config but Go chooses its own cipher suites.
	Ciphers string
	// ClientCA is uWSGI's optional CA file for client certificates.
	ClientCA string
}

// String writes h in the ini form, addr,cert,key[,ciphers[,client-ca]].
func (h HTTPSAddr) String() string {
	parts := []string{h.Addr.String(), h.Cert, h.Key}
	switch {
	case h.ClientCA != "":
		parts = append(parts, h.Ciphers, h.ClientCA)
	case h.Ciphers != "":
		parts = append(parts, h.Ciphers)
	}
	return strings.Join(parts, ",")
}

// StaticMap is one "static-map = /prefix=/dir": requests for paths under
// Prefix are served from files under Dir.
type StaticMap struct {
	Prefix string
	Dir    string
}

// String writes m in the ini form, /prefix=/dir.
func (m StaticMap) String() string { return m.Prefix + "=" + m.Dir }

// Default returns the configuration of an empty ini file: every key at its
// default (see the key table in keys.go).
func Default() Config {
	var c Config
	for _, k := range keys {
		if k.def == "" {
			continue
		}
		if err := k.set(&c, k.def); err != nil {
			panic(fmt.Sprintf("config: default of %s: %v", k.name, err)) // a bug in the key table
		}
	}
	return c
}

// ValidateOptions relaxes Validate for callers that supply something
// themselves.
type ValidateOptions struct {
	// NoApp accepts a configuration without wsgi-file or module, for
	// callers that find the app on their own (gowsgi dev reads manage.py).
	NoApp bool
	// NoListener accepts a configuration without listeners, for callers
	// that add a default one.
	NoListener bool
}

// Validate reports every problem that would stop the server from starting
// (joined with errors.Join), each with what to change. It needs an app
// and a listener; see ValidateWith for callers that supply those.
func (c Config) Validate() error { return c.ValidateWith(ValidateOptions{}) }

// ValidateWith is Validate with the checks o relaxes left out.
func (c Config) ValidateWith(o ValidateOptions) error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	switch {
	case c.WSGIFile == "" && c.Module == "" && !o.NoApp:
		add("no app: set wsgi-file = mysite/wsgi.py or module = mysite.wsgi:application")
	case c.WSGIFile != "" && c.Module != "":
		add("wsgi-file = %s and module = %s are both set: keep one (gowsgi serves one app)", c.WSGIFile, c.Module)
	}
	if c.Module != "" {
		if err := checkModule(c.Module); err != nil {
			add("module = %s: %w", c.Module, err)
		}
	}
	if c.Callable == "" {
		add("callable is empty: remove it for the default, application")
	} else if !isIdentifier(c.Callable) {
		add("callable = %s: not a Python name", c.Callable)
	}

	// Numbers: the ranges of the key table, so an ini file, a flag and a
	// Config built in code get the same limits.
	for _, k := range keys {
		if err := k.checkRange(&c); err != nil {
			add("%s = %s: %w", k.name, k.format(&c), err)
		}
	}
	if c.SocketTimeout <= 0 {
		add("socket-timeout = %s: must be more than 0 (a client silent that long is cut off)", c.SocketTimeout)
	}
	if c.ChmodSocket > 0o777 {
		add("chmod-socket = %o: not a permission (000 to 777)", c.ChmodSocket)
	}

	n := 0
	seen := map[string]string{}
	listener := func(key string, a Addr) {
		n++
		if err := a.check(); err != nil {
			add("%s = %s: %w", key, a, err)
			return
		}
		if prev, dup := seen[a.String()]; dup {
			add("%s = %s and %s = %s are the same address: give each listener its own port or path", prev, a, key, a)
			return
		}
		seen[a.String()] = key
	}
	for _, a := range c.Socket {
		listener("socket", a)
	}
	for _, a := range c.HTTP {
		listener("http", a)
	}
	for _, a := range c.HTTPSocket {
		listener("http-socket", a)
	}
	for _, h := range c.HTTPS {
		listener("https", h.Addr)
		if h.Cert == "" || h.Key == "" {
			add("https = %s: needs a certificate and a key: https = %s,cert.pem,key.pem", h, h.Addr)
		}
	}
	if n == 0 && !o.NoListener {
		add("no listener: set http = 127.0.0.1:8000 (HTTP) or socket = 127.0.0.1:3031 (uwsgi protocol for nginx)")
	}
	if !c.Stats.IsZero() {
		listener("stats", c.Stats) // after the count: stats serves no app
	}

	for _, e := range c.Env {
		if err := checkEnv(e); err != nil {
			add("env = %s: %w", e, err)
		}
	}
	for _, m := range c.StaticMap {
		if err := checkStaticMap(m); err != nil {
			add("static-map = %s: %w", m, err)
		}
	}
	return errors.Join(errs...)
}
