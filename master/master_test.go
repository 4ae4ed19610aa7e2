package master

// Tests of the lifecycle in process, without building the binary: a real
// python worker serves testdata/apps, and the loop is stopped through its
// context.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/pyworker"
)

// testPython is the virtualenv interpreter `make test` sets up.
func testPython(t *testing.T) string {
	t.Helper()
	p := os.Getenv("GOWSGI_TEST_PYTHON")
	if p == "" {
		p, _ = filepath.Abs("../.venv/bin/python")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("no test python at %s (%v): run `make test`, which creates .venv", p, err)
	}
	return p
}

// lockedBuffer is a log the master and the test share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// appConfig serves testdata/apps/FILE on a free port in check mode.
func appConfig(t *testing.T, file string, out io.Writer) Config {
	t.Helper()
	dir, err := filepath.Abs("../testdata/apps")
	if err != nil {
		t.Fatal(err)
	}
	return Config{
		Mode:     ModeCheck,
		HTTP:     []Listen{{Addr: "127.0.0.1:0", Flag: "--http"}},
		Out:      out,
		Grace:    5 * time.Second,
		AppLabel: file,
		Banner:   func(*Master) {},
		Workers: pyworker.Options{
			Python: testPython(t), Dir: dir, WSGIFile: filepath.Join(dir, file), Callable: "application",
			Processes: 1, Threads: 2, Spawn: pyworker.SpawnZygote, Preload: "app",
			Stdout: out, Stderr: out,
		},
	}
}

func TestRunStopsOnContext(t *testing.T) {
	out := &lockedBuffer{}
	m, err := Start(context.Background(), appConfig(t, "hello.py", out))
	if err != nil {
		t.Fatalf("start: %v\n%s", err, out)
	}
	url := m.URLs()[0]
	resp, err := http.Get(url + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "Hello, World!" {
		t.Fatalf("GET /: %d %q", resp.StatusCode, body)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("Run did not return after its context ended\n%s", out)
	}
	select {
	case <-m.Stopping():
	default:
		t.Error("Stopping not closed after Run returned")
	}
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(url, "http://"), time.Second); err == nil {
		t.Error("the listener still accepts after Run returned")
	}
}

// TestRunStopNow: with ErrStopNow as its context's cause, Run does not wait
// for a request still in the app.
func TestRunStopNow(t *testing.T) {
	out := &lockedBuffer{}
	cfg := appConfig(t, "slow.py", out)
	// Far past the 5s bound below: with the 5s grace of appConfig, a Run
	// that waited for the request and then killed it passed as well
	// (issue 13, bug 6).
	cfg.Grace = time.Minute
	m, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start: %v\n%s", err, out)
	}
	go func() {
		if resp, err := http.Get(m.URLs()[0] + "/?s=60"); err == nil {
			resp.Body.Close()
		}
	}()
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	waitBusy(t, m, out)
	start := time.Now()
	cancel(ErrStopNow)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("Run with ErrStopNow did not return within 5s\n%s", out)
	}
	t.Logf("stopped in %s", time.Since(start))
}

func TestStartPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := appConfig(t, "hello.py", io.Discard)
	cfg.HTTP[0].Addr = ln.Addr().String()
	_, err = Start(context.Background(), cfg)
	var le *ListenError
	if !errors.As(err, &le) || !errors.Is(err, syscall.EADDRINUSE) || le.Flag != "--http" {
		t.Fatalf("Start on a taken port: %v, want a *ListenError with EADDRINUSE", err)
	}
}

// TestWatchForRestartMissingDirectory pins issue 13, bug 1 at the unit
// level: a touch-reload file whose directory is gone is a warning, and
// the watchers that can start still do.
func TestWatchForRestartMissingDirectory(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "reload.touch")
	os.WriteFile(good, nil, 0o644)
	out := &lockedBuffer{}
	m := &Master{cfg: Config{TouchReload: []string{filepath.Join(dir, "gone", "trigger"), good}},
		logger: log.New(out, "gowsgi: ", 0), restarts: make(chan string, 1)}
	stop := m.watchForRestart()
	defer stop()
	if !strings.Contains(out.String(), "warning: touch-reload "+filepath.Join(dir, "gone", "trigger")) {
		t.Fatalf("no warning for the missing directory:\n%s", out)
	}
	os.Chtimes(good, time.Now(), time.Now())
	select {
	case why := <-m.restarts:
		if why != "touch-reload" {
			t.Fatalf("restart %q, want touch-reload", why)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("touching the other file did not restart:\n%s", out)
	}
}

// waitBusy waits until a worker thread runs a request.
func waitBusy(t *testing.T, m *Master, out *lockedBuffer) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, w := range m.mgr.Status().Workers {
			for _, th := range w.Threads {
				if th.Path != "" {
					return
				}
			}
		}
	}
	t.Fatalf("no request reached the app\n%s", out)
}
