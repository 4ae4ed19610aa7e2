package config

// This file declares every key gowsgi understands, once. The ini reader
// (ini.go), the command-line flags (flags.go), Default, Validate's ranges
// and Describe are all generated from this table, so a key added here is
// at once an ini key, a --flag and a line of --print-config.

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// kind is the syntax of a key's value and how repeats combine.
type kind uint8

const (
	kindString       kind = iota + 1 // one string; a repeat replaces it
	kindStrings                      // repeatable: every value kept, in order
	kindInt                          // a whole number
	kindSize                         // a whole number of bytes
	kindSeconds                      // whole seconds (or a Go duration) as time.Duration
	kindBool                         // uWSGI boolean; a bare key is true
	kindAddrs                        // repeatable listener address
	kindHTTPS                        // repeatable addr,cert,key
	kindAddr                         // one address
	kindMode                         // octal permission; bare is 666
	kindEnv                          // repeatable KEY=VALUE
	kindStaticMap                    // repeatable /prefix=/dir
	kindStaticExpire                 // repeatable REGEXP SECONDS
	kindHeader                       // repeatable Name: value
)

// repeatable reports whether every value of the key is kept.
func (k kind) repeatable() bool {
	switch k {
	case kindStrings, kindAddrs, kindHTTPS, kindEnv, kindStaticMap, kindStaticExpire, kindHeader:
		return true
	}
	return false
}

// key is one row of the table.
type key struct {
	name    string
	aliases []string
	kind    kind
	def     string // the default, in ini syntax; "" is the zero value
	group   string // the --help category
	help    string // one line; `WORD` names the flag's argument in --help
	// min and max bound numeric kinds; max 0 is no upper bound.
	min, max int64
	// check is an extra syntax check of a kindString value.
	check func(string) error
	// field returns a pointer to the key's Config field.
	field func(*Config) any
	// bareValue is what an empty value means ("logdate =" is "true").
	bareValue string
	// cliAppends makes a repeatable flag add to the ini file's values;
	// otherwise the flag's values replace them (--http :9000 moves the
	// listener rather than adding a second one).
	cliAppends bool
}

const (
	groupListeners = "Listeners"
	groupApp       = "App"
	groupWorkers   = "Workers"
	groupControl   = "Process control"
	groupLimits    = "Limits"
)

// keys is the table, in the order --help and --print-config show them.
var keys = []*key{
	// Listeners.
	{name: "socket", aliases: []string{"s"}, kind: kindAddrs, group: groupListeners,
		help:  "listen for the uwsgi protocol (nginx uwsgi_pass), or for protocol, on `ADDR`: host:port or a unix socket path; repeatable",
		field: func(c *Config) any { return &c.Socket }},
	{name: "uwsgi-socket", kind: kindAddrs, group: groupListeners,
		help:  "listen for the uwsgi protocol on `ADDR`, whatever protocol says; repeatable",
		field: func(c *Config) any { return &c.UWSGISocket }},
	{name: "protocol", aliases: []string{"socket-protocol"}, kind: kindString, group: groupListeners, check: checkProtocol,
		help:  "what socket listeners speak: `PROTO` uwsgi (default) or http",
		field: func(c *Config) any { return &c.Protocol }},
	{name: "http", kind: kindAddrs, group: groupListeners,
		help:  "serve HTTP on `ADDR` (uWSGI's HTTP router; a plain HTTP listener in gowsgi); repeatable",
		field: func(c *Config) any { return &c.HTTP }},
	{name: "http-socket", aliases: []string{"http11-socket"}, kind: kindAddrs, group: groupListeners,
		help:  "serve HTTP on `ADDR`; repeatable",
		field: func(c *Config) any { return &c.HTTPSocket }},
	{name: "https", kind: kindHTTPS, group: groupListeners,
		help:  "serve HTTPS as `ADDR,CERT,KEY` (PEM files); repeatable",
		field: func(c *Config) any { return &c.HTTPS }},

	// The app.
	{name: "chdir", kind: kindString, group: groupApp,
		help:  "change to `DIR` before loading the app; it also goes first on sys.path",
		field: func(c *Config) any { return &c.Chdir }},
	{name: "wsgi-file", aliases: []string{"file"}, kind: kindString, group: groupApp,
		help:  "load the WSGI callable from the Python `FILE` (relative to chdir)",
		field: func(c *Config) any { return &c.WSGIFile }},
	{name: "module", aliases: []string{"wsgi", "w"}, kind: kindString, group: groupApp, check: checkModule,
		help:  "load the WSGI callable from `MODULE` (pkg.mod or pkg.mod:callable)",
		field: func(c *Config) any { return &c.Module }},
	{name: "callable", kind: kindString, def: "application", group: groupApp, check: checkCallable,
		help:  "the `NAME` of the WSGI callable",
		field: func(c *Config) any { return &c.Callable }},
	{name: "home", aliases: []string{"virtualenv", "venv", "pyhome", "H"}, kind: kindString, group: groupApp,
		help:  "the app's virtualenv `DIR`",
		field: func(c *Config) any { return &c.Home }},
	{name: "python", kind: kindString, group: groupApp,
		help:  "the Python interpreter `PATH` (default: home's python, then $VIRTUAL_ENV's, then the one beside gowsgi in its virtualenv, then python3)",
		field: func(c *Config) any { return &c.Python }},
	{name: "pythonpath", aliases: []string{"python-path", "pp"}, kind: kindStrings, group: groupApp, cliAppends: true,
		help:  "add `DIR` to sys.path; repeatable",
		field: func(c *Config) any { return &c.PythonPath }},
	{name: "env", kind: kindEnv, group: groupApp, cliAppends: true,
		help:  "set `KEY=VALUE` in the workers' environment; repeatable",
		field: func(c *Config) any { return &c.Env }},

	// Workers.
	{name: "processes", aliases: []string{"workers", "p"}, kind: kindInt, def: "1", min: 1, max: 4096, group: groupWorkers,
		help:  "run `N` worker processes",
		field: func(c *Config) any { return &c.Processes }},
	{name: "threads", kind: kindInt, def: "1", min: 1, max: 4096, group: groupWorkers,
		help:  "run `N` request threads in each worker",
		field: func(c *Config) any { return &c.Threads }},
	{name: "master", aliases: []string{"M"}, kind: kindBool, group: groupWorkers,
		help:  "uWSGI's master process (gowsgi always has one)",
		field: func(c *Config) any { return &c.Master }},
	{name: "lazy-apps", aliases: []string{"lazy"}, kind: kindBool, group: groupWorkers,
		help:  "load the app in each worker instead of once before forking",
		field: func(c *Config) any { return &c.LazyApps }},
	{name: "enable-threads", aliases: []string{"T"}, kind: kindBool, group: groupWorkers,
		help:  "let the app start threads (always allowed in gowsgi)",
		field: func(c *Config) any { return &c.EnableThreads }},
	{name: "queue-gets", kind: kindBool, group: groupWorkers,
		help:  "when every worker thread is busy, queue a GET or HEAD behind a short running request (faster for apps whose requests are all short; a GET may wait behind one that turns out long)",
		field: func(c *Config) any { return &c.QueueGets }},
	{name: "need-app", kind: kindBool, group: groupWorkers,
		help:  "exit at start if the app fails to import",
		field: func(c *Config) any { return &c.NeedApp }},

	// Process control.
	{name: "pidfile", kind: kindString, group: groupControl,
		help:  "write the master's pid to `FILE`",
		field: func(c *Config) any { return &c.Pidfile }},
	{name: "daemonize", aliases: []string{"d"}, kind: kindString, group: groupControl,
		help:  "detach from the terminal and log to `FILE`",
		field: func(c *Config) any { return &c.Daemonize }},
	{name: "logto", kind: kindString, group: groupControl,
		help:  "log to `FILE`",
		field: func(c *Config) any { return &c.Logto }},
	{name: "vacuum", kind: kindBool, group: groupControl,
		help:  "remove unix sockets and the pidfile on exit",
		field: func(c *Config) any { return &c.Vacuum }},
	{name: "die-on-term", kind: kindBool, group: groupControl,
		help:  "stop on SIGTERM (gowsgi always does)",
		field: func(c *Config) any { return &c.DieOnTerm }},
	{name: "log-format", aliases: []string{"logformat"}, kind: kindString, group: groupControl, check: checkLogFormat,
		help:  "write the access log as `FORMAT`: uwsgi (default), combined or json",
		field: func(c *Config) any { return &c.LogFormat }},
	{name: "log-maxsize", kind: kindSize, group: groupControl,
		help:  "rotate the logto/daemonize file when it passes `BYTES`: it is renamed FILE.<unix time> and a new one started",
		field: func(c *Config) any { return &c.LogMaxSize }},
	{name: "disable-logging", aliases: []string{"L"}, kind: kindBool, group: groupControl,
		help:  "do not log requests",
		field: func(c *Config) any { return &c.DisableLogging }},
	{name: "touch-reload", kind: kindStrings, group: groupControl, cliAppends: true,
		help:  "reload the workers when `FILE` is modified; repeatable",
		field: func(c *Config) any { return &c.TouchReload }},
	{name: "py-autoreload", aliases: []string{"python-autoreload"}, kind: kindSeconds, group: groupControl,
		help:  "check the app's modules every `SECONDS` and reload on a change; 0 is off",
		field: func(c *Config) any { return &c.PyAutoreload }},
	{name: "uid", kind: kindString, group: groupControl,
		help:  "run as `USER` (name or number)",
		field: func(c *Config) any { return &c.UID }},
	{name: "gid", kind: kindString, group: groupControl,
		help:  "run as `GROUP` (name or number)",
		field: func(c *Config) any { return &c.GID }},
	{name: "chmod-socket", aliases: []string{"chmod", "C"}, kind: kindMode, group: groupControl,
		help:  "set unix sockets' permission to `MODE` (octal, e.g. 660; empty is 666)",
		field: func(c *Config) any { return &c.ChmodSocket }},
	{name: "chown-socket", kind: kindString, group: groupControl,
		help:  "give unix sockets to `USER[:GROUP]` (names or numbers)",
		field: func(c *Config) any { return &c.ChownSocket }},
	{name: "logdate", aliases: []string{"log-date"}, kind: kindString, group: groupControl, bareValue: "true",
		help:  "prefix access lines and gowsgi's messages with the date: true, or a strftime `FORMAT` such as %Y-%m-%d %H:%M:%S",
		field: func(c *Config) any { return &c.LogDate }},
	{name: "log-4xx", kind: kindBool, group: groupControl,
		help:  "log requests answered 4xx even with disable-logging",
		field: func(c *Config) any { return &c.Log4xx }},
	{name: "log-5xx", kind: kindBool, group: groupControl,
		help:  "log requests answered 5xx even with disable-logging",
		field: func(c *Config) any { return &c.Log5xx }},
	{name: "add-header", kind: kindHeader, group: groupControl, cliAppends: true,
		help:  "add the header `NAME: VALUE` to every response; repeatable",
		field: func(c *Config) any { return &c.AddHeader }},

	// Limits.
	{name: "harakiri", aliases: []string{"t"}, kind: kindSeconds, group: groupLimits,
		help:  "kill a worker stuck on one request for `SECONDS`; 0 is off",
		field: func(c *Config) any { return &c.Harakiri }},
	{name: "harakiri-verbose", kind: kindBool, group: groupLimits,
		help:  "log more about harakiri kills (gowsgi always logs the request and its Python stack)",
		field: func(c *Config) any { return &c.HarakiriVerbose }},
	{name: "max-requests", aliases: []string{"R"}, kind: kindInt, group: groupLimits,
		help:  "retire a worker after `N` requests; 0 is no limit",
		field: func(c *Config) any { return &c.MaxRequests }},
	{name: "max-worker-lifetime", kind: kindSeconds, group: groupLimits,
		help:  "retire a worker gracefully after it has run `SECONDS`; 0 is off",
		field: func(c *Config) any { return &c.MaxWorkerLifetime }},
	{name: "buffer-size", aliases: []string{"b"}, kind: kindSize, def: "4096", min: 512, max: 1 << 20, group: groupLimits,
		help:  "accept request headers of up to `BYTES`",
		field: func(c *Config) any { return &c.BufferSize }},
	{name: "listen", aliases: []string{"l"}, kind: kindInt, max: 65535, group: groupLimits,
		help:  "set each socket's listen queue to `N` connections (default 0: the kernel's maximum, net.core.somaxconn)",
		field: func(c *Config) any { return &c.Listen }},
	{name: "no-defer-accept", kind: kindBool, group: groupLimits,
		help:  "accept a TCP connection as soon as it is made, not once its first bytes arrive (or socket-timeout passes)",
		field: func(c *Config) any { return &c.NoDeferAccept }},
	{name: "socket-timeout", kind: kindSeconds, def: "30", group: groupLimits,
		help:  "cut off a client that sends nothing of its request, or reads nothing of its response, for `SECONDS` (also the time allowed for the request headers)",
		field: func(c *Config) any { return &c.SocketTimeout }},
	{name: "limit-post", kind: kindSize, group: groupLimits,
		help:  "refuse request bodies over `BYTES`; 0 is no limit",
		field: func(c *Config) any { return &c.LimitPost }},
	{name: "reload-on-rss", kind: kindInt, max: 1 << 30, group: groupLimits,
		help:  "retire a worker whose resident memory passes `MIB` megabytes; 0 is off",
		field: func(c *Config) any { return &c.ReloadOnRSS }},
	{name: "evil-reload-on-rss", kind: kindInt, max: 1 << 30, group: groupLimits,
		help:  "kill a worker at once, even mid-request, when its resident memory passes `MIB` megabytes; 0 is off",
		field: func(c *Config) any { return &c.EvilReloadOnRSS }},
	{name: "static-map", kind: kindStaticMap, group: groupLimits, cliAppends: true,
		help:  "serve URLs under PREFIX from the files in DIR, as `/PREFIX=DIR`, without the app; repeatable",
		field: func(c *Config) any { return &c.StaticMap }},
	{name: "static-map2", kind: kindStaticMap, group: groupLimits, cliAppends: true,
		help:  "like static-map, keeping the prefix: `/PREFIX=DIR` serves /PREFIX/a.css from DIR/PREFIX/a.css; repeatable",
		field: func(c *Config) any { return &c.StaticMap2 }},
	{name: "static-expires", kind: kindStaticExpire, group: groupLimits, cliAppends: true,
		help:  "send Expires and Cache-Control max-age for static files whose path matches, as `REGEXP SECONDS`; repeatable",
		field: func(c *Config) any { return &c.StaticExpires }},
	{name: "stats", aliases: []string{"stats-server", "metrics"}, kind: kindAddr, group: groupLimits,
		help:  "serve the status page (/, /status.json) and Prometheus metrics (/metrics) on `ADDR`; off by default",
		field: func(c *Config) any { return &c.Stats }},
	{name: "trusted-proxies", kind: kindStrings, group: groupLimits, cliAppends: true,
		help:  "trust X-Forwarded-* and Forwarded headers only from `IP[/BITS]` (default: loopback); \"none\" trusts nobody; repeatable",
		field: func(c *Config) any { return &c.TrustedProxies }},
	{name: "engine", kind: kindString, group: groupWorkers, check: checkEngine,
		help:  "who serves the connections: `auto` (the workers, through the in-worker engine, where it can run; else the master), on (the workers, or fail), off (the master)",
		field: func(c *Config) any { return &c.Engine }},
	{name: "strict", kind: kindBool, group: groupLimits,
		help:  "make keys unknown to uWSGI an error, as uWSGI's strict mode does",
		field: func(c *Config) any { return &c.Strict }},

	// Accepted without effect: gowsgi already behaves as they ask.
	{name: "post-buffering", kind: kindSize, group: groupLimits,
		help:  "accepted: gowsgi reads every request body (past 64 KiB into a temporary file) before a worker runs",
		field: func(c *Config) any { return &c.PostBuffering }},
	{name: "offload-threads", kind: kindInt, group: groupLimits,
		help:  "accepted: Go serves static files and slow clients without offload threads",
		field: func(c *Config) any { return &c.OffloadThreads }},
	{name: "thunder-lock", kind: kindBool, group: groupWorkers,
		help:  "accepted: Go's accept loop needs no lock against the thundering herd",
		field: func(c *Config) any { return &c.ThunderLock }},
	{name: "single-interpreter", kind: kindBool, group: groupWorkers,
		help:  "accepted: each gowsgi worker has exactly one interpreter",
		field: func(c *Config) any { return &c.SingleInterpreter }},
}

// keyIndex finds a key by its name or an alias.
var keyIndex = func() map[string]*key {
	m := map[string]*key{}
	for _, k := range keys {
		for _, n := range append([]string{k.name}, k.aliases...) {
			if m[n] != nil {
				panic("config: key " + n + " declared twice")
			}
			m[n] = k
		}
	}
	return m
}()

// set parses v and stores it in c: a repeatable key appends, any other
// replaces. The error is the cause only; callers add where v came from.
func (k *key) set(c *Config, v string) error {
	err := k.setValue(c, v)
	if err != nil && hasLineComment(v) {
		err = fmt.Errorf("%w (uWSGI ini files have no end-of-line comments: put the comment on a line of its own)", err)
	}
	return err
}

func (k *key) setValue(c *Config, v string) error {
	if v == "" && k.bareValue != "" {
		v = k.bareValue
	}
	switch p := k.field(c).(type) {
	case *[]StaticExpire:
		e, err := parseStaticExpire(v)
		if err != nil {
			return err
		}
		*p = append(*p, e)
	case *string:
		if k.check != nil {
			if err := k.check(v); err != nil {
				return err
			}
		}
		*p = v
	case *[]string:
		if k.kind == kindEnv {
			if err := checkEnv(v); err != nil {
				return err
			}
		} else if k.kind == kindHeader {
			if err := checkHeader(v); err != nil {
				return err
			}
		} else if v == "" {
			return nil // "pythonpath =" adds nothing
		}
		*p = append(*p, v)
	case *int:
		n, err := parseNumber(v, k.kind, k.min, k.max)
		if err != nil {
			return err
		}
		*p = int(n)
	case *int64:
		n, err := parseNumber(v, k.kind, k.min, k.max)
		if err != nil {
			return err
		}
		*p = n
	case *time.Duration:
		d, err := parseSeconds(v)
		if err != nil {
			return err
		}
		*p = d
	case *bool:
		b, err := parseBool(v)
		if err != nil {
			return err
		}
		*p = b
	case *[]Addr:
		a, err := ParseAddr(v)
		if err != nil {
			return err
		}
		*p = append(*p, a)
	case *Addr:
		a, err := ParseAddr(v)
		if err != nil {
			return err
		}
		*p = a
	case *[]HTTPSAddr:
		h, err := parseHTTPS(v)
		if err != nil {
			return err
		}
		*p = append(*p, h)
	case *[]StaticMap:
		m, err := parseStaticMap(v)
		if err != nil {
			return err
		}
		*p = append(*p, m)
	case *os.FileMode:
		m, err := parseMode(v)
		if err != nil {
			return err
		}
		*p = m
	default:
		panic(fmt.Sprintf("config: key %s: field of type %T", k.name, p)) // a bug in the table
	}
	return nil
}

// reset sets the key's field back to its zero value.
func (k *key) reset(c *Config) {
	switch p := k.field(c).(type) {
	case *[]string:
		*p = nil
	case *[]Addr:
		*p = nil
	case *[]HTTPSAddr:
		*p = nil
	case *[]StaticMap:
		*p = nil
	case *[]StaticExpire:
		*p = nil
	}
}

// checkRange applies the table's bounds to a Config built any way.
func (k *key) checkRange(c *Config) error {
	var n int64
	switch p := k.field(c).(type) {
	case *int:
		n = int64(*p)
	case *int64:
		n = *p
	case *time.Duration:
		if *p < 0 {
			return fmt.Errorf("must not be negative")
		}
		return nil
	default:
		return nil
	}
	return checkBounds(n, k.min, k.max)
}

// value returns the key's field for Describe: a JSON-friendly value, in
// the units and syntax the ini file uses, except durations, which are
// strings such as "30s".
func (k *key) value(c *Config) any {
	switch p := k.field(c).(type) {
	case *string:
		return *p
	case *int:
		return *p
	case *int64:
		return *p
	case *bool:
		return *p
	case *[]string:
		return nonNil(*p)
	case *time.Duration:
		return p.String()
	case *[]Addr:
		return stringsOf(*p)
	case *Addr:
		return p.String()
	case *[]HTTPSAddr:
		return stringsOf(*p)
	case *[]StaticMap:
		return stringsOf(*p)
	case *[]StaticExpire:
		return stringsOf(*p)
	case *os.FileMode:
		if *p == 0 {
			return ""
		}
		return fmt.Sprintf("%04o", uint32(*p))
	}
	return nil
}

// format returns the key's value as an ini file would write it (the first
// value of a repeatable key), for messages.
func (k *key) format(c *Config) string {
	switch p := k.field(c).(type) {
	case *int:
		return strconv.Itoa(*p)
	case *int64:
		return strconv.FormatInt(*p, 10)
	case *time.Duration:
		return p.String()
	}
	return fmt.Sprint(k.value(c))
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func stringsOf[T fmt.Stringer](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = x.String()
	}
	return out
}
