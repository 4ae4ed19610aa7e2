package pyworker

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"
)

// SpawnMode says how worker processes start.
type SpawnMode int

const (
	// SpawnZygote starts one Python process that imports Preload once and
	// forks every worker, so their memory is shared copy-on-write and a new
	// worker is ready in milliseconds.
	SpawnZygote SpawnMode = iota
	// SpawnExec starts every worker as a fresh interpreter that imports the
	// app itself (uWSGI's lazy-apps).
	SpawnExec
)

// Options configure a Manager.
type Options struct {
	Python     string   // interpreter, see FindPython
	Dir        string   // the app's directory (chdir); also sys.path[0]
	Module     string   // "pkg.mod" or "pkg.mod:callable"
	WSGIFile   string   // a file defining the callable, instead of Module
	Callable   string   // default "application"
	PythonPath []string // more sys.path entries
	Env        []string // KEY=VALUE added to the workers' environment
	Processes  int
	Threads    int

	// RetireGrace, when set, is how long a worker of a replaced generation
	// may go on with its requests before it is killed (dev mode, 1s: a
	// browser's event stream or long poll would otherwise keep the old
	// code running until it ends, which it never does on its own; the
	// browser reconnects to the new generation). Zero: as long as they
	// take.
	RetireGrace time.Duration

	// CacheDir is where the Python runtime is extracted; "" is
	// CacheDir(). A master that dropped root passes one of the new
	// user's, since root's cache is not readable by it.
	CacheDir string

	Spawn          SpawnMode
	Preload        string // zygote: "app" (default), "site" or "none"
	DjangoSettings string // zygote "site": the settings module, to preload Django
	// EagerURLConf imports a Django project's URLconf (and its views) at
	// boot, so their import errors are boot errors (dev mode).
	EagerURLConf bool
	// ReportFiles makes each worker list the project files it imported
	// (see ImportedFiles).
	ReportFiles bool
	// LogDate is the strftime format the workers date gowsgi's own
	// messages with (logdate); "" leaves them undated.
	LogDate string

	// WarmUp, when set, is sent to every worker of a new generation before
	// it goes live (its answer is discarded), so the first real request
	// does not pay for lazy imports such as Django's URLconf.
	WarmUp func() *Request

	// Engine, when set, makes every worker serve its own connections
	// through the in-worker engine (issue 14, gateway.Engine) instead of
	// taking requests from the master: the workers open no thread
	// connections, and are ready once they say so.
	Engine *EngineOptions

	// QueueGets lets a GET queue behind a short running request (pool.go).
	QueueGets bool

	MaxRequests  int           // retire a worker after this many requests; 0 = never
	MaxLifetime  time.Duration // retire a worker that has run this long (lifetime.go); 0 = never
	Harakiri     time.Duration // kill a worker stuck on one request this long; 0 = never
	StartTimeout time.Duration // how long a generation may take to be ready; default 60s

	// ReloadOnRSS retires a worker whose RSS passes this many bytes after
	// its request (see rss.go); EvilReloadOnRSS kills it at once. 0 = never.
	ReloadOnRSS, EvilReloadOnRSS int64

	Stdout, Stderr io.Writer                     // the workers' stdout/stderr; default os.Stdout/os.Stderr
	Logf           func(format string, a ...any) // log lines; default: stderr
}

// withDefaults fills in what the zero Options leave open.
func (o Options) withDefaults() Options {
	if o.Processes < 1 {
		o.Processes = 1
	}
	if o.Threads < 1 {
		o.Threads = 1
	}
	if o.Callable == "" {
		o.Callable = "application"
	}
	if o.Preload == "" {
		o.Preload = "app"
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 60 * time.Second
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	if o.Logf == nil {
		o.Logf = func(format string, a ...any) { fmt.Fprintf(os.Stderr, "gowsgi: "+format+"\n", a...) }
	}
	return o
}

// EngineOptions is how workers run the in-worker engine.
type EngineOptions struct {
	// Lib is the path of the engine library (libgowsgi-engine.so).
	Lib string
	// Settings are the engine's settings, JSON (gateway.EngineSettings
	// with the scoreboard's size); each worker adds its row.
	Settings json.RawMessage
	// Files are inherited by every process as descriptors 3, 4, ...: the
	// listening sockets and the scoreboard, which Settings name by number.
	Files []*os.File
	// Rows is how many scoreboard rows there are; a worker takes a free one
	// when it starts and frees it when it ends (RowFreed is then called,
	// so the master can clear it).
	Rows     int
	RowFreed func(row int)
	// Busy lists the engine threads running a request (the scoreboard):
	// harakiri watches them, as it watches the slots on the proxy path.
	Busy func() []BusyThread
}

// BusyThread is an engine thread running a request.
type BusyThread struct {
	Pid, Thread int
	Since       time.Time
	Path        string
}
