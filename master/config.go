package master

// This file is what a master runs: one Config, built by the command line
// (cmd/gowsgi) from flags and ini files and never changed after Start.

import (
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gowsgi/gowsgi/config"
	"github.com/gowsgi/gowsgi/gateway"
	"github.com/gowsgi/gowsgi/pyworker"
)

// Mode is what a master does with a SIGHUP and with its first stop signal.
type Mode int

const (
	// ModeServe is production: a SIGHUP (or touch-reload, py-autoreload)
	// starts a new gowsgi process that inherits the sockets (tableflip);
	// this one drains once the new one is ready.
	ModeServe Mode = iota
	// ModeDev is `gowsgi dev`: a SIGHUP or a saved file starts a new
	// worker generation inside this master.
	ModeDev
	// ModeCheck is `gowsgi check`: nothing to reload; the first signal
	// stops at once.
	ModeCheck
)

// Listen is one address to serve and the flag that asked for it.
type Listen struct {
	Addr string      // host:port, or a path for a unix socket ("unix:" prefix)
	Flag string      // the flag or key that named it, for messages
	Mode os.FileMode // unix sockets: chmod-socket, 0 = leave as created
	TLS  *tls.Config // https: TLS over this listener (tls.go)
	// Backlog, when set, is the listen queue (uWSGI's listen, backlog.go).
	Backlog int
	// DeferAccept, when more than 0, is how long a TCP listener leaves a
	// new connection to the kernel until its first bytes arrive
	// (TCP_DEFER_ACCEPT, deferaccept_linux.go; rounded up to seconds); less
	// than 0 turns it off on a socket that had it (one inherited over a HUP
	// or from systemd); 0 leaves the socket as it is.
	DeferAccept time.Duration
}

func (l Listen) network() string {
	if strings.Contains(l.Addr, "/") || strings.HasPrefix(l.Addr, "unix:") {
		return "unix"
	}
	return "tcp"
}

// ListenAddr is the address as Listen takes it; unix paths keep a "unix:"
// prefix so Listen knows the network.
func ListenAddr(a config.Addr) string {
	if a.Network == "unix" {
		return "unix:" + a.Path
	}
	return a.ListenAddress()
}

// Config is what the master runs, whichever command built it. It is read,
// never written, once Start has it.
type Config struct {
	Mode  Mode
	HTTP  []Listen
	Uwsgi []Listen // uwsgi protocol listeners (--socket)
	// BufferSize is the largest uwsgi packet (--buffer-size); 0 is the
	// default.
	BufferSize int
	// MaxHeaderBytes bounds an HTTP request's line and headers (431 past
	// it): buffer-size when set, else 0, net/http's 64 KiB.
	MaxHeaderBytes int
	// SocketTimeout is how long a client may stay silent while it sends a
	// request or reads a response (--socket-timeout); 0 is 30s.
	SocketTimeout time.Duration

	Workers    pyworker.Options
	AccessLog  bool
	Grace      time.Duration // how long in-flight requests may take on stop; 0 is 30s
	Out        io.Writer     // banner and logs
	AppLabel   string        // for the banner
	ScriptName string

	// KeepBroken keeps the master up when the app fails to import at start
	// (dev mode serves the error page until the next save fixes it).
	KeepBroken   bool
	Pidfile      string        // write the master's pid here (serve)
	Daemonize    string        // detach, logging here (serve)
	Logto        string        // log to this file instead of stderr (serve)
	LogMaxSize   int64         // rotate Logto/Daemonize past this size; 0: never
	TouchReload  []string      // a change to one of these restarts with no downtime
	PyAutoreload time.Duration // watch the app's Python files (uWSGI py-autoreload)
	StaticMaps   []*gateway.Static
	LimitPost    int64    // largest request body; 0 = no limit
	Identity     Identity // uid/gid to switch to after binding
	Proxies      *gateway.Proxies
	Stats        config.Addr // zero: no stats endpoint
	// ResponseHeaders are added to every answer on every listener
	// (add-header).
	ResponseHeaders gateway.ResponseHeaders
	// LogSkip, when set, leaves out the access log lines of the statuses
	// it reports (log-4xx/log-5xx with disable-logging).
	LogSkip func(status int) bool
	// AccessSpec is the access log's settings as the ini says them, for
	// the workers' engines, which build AccessFormat and LogSkip again.
	AccessSpec gateway.AccessSpec
	// Engine says who serves the connections: "auto" (""), "on" or "off"
	// (engine.go).
	Engine string
	// AccessFormat overrides the access log's line format.
	AccessFormat func(dst []byte, r *http.Request, status int, size int64, d time.Duration, pid, gen int) []byte

	// Dev is the dev mode's watching (ModeDev only; nil: no reloading).
	Dev *DevOptions
	// Banner, when set, prints where the master listens once it is ready,
	// instead of the default lines.
	Banner func(*Master)
}

func (c *Config) grace() time.Duration {
	if c.Grace == 0 {
		return 30 * time.Second
	}
	return c.Grace
}
