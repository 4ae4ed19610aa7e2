package gateway

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gowsgi/gowsgi/pyworker"
)

// These tests run the engine in this process: its threads are goroutines
// locked to OS threads, as a Python worker's threads are when they call
// into the engine, and the app is Go.

// testEngine is an engine serving one listener with threads threads.
type testEngine struct {
	e    *Engine
	addr string
	logs *lockedBuffer
	wg   sync.WaitGroup
}

// setup, when given, runs before the engine accepts (a scoreboard).
func startEngine(t testing.TB, kind string, s EngineSettings, app EngineApp, threads int, setup ...func(*Engine)) *testEngine {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	ln.Close() // the engine serves the duplicate
	te := &testEngine{addr: ln.Addr().String(), logs: &lockedBuffer{}}
	s.Listeners = []EngineListener{{FD: int(f.Fd()), Kind: kind}}
	e, err := NewEngine(&s, func(format string, a ...any) { fmt.Fprintf(te.logs, format+"\n", a...) })
	if err != nil {
		t.Fatal(err)
	}
	te.e = e
	e.SetThreads(threads)
	for _, f := range setup {
		f(e)
	}
	if err := e.Accept(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < threads; i++ {
		te.wg.Add(1)
		go func() {
			defer te.wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			e.Serve(app, os.Getpid(), 1, 0)
		}()
	}
	t.Cleanup(func() {
		e.Close()
		te.wg.Wait()
		f.Close()
		// Every test of the engine holds it to one event to one thread.
		if n := e.rearmed.Load(); n > 0 {
			t.Errorf("%d connection(s) armed in epoll again before a thread took their event", n)
		}
	})
	return te
}

// helloApp answers every request "hello" and counts them.
type helloApp struct{ n atomic.Int32 }

func (a *helloApp) Run(req *pyworker.Request, out pyworker.Responder) error {
	a.n.Add(1)
	if err := out.Start("200 OK", [][2]string{{"Content-Type", "text/plain"}, {"Content-Length", "5"}}); err != nil {
		return &pyworker.BadResponseError{Err: err}
	}
	if err := out.Write([]byte("hello")); err != nil {
		return pyworker.ErrClientGone
	}
	return nil
}

// unavailableApp answers every request 503, as the proxy path's corpus
// tests' counting backend does, and counts them.
type unavailableApp struct{ n atomic.Int32 }

func (a *unavailableApp) Run(req *pyworker.Request, out pyworker.Responder) error {
	a.n.Add(1)
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
	}
	msg := "unavailable"
	out.Start("503 Service Unavailable", [][2]string{{"Content-Length", fmt.Sprint(len(msg))}})
	out.Write([]byte(msg))
	return nil
}

// TestEngineHostileHTTPCorpus: the engine answers every case of
// testdata/hostile/http as the proxy path does (TestHostileHTTPCorpus).
func TestEngineHostileHTTPCorpus(t *testing.T) {
	engineCorpus(t, "http", ".req", EngineSettings{LimitPost: 1 << 20, Timeout: 5 * time.Second})
}

// TestEngineHostileUwsgiCorpus: the same for testdata/hostile/uwsgi.
func TestEngineHostileUwsgiCorpus(t *testing.T) {
	engineCorpus(t, "uwsgi", ".pkt", EngineSettings{LimitPost: 1 << 20, Timeout: 2 * time.Second})
}

// engineCorpus runs the corpus of kind with one thread and with two: one
// registers level-triggered, two one-shot (engine.go).
func engineCorpus(t *testing.T, kind, ext string, s EngineSettings) {
	for _, threads := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d threads", threads), func(t *testing.T) {
			app := &unavailableApp{}
			te := startEngine(t, kind, s, app, threads)
			for _, tc := range loadCorpus(t, kind, ext) {
				t.Run(tc.Name, func(t *testing.T) {
					checkCorpusCase(t, sendTo(te.addr), tc, app.n.Load, te.logs, kind == "uwsgi")
				})
			}
		})
	}
}

// TestEngineKeepAlive: many requests on one connection, some pipelined.
func TestEngineKeepAlive(t *testing.T) {
	for _, threads := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d threads", threads), func(t *testing.T) { testEngineKeepAlive(t, threads) })
	}
}

func testEngineKeepAlive(t *testing.T, threads int) {
	app := &helloApp{}
	te := startEngine(t, "http", EngineSettings{}, app, threads)
	c, err := net.Dial("tcp", te.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
	if _, err := io.WriteString(c, strings.Repeat(req, 5)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	for i := 0; i < 10; i++ {
		if i == 5 {
			io.WriteString(c, strings.Repeat(req, 5))
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(b) != "hello" || resp.Header.Get("Date") == "" {
			t.Fatalf("response %d: %d %q %v\n%s", i, resp.StatusCode, b, resp.Header, te.logs)
		}
	}
	if n := app.n.Load(); n != 10 {
		t.Fatalf("the app ran %d times, want 10", n)
	}
}

// TestEngineConnectionsHaveNoDelay: the engine sets TCP_NODELAY on its
// TCP listener instead of on each connection, so the connection the app
// answers on must have it (Nagle would hold a streamed answer's second
// small write for the client's delayed ACK).
func TestEngineConnectionsHaveNoDelay(t *testing.T) {
	var got atomic.Int32
	got.Store(-1)
	var eng atomic.Pointer[Engine]
	app := EngineAppFunc(func(req *pyworker.Request, out pyworker.Responder) error {
		e := eng.Load()
		e.mu.Lock()
		for fd := range e.conns {
			v, err := unix.GetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY)
			if err != nil {
				t.Errorf("getsockopt TCP_NODELAY on fd %d: %v", fd, err)
			}
			got.Store(int32(v))
		}
		e.mu.Unlock()
		return (&helloApp{}).Run(req, out)
	})
	te := startEngine(t, "http", EngineSettings{}, app, 1, func(e *Engine) { eng.Store(e) })
	resp, err := http.Get("http://" + te.addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got.Load() != 1 {
		t.Fatalf("the served connection's TCP_NODELAY is %d, want 1", got.Load())
	}
}

// TestEngineForkedSocket: an app that forks (multiprocessing) leaves a
// copy of its connection's socket in the child, here a dup. Closing the
// engine's descriptor then neither sends the FIN nor takes the socket out
// of epoll: the engine must do both itself, or nginx waits for the end of
// a uwsgi answer, and a one-thread engine is woken for a descriptor it no
// longer has at every wait. The engine learns of the fork through its
// ForkWatch, as the library's does through pthread_atfork (forks.c).
func TestEngineForkedSocket(t *testing.T) {
	forking := func(eng *atomic.Pointer[Engine], dups *[]int, mu *sync.Mutex, w *ForkWatch) EngineApp {
		return EngineAppFunc(func(req *pyworker.Request, out pyworker.Responder) error {
			e := eng.Load()
			atomic.StoreInt32(w.Forked, 1)
			e.mu.Lock()
			for fd := range e.conns {
				if d, err := unix.Dup(fd); err == nil {
					mu.Lock()
					*dups = append(*dups, d)
					mu.Unlock()
				}
			}
			e.mu.Unlock()
			return (&helloApp{}).Run(req, out)
		})
	}
	start := func(t *testing.T, kind string) (*testEngine, *Engine) {
		var eng atomic.Pointer[Engine]
		var dups []int
		var mu sync.Mutex
		w := &ForkWatch{Forked: new(int32), Closing: new(int32)}
		te := startEngine(t, kind, EngineSettings{Timeout: 5 * time.Second}, forking(&eng, &dups, &mu, w), 1, func(e *Engine) {
			eng.Store(e)
			e.SetForkWatch(w)
		})
		t.Cleanup(func() {
			// The client has its answer once the engine shut the socket,
			// a moment before its close is over.
			for i := 0; atomic.LoadInt32(w.Closing) != 0 && i < 100; i++ {
				time.Sleep(10 * time.Millisecond)
			}
			if n := atomic.LoadInt32(w.Closing); n != 0 {
				t.Errorf("%d closes still counted as under way", n)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(dups) == 0 {
				t.Error("the app saw no connection to copy")
			}
			for _, d := range dups {
				unix.Close(d)
			}
		})
		return te, eng.Load()
	}
	t.Run("http: no wake-ups for the closed descriptor", func(t *testing.T) {
		te, e := start(t, "http")
		c, err := net.Dial("tcp", te.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(resp.Body)
		// The engine has closed its descriptor; the socket lives on in
		// the copy. What the client sends now makes it readable.
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		time.Sleep(200 * time.Millisecond)
		if n := e.strays.Load(); n > 2 {
			t.Fatalf("the engine was woken %d times for a descriptor it had closed", n)
		}
	})
	t.Run("uwsgi: the answer ends", func(t *testing.T) {
		te, _ := start(t, "uwsgi")
		pkt, err := appendUwsgiPacket(nil, &uwsgiPacket{vars: []uwsgiVar{{"REQUEST_METHOD", "GET"}, {"PATH_INFO", "/"},
			{"SERVER_PROTOCOL", "HTTP/1.1"}, {"SERVER_NAME", "x"}, {"SERVER_PORT", "80"}, {"REMOTE_ADDR", "10.0.0.7"}}})
		if err != nil {
			t.Fatal(err)
		}
		c, err := net.Dial("tcp", te.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(3 * time.Second))
		c.Write(pkt)
		b, err := io.ReadAll(c)
		if err != nil {
			t.Fatalf("the answer did not end (%v) after %q", err, b)
		}
		if !strings.HasSuffix(string(b), "hello") {
			t.Fatalf("answer %q", b)
		}
	})
}

// TestEngineHugeHeadRefused: with buffer-size at its largest (1 MiB), a
// head that never ends is refused with 431 once the engine holds 1 MiB of
// it, not left readable until the timeout.
func TestEngineHugeHeadRefused(t *testing.T) {
	te := startEngine(t, "http", EngineSettings{MaxHeaderBytes: 1 << 20, Timeout: 30 * time.Second}, &helloApp{}, 1)
	c, err := net.Dial("tcp", te.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	go func() {
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Long: ")
		chunk := strings.Repeat("a", 64<<10)
		for i := 0; i < 24; i++ {
			if _, err := io.WriteString(c, chunk); err != nil {
				return
			}
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer: %v\n%s", err, te.logs)
	}
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("status %d, want 431", resp.StatusCode)
	}
}

// TestEngineHoldEndsOnTime: a listener held out of epoll (a worker over
// its share) is armed again when its hold is over even though no thread's
// wait ends then: the thread that held it may be running a long request,
// and the others wait in epoll for up to a sweep. Here every thread is in
// such a wait when the hold begins, and a new connection must be served
// long before the next sweep would have armed the listener.
func TestEngineHoldEndsOnTime(t *testing.T) {
	for _, threads := range []int{2, 3} {
		t.Run(fmt.Sprintf("%d threads", threads), func(t *testing.T) {
			te := startEngine(t, "http", EngineSettings{}, &helloApp{}, threads)
			get(t, te.addr) // the threads are serving
			time.Sleep(20 * time.Millisecond)
			e := te.e
			e.mu.Lock()
			if e.held.Load() {
				e.mu.Unlock()
				t.Fatal("a listener is held before the test holds it")
			}
			var l *engineListener
			for _, l = range e.ls {
			}
			start := time.Now()
			// As in accept: the listener's one-shot event was taken by the
			// thread that holds it, so no new connection wakes a thread.
			e.ep.rearm(l.fd, 0)
			e.hold(l, start, 5*time.Millisecond, false)
			e.mu.Unlock()
			get(t, te.addr)
			if took := time.Since(start); took > sweepEvery/2 {
				t.Fatalf("a connection made during a 5 ms hold was answered after %v (a sweep is %v)", took.Round(time.Millisecond), sweepEvery)
			}
		})
	}
}

// get makes one request on a new connection and checks its answer.
func get(t *testing.T, addr string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != "hello" {
		t.Fatalf("answer %d %q", resp.StatusCode, b)
	}
}
