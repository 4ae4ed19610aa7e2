// Command engine is the in-worker engine as a C shared library
// (go build -buildmode=c-shared): a Python worker loads it with ctypes
// after its fork and its threads serve the worker's connections through
// it (gateway.Engine). Its C interface is small, and every function is
// called by the Python runtime's _gowsgi/engine.py only:
//
//	int  gowsgi_engine_start(char *settings_json, int len)  0, or -1: gowsgi_engine_error says why
//	int  gowsgi_engine_serve(int thread, app_fn app)        runs the thread until the engine stops
//	void gowsgi_engine_stop(void)                           stop accepting; finish; serve returns
//	int  gowsgi_engine_error(char *buf, int cap)            the last start error's text
//	int  gowsgi_py_ready(void)                              1: gowsgi_engine_serve_py can run
//	int  gowsgi_engine_serve_py(int thread, PyObject *fn, PyObject *base)
//
// gowsgi_engine_serve_py is gowsgi_engine_serve without the ctypes
// callback: the engine builds each request's environ dict itself (base
// and the request's variables, pycall.c) and calls fn(thread, environ,
// flags), which returns the callback's codes.
//
// During a request the app callback gets the thread's number and the
// encoded environ, and answers through the thread's functions:
//
//	typedef int (*app_fn)(int thread, char *environ, int len, int flags);
//	int gowsgi_read(int thread, char *buf, int n)           body bytes read; 0 at its end; -1 client gone
//	int gowsgi_start(int thread, char *start, int len)      status and headers (the Start frame's payload)
//	int gowsgi_write(int thread, char *data, int len)       0, or -1 when the client is gone
//	int gowsgi_respond(int thread, char *start, int slen, char *body, int blen)  start and write, one call
//	long long gowsgi_sendfile(int thread, int fd, long long off, long long n)    bytes sent, -1 on error
//	void gowsgi_flush(int thread)
//	void gowsgi_app_error(int thread, char *traceback, int len)
//
// The callback returns 0 when the response is complete, 1 after
// gowsgi_app_error (nothing was sent), 2 when it broke after its headers
// (the connection is cut), 3 when the client went away.
package main

/*
#cgo LDFLAGS: -ldl
#include <stdlib.h>
#include "pycall.h"
#include "forks.h"
typedef int (*gowsgi_app_fn)(int thread, char *environ, int len, int flags);
static inline int gowsgi_call_app(gowsgi_app_fn f, int thread, char *environ, int len, int flags) {
	return f(thread, environ, len, flags);
}
*/
import "C"

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"unsafe"

	"github.com/gowsgi/gowsgi/gateway"
	"github.com/gowsgi/gowsgi/pyworker"
)

func main() {}

// config is what the worker passes to gowsgi_engine_start.
type config struct {
	gateway.EngineSettings
	Pid        int `json:"pid"`
	Generation int `json:"generation"`
	Threads    int `json:"threads"`
	// Scoreboard is the inherited descriptor of the master's scoreboard,
	// -1 for none; Worker is this worker's row in it.
	Scoreboard int `json:"scoreboard"`
	Worker     int `json:"worker"`
	Workers    int `json:"workers"`
	GoMaxProcs int `json:"gomaxprocs"`
}

var (
	mu       sync.Mutex
	engine   *gateway.Engine
	cfg      config
	startErr string
)

// engineGCPercent is the engine's GOGC unless the environment sets one.
// Its live heap is small (a few hundred KiB), so at Go's default of 100 it
// collected every 4 MiB allocated: several times a second per worker under
// load, each cycle waking the runtime's other threads on a machine whose
// cores the Python threads want. Measured on mysite, 2 workers
// (bench/ab.sh, noisy machine): 400 against 100 +14-20% rps in 2 of 2
// rounds, but 24 MiB more PSS after load; 200 against 400 no loss (one
// round each way) for half of that memory (+8 MiB against 100).
const engineGCPercent = 200

// calls holds each thread's request while its app runs.
var calls [1024]*call

//export gowsgi_engine_start
func gowsgi_engine_start(settings *C.char, n C.int) C.int {
	mu.Lock()
	defer mu.Unlock()
	if engine != nil {
		startErr = "the engine is started already"
		return -1
	}
	raw := C.GoBytes(unsafe.Pointer(settings), n)
	cfg = config{Scoreboard: -1}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		startErr = fmt.Sprintf("decoding the engine settings: %v", err)
		return -1
	}
	if cfg.Threads > len(calls) {
		startErr = fmt.Sprintf("%d threads: the engine serves at most %d per worker", cfg.Threads, len(calls))
		return -1
	}
	procs := cfg.GoMaxProcs
	if v, err := strconv.Atoi(os.Getenv("GOWSGI_ENGINE_GOMAXPROCS")); err == nil && v > 0 {
		procs = v
	}
	if procs <= 0 {
		procs = cfg.Threads + 1
	}
	runtime.GOMAXPROCS(procs)
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(engineGCPercent)
	}
	msgs := gateway.DatedWriter(gateway.Stderr, cfg.LogDate)
	logf := func(format string, a ...any) { fmt.Fprintf(msgs, "gowsgi: "+format+"\n", a...) }
	e, err := gateway.NewEngine(&cfg.EngineSettings, logf)
	if err != nil {
		startErr = err.Error()
		return -1
	}
	e.SetThreads(cfg.Threads)
	if C.gowsgi_watch_forks() == 0 {
		e.SetForkWatch(&gateway.ForkWatch{
			Forked:  (*int32)(unsafe.Pointer(C.gowsgi_fork_flag())),
			Closing: (*int32)(unsafe.Pointer(C.gowsgi_fork_closing())),
		})
	}
	if cfg.Scoreboard > 0 {
		b, err := gateway.OpenScoreboard(cfg.Scoreboard, cfg.Workers, cfg.Threads)
		if err != nil {
			startErr = err.Error()
			return -1
		}
		e.SetBoard(b, cfg.Worker)
	}
	if err := e.Accept(); err != nil {
		startErr = err.Error()
		return -1
	}
	engine = e
	return 0
}

//export gowsgi_engine_error
func gowsgi_engine_error(buf *C.char, n C.int) C.int {
	mu.Lock()
	defer mu.Unlock()
	return C.int(copy(unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(n)), startErr))
}

//export gowsgi_engine_serve
func gowsgi_engine_serve(thread C.int, app C.gowsgi_app_fn) C.int {
	return serve(thread, &cApp{fn: app, thread: int(thread)})
}

// serve runs engine thread thread with a until the engine stops.
func serve(thread C.int, a *cApp) C.int {
	mu.Lock()
	e := engine
	mu.Unlock()
	if e == nil || int(thread) < 0 || int(thread) >= len(calls) {
		return -1
	}
	defer a.free()
	if err := e.Serve(a, cfg.Pid, cfg.Generation, int(thread)); err != nil {
		return -1
	}
	return 0
}

//export gowsgi_engine_stop
func gowsgi_engine_stop() {
	mu.Lock()
	e := engine
	mu.Unlock()
	if e != nil {
		e.Stop()
	}
}

//export gowsgi_py_ready
func gowsgi_py_ready() C.int {
	pyOnce.Do(func() { pyReady = C.gowsgi_py_resolve() == 1 })
	if pyReady {
		return 1
	}
	return 0
}

var (
	pyOnce  sync.Once
	pyReady bool
)

//export gowsgi_engine_serve_py
func gowsgi_engine_serve_py(thread C.int, fn, base unsafe.Pointer) C.int {
	if gowsgi_py_ready() != 1 || fn == nil || base == nil {
		return -1
	}
	return serve(thread, &cApp{py: (*C.gowsgi_pyobject)(fn), base: (*C.gowsgi_pyobject)(base), thread: int(thread)})
}

// cApp runs the Python app on the calling thread: through the ctypes
// callback fn, or, when py is set, through pycall.c.
type cApp struct {
	fn       C.gowsgi_app_fn
	py, base *C.gowsgi_pyobject // the handler's function and its base environ: references the caller holds
	thread   int
	env      *C.char // C memory for the environ, grown as needed
	envCap   int
	c        call // the thread's request while the app runs (calls)
}

func (a *cApp) free() {
	if a.env != nil {
		C.free(unsafe.Pointer(a.env))
	}
}

// call is one request while the app runs.
type call struct {
	req       *pyworker.Request
	out       pyworker.Responder
	first     []byte // what is left of req.First
	traceback string
	err       error // the client is gone, or the headers were refused
	// headers is the answer's header pairs, its room kept for the
	// thread's next request.
	headers [][2]string
}

// Run implements gateway.EngineApp.
func (a *cApp) Run(req *pyworker.Request, out pyworker.Responder) error {
	if len(req.Environ) > a.envCap {
		a.free()
		a.envCap = max(len(req.Environ), 16<<10)
		a.env = (*C.char)(C.malloc(C.size_t(a.envCap)))
	}
	copy(unsafe.Slice((*byte)(unsafe.Pointer(a.env)), a.envCap), req.Environ)
	c := &a.c
	*c = call{req: req, out: out, first: req.First, headers: c.headers[:0]}
	calls[a.thread] = c
	flags := 0
	if req.HasBody {
		flags = 1
	}
	var rc C.int
	if a.py != nil {
		rc = C.gowsgi_call_py(a.py, a.base, C.int(a.thread), a.env, C.int(len(req.Environ)), C.int(flags))
	} else {
		rc = C.gowsgi_call_app(a.fn, C.int(a.thread), a.env, C.int(len(req.Environ)), C.int(flags))
	}
	calls[a.thread] = nil
	switch {
	case c.err != nil && errors.Is(c.err, errHeaders):
		return c.err
	case rc == 1:
		return &pyworker.AppError{Traceback: c.traceback}
	case rc == 2:
		return pyworker.ErrResponseBroken
	case rc == 3 || c.err != nil:
		return pyworker.ErrClientGone
	}
	return nil
}

// errHeaders marks a Start the pipeline refused (PEP 3333 checks).
var errHeaders = errors.New("invalid response headers")

func callOf(thread C.int) *call {
	if int(thread) < 0 || int(thread) >= len(calls) {
		return nil
	}
	return calls[thread]
}

//export gowsgi_read
func gowsgi_read(thread C.int, buf *C.char, n C.int) C.int {
	c := callOf(thread)
	if c == nil || n <= 0 {
		return -1
	}
	p := unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(n))
	if len(c.first) > 0 {
		k := copy(p, c.first)
		c.first = c.first[k:]
		return C.int(k)
	}
	if c.req.Body == nil {
		return 0
	}
	k, err := c.req.Body.Read(p)
	if k > 0 {
		return C.int(k)
	}
	if err == io.EOF || err == nil {
		return 0
	}
	return -1
}

//export gowsgi_start
func gowsgi_start(thread C.int, start *C.char, n C.int) C.int {
	c := callOf(thread)
	if c == nil {
		return -1
	}
	return c.start(cBytes(start, n))
}

// cBytes is the caller's n bytes at p, not copied: start copies what it
// keeps of them.
func cBytes(p *C.char, n C.int) []byte {
	if n <= 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))
}

func (c *call) start(payload []byte) C.int {
	status, headers, err := pyworker.AppendStart(c.headers[:0], payload)
	c.headers = headers
	if err == nil {
		err = c.out.Start(status, headers)
	}
	if err != nil {
		c.err = &pyworker.BadResponseError{Err: err}
		c.err = fmt.Errorf("%w: %w", errHeaders, c.err)
		return -1
	}
	return 0
}

//export gowsgi_write
func gowsgi_write(thread C.int, data *C.char, n C.int) C.int {
	c := callOf(thread)
	if c == nil || c.err != nil {
		return -1
	}
	if err := c.out.Write(unsafe.Slice((*byte)(unsafe.Pointer(data)), int(n))); err != nil {
		c.err = err
		return -1
	}
	return 0
}

//export gowsgi_respond
func gowsgi_respond(thread C.int, start *C.char, slen C.int, body *C.char, blen C.int) C.int {
	c := callOf(thread)
	if c == nil {
		return -1
	}
	if rc := c.start(cBytes(start, slen)); rc != 0 {
		return rc
	}
	if blen == 0 {
		return 0
	}
	return gowsgi_write(thread, body, blen)
}

//export gowsgi_sendfile
func gowsgi_sendfile(thread C.int, fd C.int, off, n C.longlong) C.longlong {
	c := callOf(thread)
	if c == nil || c.err != nil {
		return -1
	}
	// The file stays the app's: its descriptor is only read here.
	sent, err := gateway.SendFile(c.out, int(fd), int64(off), int64(n))
	if err != nil {
		c.err = err
		return -1
	}
	return C.longlong(sent)
}

//export gowsgi_flush
func gowsgi_flush(thread C.int) {
	if c := callOf(thread); c != nil {
		c.out.Flush()
	}
}

//export gowsgi_app_error
func gowsgi_app_error(thread C.int, text *C.char, n C.int) {
	if c := callOf(thread); c != nil {
		c.traceback = C.GoStringN(text, n)
	}
}
