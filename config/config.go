package config

// This file is the resolved configuration and its consistency checks.

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
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

	// Socket (socket, s) listens for the uwsgi binary protocol, what
	// nginx's uwsgi_pass speaks, or for Protocol when that is set.
	// Repeatable.
	Socket []Addr
	// UWSGISocket (uwsgi-socket) listens for the uwsgi protocol whatever
	// Protocol says. Repeatable.
	UWSGISocket []Addr
	// Protocol (protocol, socket-protocol) is what the socket listeners
	// speak: "uwsgi" (the default, also when empty) or "http" (HTTP/1.1, as
	// http-socket; "http11" is the same).
	Protocol string
	// HTTP (http) is uWSGI's front HTTP router; gowsgi has no separate
	// router process, so it is an HTTP listener like HTTPSocket.
	HTTP []Addr
	// HTTPSocket (http-socket, http11-socket) serves HTTP directly on the
	// socket.
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
	// Module. Default "application". "create_app()" names a factory that
	// is called, with no arguments, to make the callable, as uWSGI does.
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
	// ChownSocket (chown-socket = user[:group]) is the owner of unix
	// sockets, names or numbers.
	ChownSocket string

	// Accepted without effect, for the reason in each key's help.

	// PostBuffering (post-buffering) buffers request bodies past this many
	// bytes: gowsgi always reads the whole body before a worker runs.
	PostBuffering int64
	// OffloadThreads (offload-threads): Go serves static files and slow
	// clients without offload threads.
	OffloadThreads int
	// ThunderLock (thunder-lock): Go's accept loop needs no lock.
	ThunderLock bool
	// SingleInterpreter (single-interpreter): each worker has one
	// interpreter.
	SingleInterpreter bool

	// Limits.

	// Harakiri (harakiri) kills a worker stuck on one request for longer
	// than this; 0 is off. The ini value is in seconds.
	Harakiri time.Duration
	// HarakiriVerbose (harakiri-verbose) logs more about a harakiri kill.
	// gowsgi always logs the request and the Python stack.
	HarakiriVerbose bool
	// MaxWorkerLifetime (max-worker-lifetime) retires a worker gracefully
	// once it has run this long; 0 is off. The ini value is in seconds.
	MaxWorkerLifetime time.Duration
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
	// NoDeferAccept (no-defer-accept) turns off what gowsgi does on Linux,
	// as uWSGI does: a TCP listener defers accept (TCP_DEFER_ACCEPT) until
	// the connection's first bytes arrive, or SocketTimeout passes. A worker
	// then never wakes for a connection with nothing to read yet: behind
	// nginx, a new connection for every request, that was a third of the
	// worker's waits and reads.
	NoDeferAccept bool
	// Listen (listen) is each socket's listen queue; 0 (the default)
	// leaves Go's, the kernel's maximum (net.core.somaxconn). uWSGI's
	// default is 100.
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
	// paths under prefix, without the app: /prefix/a.css is dir/a.css.
	// Repeatable.
	StaticMap []StaticMap
	// StaticMap2 (static-map2 = /prefix=/dir) is static-map keeping the
	// prefix: /prefix/a.css is dir/prefix/a.css. Repeatable.
	StaticMap2 []StaticMap
	// StaticExpires (static-expires = REGEXP SECONDS) sets Expires and
	// Cache-Control max-age on static files whose path matches REGEXP.
	// Repeatable; the first match wins.
	StaticExpires []StaticExpire
	// AddHeader (add-header = "Name: value") adds a header to every
	// response. Repeatable.
	AddHeader []string
	// LogDate (logdate, log-date) prefixes the access lines and gowsgi's
	// own messages with the date: "" is
	// off, "true" uWSGI's default format, anything else a strftime format.
	LogDate string
	// Log4xx and Log5xx (log-4xx, log-5xx) log requests answered 4xx or
	// 5xx even when DisableLogging is on.
	Log4xx, Log5xx bool
	// Stats (stats, stats-server) is where the status and metrics endpoint
	// listens; the zero Addr is off.
	Stats Addr
	// TrustedProxies (trusted-proxies) are the addresses (IPs or CIDR
	// prefixes) whose X-Forwarded-For/-Proto/-Host and Forwarded headers
	// are believed: they set REMOTE_ADDR, wsgi.url_scheme and HTTP_HOST.
	// From anyone else those headers never reach the app. Empty means
	// loopback only; "none" trusts nobody. Repeatable.
	TrustedProxies []string
	// Engine (engine) says who serves the connections: "auto" or "" (the
	// workers, through the in-worker engine, where it can run), "on" or
	// "off" (the master: the proxy path).
	Engine string
	// Strict (strict) turns unknown ini keys from warnings into an error.
	Strict bool
}

// SocketProtocol is what the socket listeners speak: "http" when Protocol
// is http or http11, else "uwsgi".
func (c Config) SocketProtocol() string {
	if c.Protocol == "http" || c.Protocol == "http11" {
		return "http"
	}
	return "uwsgi"
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

// StaticExpire is one "static-expires = REGEXP SECONDS".
type StaticExpire struct {
	// Pattern is a regular expression (Go's syntax, which covers what such
	// lines use of PCRE's) matched against the file's path.
	Pattern string
	Seconds int64
}

// String writes e in the ini form.
func (e StaticExpire) String() string { return e.Pattern + " " + strconv.FormatInt(e.Seconds, 10) }

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
	} else if err := checkCallable(c.Callable); err != nil {
		add("callable = %s: %w", c.Callable, err)
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
		if a.Network == "tcp" && a.Port == 0 {
			return // port 0: the kernel gives each its own port
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
	for _, a := range c.UWSGISocket {
		listener("uwsgi-socket", a)
	}
	switch c.Protocol {
	case "", "uwsgi", "http", "http11":
	default:
		add("protocol = %s: gowsgi's sockets speak uwsgi or http (uWSGI's fastcgi, scgi, suwsgi and raw are not served)", c.Protocol)
	}
	for _, e := range c.StaticExpires {
		if _, err := regexp.Compile(e.Pattern); err != nil {
			add("static-expires = %s: %w", e, err)
		}
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
