package pyworker

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"syscall"

	"time"
)

// workerState is where a worker is in its life. Only the supervisor
// goroutine reads or writes it.
type workerState int

const (
	stateStarting workerState = iota // spawned, not yet Ready
	stateReady                       // its slots are in the pool
	stateRetiring                    // serving its last requests, no new ones
	stateStopping                    // sent Stop, waiting for the exit
	stateDead
)

var stateNames = [...]string{"starting", "ready", "retiring", "stopping", "dead"}

func (s workerState) String() string { return stateNames[s] }

// worker is one Python worker process. Fields without a comment are owned
// by the supervisor goroutine; the atomics are read on the request path.
type worker struct {
	m       *Manager
	id      int // stable across respawns of the same place: 1..processes
	gen     *generation
	token   string
	pid     int
	state   workerState
	started time.Time
	ctrl    *control // its control connection, once its Hello came (control.go)
	slots   []*Slot
	ready   bool // Ready frame arrived (slots may still be connecting)
	back    int  // slots handed back to the supervisor while retiring/stopping
	crashes int  // consecutive short-lived crashes, for backoff
	killAt  time.Time

	isZygote bool       // a zygote: forks workers, serves nothing
	forkedBy *worker    // the zygote that forked it, nil when exec'd
	bootErr  *BootError // the import failure it reported
	harakiri bool       // killed by harakiri
	given    bool       // killed because its generation was given up (failGeneration)
	row      int        // its scoreboard row with the engine, else -1

	ctrlClosed   bool // its control connection was read to the end
	exitDeferred bool // its exit waits for its last control frames (see onExit)
	deferredExit Exit

	retiring atomic.Bool  // no new requests; read by Acquire/Release
	dead     atomic.Bool  // the process is gone
	requests atomic.Int64 // requests started, for max-requests
	mem      memWatch     // last RSS reading, for reload-on-rss (rss.go)
}

func (w *worker) String() string {
	if w.isZygote {
		return fmt.Sprintf("zygote (pid %d)", w.pid)
	}
	return fmt.Sprintf("worker %d (gen %d, pid %d)", w.id, w.gen.n, w.pid)
}

func (w *worker) log(p []byte) {
	msg := strings.TrimRight(string(p), "\n")
	for _, line := range strings.Split(msg, "\n") {
		w.m.logf("[%s] %s", w.logTag(), line)
	}
}

func newToken() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b[:])
}

// BootError is the app's import failure as the Python runtime reports it.
type BootError struct {
	Type      string       `json:"type"`
	Message   string       `json:"message"`
	Traceback string       `json:"traceback"`
	Filename  string       `json:"filename"`
	Lineno    int          `json:"lineno"`
	Source    []SourceLine `json:"source"`
}

// SourceLine is one line of code around the failing line.
type SourceLine struct {
	Lineno  int    `json:"lineno"`
	Line    string `json:"line"`
	Current bool   `json:"current"`
}

func (e *BootError) Error() string {
	loc := ""
	if e.Filename != "" {
		loc = fmt.Sprintf(" (%s, line %d)", e.Filename, e.Lineno)
	}
	return fmt.Sprintf("the app failed to import: %s: %s%s", e.Type, e.Message, loc)
}

// ErrAppLoad is wrapped by errors for an app that failed to import; the
// *BootError carries the details.
var ErrAppLoad = errors.New("app failed to import")

// Is makes errors.Is(err, ErrAppLoad) true for a *BootError.
func (e *BootError) Is(target error) bool { return target == ErrAppLoad }

// hello is the first frame on every connection from Python.
type hello struct {
	Role       string `json:"role"` // "control", "thread" or "zygote"
	Token      string `json:"token"`
	Worker     int    `json:"worker"`
	Generation int    `json:"generation"`
	Thread     int    `json:"thread"`
	Pid        int    `json:"pid"`
}

// readyInfo is the payload of a Ready frame.
type readyInfo struct {
	Pid     int    `json:"pid"`
	Python  string `json:"python"`
	Threads int    `json:"threads"`
	App     string `json:"app"`
	// Files are the imported source files outside the standard library
	// and site-packages (with Options.ReportFiles).
	Files []string `json:"files"`
	// GoRuntime, from a process that would load the engine, is the
	// mapped object built with Go it found after importing the app
	// (goruntime.py): the engine cannot run next to it (GoRuntimeError).
	GoRuntime string `json:"go_runtime,omitempty"`
}

// workerConfig is what the Python runtime reads from GOWSGI_CONFIG.
type workerConfig struct {
	Mode           string            `json:"mode"`
	Socket         string            `json:"socket"`
	Token          string            `json:"token"`
	Worker         int               `json:"worker"`
	Generation     int               `json:"generation"`
	Chdir          string            `json:"chdir"`
	PythonPath     []string          `json:"pythonpath,omitempty"`
	App            map[string]string `json:"app"`
	Threads        int               `json:"threads"`
	Processes      int               `json:"processes"`
	Preload        string            `json:"preload,omitempty"`
	DjangoSettings string            `json:"django_settings,omitempty"`
	EagerURLConf   bool              `json:"eager_urlconf,omitempty"`
	ReportFiles    bool              `json:"report_files,omitempty"`
	LogDate        string            `json:"log_date,omitempty"`
	Engine         *engineConfig     `json:"engine,omitempty"`
}

// engineConfig is the engine part of a worker's configuration (see
// EngineOptions); the zygote sets Row for each worker it forks.
type engineConfig struct {
	Lib      string          `json:"lib"`
	Settings json.RawMessage `json:"settings"`
	Row      int             `json:"row"`
	// MaxRequests is counted by the worker itself, which sends Retire.
	MaxRequests int `json:"max_requests,omitempty"`
	// WarmUp is Options.WarmUp's environ, run by the worker itself before
	// it takes connections (an engine worker has no slot to send it to).
	WarmUp string `json:"warm_up,omitempty"`
}

// acceptLoop accepts connections from Python processes on the master socket
// and hands each, after its Hello, to the supervisor.
func (m *Manager) acceptLoop(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			m.logf("accepting worker connection: %v", err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		go m.handshake(c)
	}
}

func (m *Manager) handshake(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReaderSize(c, 64<<10)
	f, err := ReadFrame(r, nil)
	if err == nil && f.Type != TypeHello {
		err = fmt.Errorf("first frame is %s, want Hello", f.Type)
	}
	var h hello
	if err == nil {
		err = json.Unmarshal(f.Payload, &h)
	}
	if err != nil {
		m.logf("worker connection refused: %v", err)
		c.Close()
		return
	}
	c.SetReadDeadline(time.Time{})
	m.send(helloEvent{conn: c, r: r, h: h})
}

func isConnReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
