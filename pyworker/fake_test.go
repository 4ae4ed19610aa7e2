package pyworker

// This file is the fake Python of the supervisor's unit tests. It is the
// procs the supervisor starts processes with (spawn.go), and its processes
// are goroutines that connect to the master socket and speak the real
// protocol: Hello, Ready, BootError, Fork/Forked/Exited, Stop. The state
// machine is driven as real workers drive it, without an interpreter.

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fakePidBase is above Linux's highest pid (2^22), so a fake pid given to
// a real kill(2) by mistake can never hit a real process.
const fakePidBase = 5_000_000

// fakePython is the fake runtime. Set its hooks before the Manager starts
// processes.
type fakePython struct {
	t *testing.T

	// worker runs a worker process, exec'd or forked; nil: serveWorker.
	worker func(p *fakeProc)
	// zygote runs a zygote; nil: serveZygote.
	zygote func(p *fakeProc)
	// forkError, when set, is the error a zygote answers a Fork with
	// ("pid": null), as fork(2) failing would make it.
	forkError func(worker int) string
	// lateForked, when set, holds back each Forked answer until a value
	// is received from it: the worker runs and is ready first.
	lateForked chan struct{}

	mu      sync.Mutex
	nextPid int
	procs   map[int]*fakeProc
	started []*fakeProc // every process, in order of start (forked ones included)
	startCh chan *fakeProc
}

func newFakePython(t *testing.T) *fakePython {
	return &fakePython{t: t, procs: map[int]*fakeProc{}, startCh: make(chan *fakeProc, 1000)}
}

// fakeProc is one fake process.
type fakeProc struct {
	f       *fakePython
	cfg     workerConfig
	pid     int
	at      time.Time
	parent  *fakeProc  // its zygote, for a forked worker
	exited  func(Exit) // for an exec'd one
	gone    chan struct{}
	endOnce sync.Once
	// announced is closed once its zygote sent its Forked frame: the real
	// zygote reports a child's exit only after that (one loop does both).
	announced chan struct{}

	mu       sync.Mutex
	conns    []net.Conn
	children map[int]*fakeProc // a zygote's live children
	stopping bool              // a zygote was told to stop
	reports  sync.WaitGroup    // a zygote's Exited frames not sent yet

	ctrl   net.Conn
	ctrlR  *bufio.Reader
	ctrlMu sync.Mutex // serialises writes on ctrl
}

func (f *fakePython) newProc(cfg workerConfig, parent *fakeProc, exited func(Exit)) *fakeProc {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextPid++
	p := &fakeProc{f: f, cfg: cfg, pid: fakePidBase + f.nextPid, at: time.Now(), parent: parent,
		exited: exited, gone: make(chan struct{}), children: map[int]*fakeProc{}, announced: make(chan struct{})}
	f.procs[p.pid] = p
	if parent != nil {
		// Its child before anyone can end it, so its end is reported.
		parent.mu.Lock()
		parent.children[p.pid] = p
		parent.mu.Unlock()
	}
	f.started = append(f.started, p)
	f.startCh <- p
	return p
}

func (f *fakePython) start(cfg workerConfig, exited func(Exit)) (int, error) {
	p := f.newProc(cfg, nil, exited)
	go f.run(p)
	return p.pid, nil
}

func (f *fakePython) run(p *fakeProc) {
	switch {
	case p.cfg.Mode == "zygote" && f.zygote != nil:
		f.zygote(p)
	case p.cfg.Mode == "zygote":
		serveZygote(p)
	case f.worker != nil:
		f.worker(p)
	default:
		serveWorker(p)
	}
}

func (f *fakePython) signal(pid int, sig syscall.Signal) {
	if pid < fakePidBase {
		f.t.Errorf("signal %d to pid %d: not a fake pid", sig, pid)
		return
	}
	f.mu.Lock()
	p := f.procs[pid]
	f.mu.Unlock()
	if p == nil {
		return
	}
	switch sig {
	case syscall.SIGKILL:
		p.end(Exit{Signal: syscall.SIGKILL})
	case syscall.SIGTERM:
		p.end(Exit{})
	}
}

// count returns how many processes of mode ("worker", "zygote") started.
func (f *fakePython) count(mode string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, p := range f.started {
		if p.mode() == mode {
			n++
		}
	}
	return n
}

// next waits for the next process to start.
func (f *fakePython) next(t *testing.T) *fakeProc {
	t.Helper()
	select {
	case p := <-f.startCh:
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("no process started within 5s")
		return nil
	}
}

func (p *fakeProc) mode() string {
	if p.cfg.Mode == "zygote" {
		return "zygote"
	}
	return "worker"
}

// dial opens a connection to the master and sends its Hello.
func (p *fakeProc) dial(role string, thread int) (net.Conn, *bufio.Reader, error) {
	c, err := net.Dial("unix", p.cfg.Socket)
	if err != nil {
		return nil, nil, err
	}
	p.mu.Lock()
	p.conns = append(p.conns, c)
	p.mu.Unlock()
	select {
	case <-p.gone: // ended while dialing: end did not see c
		c.Close()
		return nil, nil, net.ErrClosed
	default:
	}
	h, _ := json.Marshal(hello{Role: role, Token: p.cfg.Token, Worker: p.cfg.Worker,
		Generation: p.cfg.Generation, Thread: thread, Pid: p.pid})
	if _, err := c.Write(AppendFrame(nil, TypeHello, 0, 0, h)); err != nil {
		return nil, nil, err
	}
	return c, bufio.NewReader(c), nil
}

// connect opens the control connection (role "control" or "zygote").
func (p *fakeProc) connect(role string) error {
	c, r, err := p.dial(role, 0)
	if err != nil {
		return err
	}
	p.ctrl, p.ctrlR = c, r
	return nil
}

// send writes a JSON control frame.
func (p *fakeProc) send(t FrameType, v any) error {
	b, _ := json.Marshal(v)
	p.ctrlMu.Lock()
	defer p.ctrlMu.Unlock()
	_, err := p.ctrl.Write(AppendFrame(nil, t, 0, 0, b))
	return err
}

// threads opens the thread connections; each answers every Request with
// 200 and the body "ok pid N".
func (p *fakeProc) threads() error {
	for i := 0; i < p.cfg.Threads; i++ {
		c, r, err := p.dial("thread", i)
		if err != nil {
			return err
		}
		go fakeServeThread(p, c, r)
	}
	return nil
}

func fakeServeThread(p *fakeProc, c net.Conn, r *bufio.Reader) {
	for {
		f, err := ReadFrame(r, nil)
		if err != nil {
			return
		}
		if f.Type != TypeRequest {
			continue
		}
		var b []byte
		b = AppendFrame(b, TypeStart, 0, f.RequestID, []byte("200 OK\x00Content-Type\x00text/plain"))
		b = AppendFrame(b, TypeRespBody, 0, f.RequestID, []byte(fmt.Sprintf("ok pid %d", p.pid)))
		b = AppendFrame(b, TypeEnd, 0, f.RequestID, nil)
		if _, err := c.Write(b); err != nil {
			return
		}
	}
}

// ready connects a worker and reports it ready, as worker.py does.
func (p *fakeProc) ready() error {
	if err := p.connect("control"); err != nil {
		return err
	}
	if err := p.threads(); err != nil {
		return err
	}
	return p.send(TypeReady, readyInfo{Pid: p.pid, Python: "3.12.0 (fake)", Threads: p.cfg.Threads})
}

// failImport reports an import failure and exits 4, as boot.fail_boot does.
func (p *fakeProc) failImport(msg string) {
	role := "control"
	if p.cfg.Mode == "zygote" {
		role = "zygote"
	}
	if err := p.connect(role); err == nil {
		p.send(TypeBootError, BootError{Type: "ImportError", Message: msg, Traceback: "Traceback (fake)"})
	}
	p.end(Exit{Code: exitCodeAppLoad})
}

// serveControl reads the control connection until Stop (exit 0) or EOF
// (exit 1, the master is gone).
func (p *fakeProc) serveControl() {
	for {
		f, err := ReadFrame(p.ctrlR, nil)
		if err != nil {
			p.end(Exit{Code: 1})
			return
		}
		if f.Type == TypeStop {
			p.end(Exit{})
			return
		}
	}
}

// serveWorker is a healthy worker.
func serveWorker(p *fakeProc) {
	if err := p.ready(); err != nil {
		p.end(Exit{Code: 1})
		return
	}
	p.serveControl()
}

// serveZygote is a healthy zygote: Ready, then Fork -> Forked, child
// exits -> Exited, Stop -> exit 0 once its children are gone.
func serveZygote(p *fakeProc) {
	if err := p.connect("zygote"); err != nil {
		p.end(Exit{Code: 1})
		return
	}
	p.send(TypeReady, readyInfo{Pid: p.pid, Python: "3.12.0 (fake)"})
	for {
		f, err := ReadFrame(p.ctrlR, nil)
		if err != nil {
			p.end(Exit{Code: 1})
			return
		}
		switch f.Type {
		case TypeStop:
			p.mu.Lock()
			p.stopping = true
			idle := len(p.children) == 0
			p.mu.Unlock()
			if idle {
				p.reports.Wait()
				p.end(Exit{})
				return
			}
		case TypeFork:
			var req struct {
				Worker     int    `json:"worker"`
				Generation int    `json:"generation"`
				Token      string `json:"token"`
			}
			json.Unmarshal(f.Payload, &req)
			if p.f.forkError != nil {
				if msg := p.f.forkError(req.Worker); msg != "" {
					p.send(TypeForked, map[string]any{"worker": req.Worker, "pid": nil, "error": msg})
					continue
				}
			}
			cfg := p.cfg
			cfg.Mode, cfg.Worker, cfg.Generation, cfg.Token = "worker", req.Worker, req.Generation, req.Token
			child := p.f.newProc(cfg, p, nil)
			go p.f.run(child)
			answer := func() {
				p.send(TypeForked, map[string]any{"worker": req.Worker, "pid": child.pid})
				close(child.announced)
			}
			if late := p.f.lateForked; late != nil {
				go func() { <-late; answer() }()
			} else {
				answer()
			}
		}
	}
}

// end ends the process with e: its connections close, and its exit is
// reported (by its zygote, for a forked worker). A zygote's children die
// with it, unreported (PDEATHSIG).
func (p *fakeProc) end(e Exit) {
	p.endOnce.Do(func() {
		close(p.gone)
		p.mu.Lock()
		conns := p.conns
		children := p.children
		p.children = map[int]*fakeProc{}
		p.mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
		for _, c := range children {
			c.end(Exit{Signal: syscall.SIGKILL}) // no longer its child: not reported
		}
		if z := p.parent; z != nil {
			z.mu.Lock()
			_, mine := z.children[p.pid]
			delete(z.children, p.pid)
			last := z.stopping && len(z.children) == 0
			if mine {
				z.reports.Add(1)
			}
			z.mu.Unlock()
			if !mine {
				return
			}
			ex := map[string]any{"pid": p.pid, "worker": p.cfg.Worker, "code": nil, "signal": nil}
			if e.Signal != 0 {
				ex["signal"] = int(e.Signal)
			} else {
				ex["code"] = e.Code
			}
			go func() {
				<-p.announced
				z.send(TypeExited, ex)
				z.reports.Done()
				if last { // like the real one, it exits once it reported every child
					z.reports.Wait()
					z.end(Exit{})
				}
			}()
			return
		}
		go p.exited(e)
	})
}

// logLines collects a Manager's log lines for assertions.
type logLines struct {
	t    *testing.T
	mu   sync.Mutex
	ls   []string
	over bool // the test has ended: t.Log would panic
}

func (l *logLines) logf(format string, a ...any) {
	s := fmt.Sprintf(format, a...)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ls = append(l.ls, s)
	if !l.over {
		l.t.Log(s)
	}
}

// end stops forwarding lines to the test log.
func (l *logLines) end() {
	l.mu.Lock()
	l.over = true
	l.mu.Unlock()
}

// has reports whether a line contains sub.
func (l *logLines) has(sub string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.ls {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// newFakeManager returns a Manager whose processes f plays; it is killed
// when the test ends.
func newFakeManager(t *testing.T, opts Options, f *fakePython) (*Manager, *logLines) {
	t.Helper()
	logs := &logLines{t: t}
	t.Cleanup(logs.end)
	opts.Logf = logs.logf
	m, err := newManager(opts, f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Kill)
	return m, logs
}

// within runs f and fails the test if it has not returned after d; it
// returns f's error.
func within(t *testing.T, d time.Duration, what string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatalf("%s did not return within %s", what, d)
		return errors.New("timeout")
	}
}

// eventually polls cond until it holds, failing the test after 5s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
