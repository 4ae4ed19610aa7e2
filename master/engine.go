//go:build linux

package master

// This file decides who serves the connections, and sets the workers up
// when they do (issue 14): the in-worker engine, where each worker inherits
// the listening sockets and its Python threads accept, parse and answer
// through a Go library loaded after the fork (gateway.Engine), or the
// proxy path, where the master serves them and hands each request to a
// worker over a unix socket. The engine is the default wherever it can
// run; the master says which path serves and why, once, at start:
//
//	gowsgi: the workers serve the connections (in-worker engine)
//	gowsgi: the master serves the connections (proxy path): an https listener: the engine does not do TLS
//
// In dev mode the engine also answers the dev static files and live
// reload; the master answers only while the app does not import
// (devfront.go).
//
// The engine cannot run, and the proxy path serves, when the listeners
// include https, in gowsgi check, where this gowsgi was built without
// the library, or where the app's python cannot load it (musl libc: Go's
// c-shared libraries do not load there, golang/go#13492), or where the
// app's workers already hold another Go runtime (golang/go#18976: a module
// built with Go; only importing the app tells, so the first generation
// reports it and fallBackToProxy starts the workers again without the
// engine:
//
//	gowsgi: the master serves the connections (proxy path): /srv/venv/.../_gogo.so is built with Go and a process holds one Go runtime (golang/go#18976)
//
// ). engine = on makes those an error; engine = off always takes the
// proxy path.
//
// With the engine, the master still binds the sockets, supervises the
// workers, hands the sockets over on a HUP, and reads the scoreboard
// (gateway.Scoreboard) for harakiri (pyworker's checkEngineHarakiri), the
// status page and the metrics; a harakiri ends the worker and every
// connection it holds, as in uWSGI.

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gowsgi/gowsgi/gateway"
	"github.com/gowsgi/gowsgi/pyworker"
	"golang.org/x/sys/unix"
)

// engineLib is the engine library, built by `make build` into
// master/enginelib before the binary (a binary built without it serves
// through the proxy path).
//
//go:embed all:enginelib
var engineLibFS embed.FS

// engineSetup is what the master keeps of the engine it gave the workers.
type engineSetup struct {
	board  *gateway.Scoreboard
	files  []*os.File
	closed bool
}

// ErrNoEngine is engine = on where the engine cannot run.
var ErrNoEngine = errors.New("the in-worker engine cannot run here")

// pickEngine decides who serves; it returns "" when the workers do, else
// why the master does.
func (m *Master) pickEngine(opts *pyworker.Options) (why string, err error) {
	cfg := &m.cfg
	if cfg.Engine == "" {
		// The tests run the same integration tests on both paths with it.
		cfg.Engine = os.Getenv("GOWSGI_ENGINE")
	}
	switch {
	case cfg.Engine == "off":
		return "engine = off", nil
	case runtime.GOOS != "linux":
		why = "the engine runs on Linux only"
	case cfg.Mode == ModeCheck:
		why = "gowsgi check"
	case len(m.listeners)+len(m.uwsgiListeners) == 0:
		why = "no listener"
	}
	if why == "" {
		for i, l := range cfg.HTTP {
			if l.TLS != nil {
				why = fmt.Sprintf("%s %s is https: the engine does not do TLS", l.Flag, cfg.HTTP[i].Addr)
			}
		}
	}
	var lib string
	if why == "" {
		lib, why = extractEngine(opts.CacheDir)
	}
	if why == "" {
		why = probeEngine(opts.Python, lib)
	}
	if why != "" {
		if cfg.Engine == "on" {
			return "", fmt.Errorf("%w: %s (set engine = auto or off to serve through the master)", ErrNoEngine, why)
		}
		return why, nil
	}
	return "", m.setUpEngine(opts, lib)
}

// fallBackToProxy serves through the proxy path when the first
// generation found another Go runtime in the app's workers
// (pyworker.GoRuntimeError: a module built with Go; the engine would be a
// second runtime, golang/go#18976). Only importing the app tells, so the
// probe cannot: it would cost every start an import of the app (0.7 s for
// testdata/mysite, where the probe takes 0.03 s) and run its import-time
// code once more. Here only such an app pays, with a second import. The
// workers that found it are gone (the generation failed); the engine's
// sockets and scoreboard are released and the workers start again
// without it, for good: this master's respawns are proxy-path workers,
// and a restart (HUP, touch-reload) is a new master that decides again
// the same way. err is what starting the first generation returned,
// given back unchanged when it is anything else.
func (m *Master) fallBackToProxy(ctx context.Context, opts *pyworker.Options, err error) error {
	var gr *pyworker.GoRuntimeError
	if m.engine == nil || !errors.As(err, &gr) {
		return err
	}
	m.mgr.Kill()
	if m.cfg.Engine == "on" {
		return fmt.Errorf("%w: %w (set engine = off to serve through the master)", ErrNoEngine, gr)
	}
	m.closeEngine()
	m.engine = nil
	opts.Engine = nil
	if err := m.nonblockingListeners(); err != nil {
		return err
	}
	if m.ops.metrics != nil {
		m.ops.metrics = gateway.NewMetrics() // not the scoreboard's (setUpEngine)
	}
	fmt.Fprintf(m.msgs, "gowsgi: the master serves the connections (proxy path): %v\n", gr)
	mgr, err := pyworker.New(*opts)
	if err != nil {
		return err
	}
	m.mgr = mgr
	return m.startWorkers(ctx)
}

// unpollEngine takes the listening sockets out of the master's poller once
// the workers serve them (unpoll_linux.go). Not before: until the first
// generation is up, a fallback to the proxy path (fallBackToProxy) may
// still make the master accept on them.
func (m *Master) unpollEngine() {
	if m.engine == nil {
		return
	}
	socks := m.engine.files[:len(m.listeners)+len(m.uwsgiListeners)]
	if _, err := unpollSockets(socks); err != nil {
		// Not a reason to refuse the engine: the master only wakes more.
		m.logf("warning: the master could not take its listening sockets out of its poller (%v): it wakes on every new connection", err)
	}
}

// nonblockingListeners puts the listening sockets back in non-blocking
// mode for the master to accept on. Handing them to the workers made them
// blocking: os/exec takes ExtraFiles' Fd(), which clears O_NONBLOCK, and the
// flag belongs to the socket, not to the duplicate descriptor. On a
// blocking socket Accept sits in accept(2), and Close waits for it forever:
// the first fallback stopped only on SIGKILL.
func (m *Master) nonblockingListeners() error {
	for _, ln := range append(append([]net.Listener{}, m.listeners...), m.uwsgiListeners...) {
		sc, ok := ln.(syscall.Conn)
		if !ok {
			return fmt.Errorf("serving through the master: listener %s (%T) has no descriptor to make non-blocking", ln.Addr(), ln)
		}
		rc, err := sc.SyscallConn()
		if err != nil {
			return fmt.Errorf("serving through the master on %s: %w", ln.Addr(), err)
		}
		var serr error
		if err := rc.Control(func(fd uintptr) { serr = syscall.SetNonblock(int(fd), true) }); err != nil {
			return fmt.Errorf("serving through the master on %s: %w", ln.Addr(), err)
		}
		if serr != nil {
			return fmt.Errorf("serving through the master: making %s non-blocking: %w", ln.Addr(), serr)
		}
	}
	return nil
}

// setUpEngine gives the workers the sockets, the scoreboard and the
// settings of the request path.
func (m *Master) setUpEngine(opts *pyworker.Options, lib string) error {
	cfg := &m.cfg
	rows := 2*opts.Processes + 2 // room for a generation and its replacement
	board, bf, err := gateway.CreateScoreboard(rows, opts.Threads)
	if err != nil {
		return fmt.Errorf("the engine's scoreboard: %w", err)
	}
	es := &engineSetup{board: board}
	s := gateway.EngineSettings{
		ScriptName: cfg.ScriptName, Proxies: cfg.Proxies, AddHeader: cfg.ResponseHeaders,
		LimitPost: cfg.LimitPost, Timeout: cfg.SocketTimeout, MaxHeaderBytes: cfg.MaxHeaderBytes, BufferSize: cfg.BufferSize,
		LogDate: gateway.StrftimeOf(cfg.AccessSpec.Date),
	}
	for _, st := range cfg.StaticMaps {
		s.Static = append(s.Static, gateway.EngineStaticOf(st))
	}
	if d := cfg.Dev; cfg.Mode == ModeDev && d != nil {
		// Dev mode's static and media files, and its live reload, are
		// the engine's too (devfront.go: what the master answers itself).
		for _, st := range d.Static {
			s.Static = append(s.Static, gateway.EngineStaticOf(st))
		}
		s.LiveReload, s.Dev = d.Live != nil, true
	}
	if cfg.AccessLog {
		spec := cfg.AccessSpec
		s.AccessLog = &spec
	}
	add := func(ln net.Listener, kind string) error {
		f, err := listenerFile(ln)
		if err != nil {
			return err
		}
		s.Listeners = append(s.Listeners, gateway.EngineListener{FD: 3 + len(es.files), Kind: kind, Scheme: "http"})
		es.files = append(es.files, f)
		return nil
	}
	for _, ln := range m.listeners {
		if err := add(ln, "http"); err != nil {
			return err
		}
	}
	for _, ln := range m.uwsgiListeners {
		if err := add(ln, "uwsgi"); err != nil {
			return err
		}
	}
	sbFD := 3 + len(es.files)
	es.files = append(es.files, bf)
	raw, err := json.Marshal(struct {
		gateway.EngineSettings
		Scoreboard int `json:"scoreboard"`
		Workers    int `json:"workers"`
	}{s, sbFD, rows})
	if err != nil {
		return fmt.Errorf("encoding the engine settings: %w", err)
	}
	opts.Engine = &pyworker.EngineOptions{Lib: lib, Settings: raw, Files: es.files, Rows: rows, RowFreed: board.Release,
		Busy: func() []pyworker.BusyThread {
			var out []pyworker.BusyThread
			for _, t := range board.Busy() {
				_, path, _ := strings.Cut(t.Request, " ")
				out = append(out, pyworker.BusyThread{Pid: t.Pid, Thread: t.Thread, Since: t.Since, Path: path})
			}
			return out
		}}
	m.engine = es
	m.ops.metrics.WithBoard(board)
	return nil
}

// httpFile is the i-th HTTP socket the workers inherit (the HTTP ones
// come first).
func (es *engineSetup) httpFile(i int) *os.File { return es.files[i] }

// setLive is Scoreboard.SetLive (dev mode's live reload, devfront.go).
func (es *engineSetup) setLive(version, gen int) { es.board.SetLive(version, gen) }

// engineStatus fills in what the supervisor does not know of engine
// workers: their requests and what each thread runs, from the scoreboard.
func (m *Master) engineStatus(st *pyworker.Status) {
	es := m.engine
	if es == nil {
		return
	}
	busy := es.board.Busy()
	for i := range st.Workers {
		w := &st.Workers[i]
		if w.Pid <= 0 {
			continue
		}
		w.Requests = es.board.Requests(w.Pid)
		threads := make([]pyworker.ThreadStatus, m.cfg.Workers.Threads)
		for t := range threads {
			threads[t].Thread = t
		}
		for _, b := range busy {
			if b.Pid == w.Pid && b.Thread < len(threads) {
				threads[b.Thread].Since = b.Since
				if _, path, ok := strings.Cut(b.Request, " "); ok {
					threads[b.Thread].Path = path
				}
			}
		}
		w.Threads = threads
	}
}

// listenerFile is a duplicate of ln's socket for the workers to inherit.
//
// It is made with fcntl, not ln's File method: the os.File that File
// returns puts the socket in blocking mode when its Fd is read, and
// exec.Cmd reads it for every process it starts with it. The socket is
// the workers' too: while a new generation's zygote imported the app, a
// worker serving that found the queue empty (another took the connection)
// waited in accept4, holding its engine's lock, until the next connection.
func listenerFile(ln net.Listener) (*os.File, error) {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return nil, fmt.Errorf("the engine: listener %s (%T) has no file descriptor to hand to the workers", ln.Addr(), ln)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("the engine: listener %s: %w", ln.Addr(), err)
	}
	dup := -1
	cerr := rc.Control(func(fd uintptr) { dup, err = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0) })
	if cerr != nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("the engine: duplicating listener %s: %w", ln.Addr(), err)
	}
	return os.NewFile(uintptr(dup), ln.Addr().String()), nil
}

// The library's content hash is computed by `make engine` (and the wheel
// build) next to it, in libgowsgi-engine.so.sha256 ("HEX SIZE HEADHEX"),
// so that a start reads 4 KiB of the library instead of all of it: reading
// and hashing the 8.7 MB library at every start kept about 8 MiB of the
// master's PSS (its pages of the binary, and a heap copy the collector
// returned late), for a file extracted once. The hash is used only when
// the library's size and the hash of its first 4 KiB (which hold the
// linker's and Go's build IDs) match; otherwise (a library rebuilt by hand:
// a rebuild often keeps the size) it is computed here.
const (
	engineLibPath  = "enginelib/libgowsgi-engine.so"
	engineHashPath = engineLibPath + ".sha256"
	engineHeadSize = 4096
)

// extractEngine writes the embedded library to the cache directory once
// per content, and returns its path, or why there is none. The library is
// read only when the cache has no copy of it.
func extractEngine(cacheDir string) (path, why string) {
	st, err := fs.Stat(engineLibFS, engineLibPath)
	if err != nil {
		return "", "this gowsgi was built without the engine library (make build builds it)"
	}
	if p := os.Getenv("GOWSGI_ENGINE_LIB"); p != "" {
		return p, ""
	}
	base := cacheDir
	if base == "" {
		if base, err = pyworker.CacheDir(); err != nil {
			return "", err.Error()
		}
	}
	sum, ok := builtEngineHash(st.Size())
	if !ok {
		if sum, err = hashEngine(); err != nil {
			return "", fmt.Sprintf("reading the embedded engine: %v", err)
		}
	}
	path = enginePath(base, sum)
	if _, err := os.Stat(path); err == nil {
		return path, ""
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", fmt.Sprintf("extracting the engine: %v", err)
	}
	tmp, err := os.CreateTemp(base, ".engine-")
	if err != nil {
		return "", fmt.Sprintf("extracting the engine: %v", err)
	}
	defer os.Remove(tmp.Name())
	// The copy is hashed as it is written, and named after what was
	// written: a cached engine-HASH.so always holds the library of that
	// hash, whatever the hash file said.
	h := sha256.New()
	lib, err := engineLibFS.Open(engineLibPath)
	if err == nil {
		_, err = io.Copy(io.MultiWriter(tmp, h), lib)
		lib.Close()
	}
	if err != nil {
		tmp.Close()
		return "", fmt.Sprintf("extracting the engine: %v", err)
	}
	tmp.Chmod(0o755)
	tmp.Close()
	path = enginePath(base, hex.EncodeToString(h.Sum(nil)))
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Sprintf("extracting the engine: %v", err)
	}
	return path, ""
}

// enginePath is where the cache keeps the library of hash sum (hex).
func enginePath(base, sum string) string {
	return filepath.Join(base, "engine-"+sum[:12]+".so")
}

// builtEngineHash is the library's hash as the build wrote it, if it
// wrote one for a library of this size and head.
func builtEngineHash(size int64) (string, bool) {
	raw, err := engineLibFS.ReadFile(engineHashPath)
	if err != nil {
		return "", false
	}
	f := strings.Fields(string(raw))
	if len(f) != 3 || !isSHA256(f[0]) || !isSHA256(f[2]) || f[1] != strconv.FormatInt(size, 10) {
		return "", false
	}
	lib, err := engineLibFS.Open(engineLibPath)
	if err != nil {
		return "", false
	}
	defer lib.Close()
	h := sha256.New()
	if _, err := io.CopyN(h, lib, engineHeadSize); err != nil && !(errors.Is(err, io.EOF) && size < engineHeadSize) {
		return "", false
	}
	if hex.EncodeToString(h.Sum(nil)) != strings.ToLower(f[2]) {
		return "", false
	}
	return strings.ToLower(f[0]), true
}

func isSHA256(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil && len(s) == 2*sha256.Size
}

// hashEngine hashes the embedded library, for a build that wrote no hash.
func hashEngine() (string, error) {
	lib, err := engineLibFS.Open(engineLibPath)
	if err != nil {
		return "", err
	}
	defer lib.Close()
	h := sha256.New()
	if _, err := io.Copy(h, lib); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// probeEngine loads the library into the app's python once, in a process
// of its own, and returns why it cannot be loaded ("" when it can): musl's
// loader refuses Go's c-shared libraries, and an interpreter built oddly
// may have no ctypes.
func probeEngine(python, lib string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-c", "import ctypes, sys; ctypes.CDLL(sys.argv[1])", lib)
	out, err := cmd.CombinedOutput()
	if err == nil {
		return ""
	}
	msg := strings.TrimSpace(string(out))
	if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
		msg = msg[i+1:]
	}
	if msg == "" {
		msg = err.Error()
	}
	return fmt.Sprintf("%s cannot load the engine library (%s)", python, msg)
}

// closeEngine closes what the workers inherited.
func (m *Master) closeEngine() {
	es := m.engine
	if es == nil || es.closed {
		return
	}
	es.closed = true
	for _, f := range es.files {
		f.Close()
	}
}
