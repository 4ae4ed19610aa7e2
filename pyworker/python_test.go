package pyworker

// Tests with the real runtime and a real interpreter (GOWSGI_TEST_PYTHON,
// else the repository's .venv): the same paths as the fake's tests, through
// execProcs and the real zygote.

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func testPython(t *testing.T) string {
	t.Helper()
	p := os.Getenv("GOWSGI_TEST_PYTHON")
	if p == "" {
		abs, _ := filepath.Abs("../.venv/bin/python")
		p = abs
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("no test python at %s (%v): set GOWSGI_TEST_PYTHON or run `make venv`", p, err)
	}
	return p
}

// testWriter sends a process's output to the test log, while the test runs.
type testWriter struct{ l *logLines }

func (w testWriter) Write(p []byte) (int, error) {
	w.l.logf("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func newPythonManager(t *testing.T, opts Options, module string) (*Manager, *logLines) {
	t.Helper()
	dir, err := filepath.Abs("../testdata/apps")
	if err != nil {
		t.Fatal(err)
	}
	logs := &logLines{t: t}
	t.Cleanup(logs.end)
	opts.Python, opts.Dir, opts.Module = testPython(t), dir, module
	opts.Logf, opts.Stdout, opts.Stderr = logs.logf, testWriter{logs}, testWriter{logs}
	m, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Kill)
	return m, logs
}

func TestRealPythonStartReloadStop(t *testing.T) {
	for _, tc := range spawnModes {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := newPythonManager(t, tc.opts, "hello")
			if err := start(t, m); err != nil {
				t.Fatal(err)
			}
			hello := func(wantGen int) {
				t.Helper()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				s, err := m.Acquire(ctx, get("/"))
				if err != nil {
					t.Fatal(err)
				}
				rec := &bodyRecorder{}
				err = s.Do(context.Background(), get("/"), rec)
				m.Release(s)
				if err != nil || rec.body.String() != "Hello, World!" {
					t.Fatalf("Do: %v, body %q", err, rec.body.String())
				}
				if _, gen := s.Worker(); gen != wantGen {
					t.Fatalf("served by generation %d, want %d", gen, wantGen)
				}
			}
			hello(1)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := m.Reload(ctx); err != nil {
				t.Fatalf("Reload: %v", err)
			}
			hello(2)
			if err := m.Stop(ctx); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			waitFor(t, m.ended, "the supervisor to end")
			if err := m.Reload(ctx); !errors.Is(err, ErrStopping) {
				t.Fatalf("Reload after Stop: %v, want ErrStopping", err)
			}
		})
	}
}

func TestRealPythonImportErrorFailsStart(t *testing.T) {
	for _, tc := range spawnModes {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := newPythonManager(t, tc.opts, "import_error")
			err := start(t, m)
			var be *BootError
			if !errors.As(err, &be) || !strings.Contains(be.Message, "this_module_does_not_exist_gowsgi") {
				t.Fatalf("Start: %v, want the BootError", err)
			}
		})
	}
}

// Bug 8 with a real process: a worker stopped with SIGSTOP does not read
// its control connection; the supervisor stays responsive.
func TestBug8RealWorkerStoppedWithSIGSTOP(t *testing.T) {
	m, logs := newPythonManager(t, Options{Spawn: SpawnExec, Processes: 1}, "hello")
	if err := start(t, m); err != nil {
		t.Fatal(err)
	}
	pid := m.Status().Workers[0].Pid
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) })
	big := []string{strings.Repeat("x", 64<<10)}
	for i := 0; i < 200; i++ {
		m.Notify(big)
	}
	within(t, 2*time.Second, "Status", func() error { m.Status(); return nil })
	eventually(t, "the log says the worker does not read", func() bool {
		return logs.has("is not reading its control connection")
	})
	within(t, 2*time.Second, "Kill", func() error { m.Kill(); return nil })
	select {
	case <-m.ended:
	default:
		t.Fatal("Kill returned with the supervisor goroutine running")
	}
}
