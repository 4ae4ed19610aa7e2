package pyworker

// Unit tests of the supervisor's state machine, driven by the fake Python
// of fake_test.go: generations, respawn and back-off, import failures,
// stopping.

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// serveOne runs one request through m and returns the pid and generation
// of the worker that answered it.
func serveOne(t *testing.T, m *Manager) (pid, gen int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := m.Acquire(ctx, get("/"))
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	rec := &bodyRecorder{}
	err = s.Do(context.Background(), get("/"), rec)
	m.Release(s)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	pid, gen = s.Worker()
	if want := fmt.Sprintf("ok pid %d", pid); rec.body.String() != want {
		t.Fatalf("body %q, want %q", rec.body.String(), want)
	}
	return pid, gen
}

func start(t *testing.T, m *Manager) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return m.Start(ctx)
}

// The spawn modes each test runs under.
var spawnModes = []struct {
	name string
	opts Options
}{
	{"exec", Options{Spawn: SpawnExec, Processes: 2}},
	{"zygote preloading the app", Options{Spawn: SpawnZygote, Preload: "app", Processes: 2, Threads: 2}},
	{"shared zygote", Options{Spawn: SpawnZygote, Preload: "site", Processes: 2}},
}

func TestGenerationGoesLiveOnlyWhenAllWorkersAreReady(t *testing.T) {
	for _, tc := range spawnModes {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePython(t)
			gate := make(chan struct{})
			f.worker = func(p *fakeProc) {
				<-gate
				serveWorker(p)
			}
			m, _ := newFakeManager(t, tc.opts, f)
			started := make(chan error, 1)
			go func() { started <- start(t, m) }()
			n := tc.opts.Processes
			for i := 0; i < n-1; i++ {
				gate <- struct{}{}
			}
			eventually(t, "all but one worker ready", func() bool {
				ready := 0
				for _, w := range m.Status().Workers {
					if w.State == "ready" {
						ready++
					}
				}
				return ready == n-1
			})
			select {
			case err := <-started:
				t.Fatalf("Start returned (%v) with a worker not ready", err)
			default:
			}
			if g := m.Generation(); g != 0 {
				t.Fatalf("generation %d is live with a worker not ready", g)
			}
			gate <- struct{}{}
			if err := waitFor(t, started, "Start"); err != nil {
				t.Fatal(err)
			}
			if g := m.Generation(); g != 1 {
				t.Fatalf("Generation() = %d, want 1", g)
			}
			st := m.Status()
			if len(st.Workers) != n {
				t.Fatalf("%d workers, want %d: %+v", len(st.Workers), n, st.Workers)
			}
			for _, w := range st.Workers {
				if w.State != "ready" || w.Generation != 1 {
					t.Errorf("worker %+v, want ready in generation 1", w)
				}
			}
			serveOne(t, m)
		})
	}
}

func TestRestartDelay(t *testing.T) {
	for _, tc := range []struct {
		name    string
		crashes int
		want    time.Duration
	}{
		{"after a long life", 0, 0},
		{"first crash in a row", 1, 100 * time.Millisecond},
		{"second doubles", 2, 200 * time.Millisecond},
		{"fifth", 5, 1600 * time.Millisecond},
		{"capped at 10s", 8, 10 * time.Second},
		{"still capped", 40, 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := restartDelay(tc.crashes); got != tc.want {
				t.Errorf("restartDelay(%d) = %s, want %s", tc.crashes, got, tc.want)
			}
		})
	}
}

func TestCrashesInARow(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name  string
		lived time.Duration
		prev  int
		want  int
	}{
		{"died young: one more", time.Second, 2, 3},
		{"first young death", time.Second, 0, 1},
		{"lived long: the count starts over", 11 * time.Second, 5, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &worker{started: now.Add(-tc.lived), crashes: tc.prev}
			if got := crashesInARow(w, now); got != tc.want {
				t.Errorf("crashesInARow = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestCrashRespawnsWithDoublingBackoff(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"exec'd worker", Options{Spawn: SpawnExec, Processes: 1}},
		{"forked worker", Options{Spawn: SpawnZygote, Preload: "app", Processes: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePython(t)
			m, logs := newFakeManager(t, tc.opts, f)
			if err := start(t, m); err != nil {
				t.Fatal(err)
			}
			nextWorker := func() *fakeProc {
				for {
					if p := f.next(t); p.mode() == "worker" {
						return p
					}
				}
			}
			p := nextWorker()
			for i, want := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond} {
				died := time.Now()
				p.end(Exit{Code: 1})
				p = nextWorker()
				gap := p.at.Sub(died)
				if gap < want || gap > want+2*time.Second {
					t.Errorf("crash %d: replaced after %s, want %s", i+1, gap, want)
				}
				if i > 0 && !logs.has(fmt.Sprintf("died %d times in a row; next start in %s", i+1, want)) {
					t.Errorf("crash %d: no back-off log line", i+1)
				}
			}
			eventually(t, "the fourth worker serves", func() bool { pid, _ := serveOne(t, m); return pid == p.pid })
			eventually(t, `the "is back" log line`, func() bool { return logs.has("is back") })
		})
	}
}

func TestImportFailureIsNeverRespawnedInALoop(t *testing.T) {
	for _, tc := range spawnModes {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePython(t)
			fail := func(p *fakeProc) { p.failImport("No module named 'fakeapp'") }
			if tc.opts.Spawn == SpawnExec {
				f.worker = fail
			} else {
				f.zygote = fail
			}
			m, _ := newFakeManager(t, tc.opts, f)
			err := within(t, 5*time.Second, "Start", func() error { return start(t, m) })
			var be *BootError
			if !errors.Is(err, ErrAppLoad) || !errors.As(err, &be) || be.Message != "No module named 'fakeapp'" {
				t.Fatalf("Start: %v, want the BootError", err)
			}
			n := len(f.started)
			// Longer than the first back-offs: a respawn would show.
			time.Sleep(500 * time.Millisecond)
			if got := f.count("worker") + f.count("zygote"); got != n {
				t.Errorf("%d processes started after the failure, want %d (none respawned)", got, n)
			}
			if m.Generation() != 0 {
				t.Errorf("generation %d live", m.Generation())
			}
		})
	}
}

func TestFailedNewGenerationLeavesTheOldOneLive(t *testing.T) {
	for _, tc := range spawnModes[:2] {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePython(t)
			var failing atomic.Bool
			fail := func(p *fakeProc) bool {
				if failing.Load() {
					p.failImport("SyntaxError in the new code")
					return true
				}
				return false
			}
			f.worker = func(p *fakeProc) {
				if tc.opts.Spawn != SpawnExec || !fail(p) {
					serveWorker(p)
				}
			}
			f.zygote = func(p *fakeProc) {
				if !fail(p) {
					serveZygote(p)
				}
			}
			m, _ := newFakeManager(t, tc.opts, f)
			if err := start(t, m); err != nil {
				t.Fatal(err)
			}
			failing.Store(true)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := m.Reload(ctx); !errors.Is(err, ErrAppLoad) {
				t.Fatalf("Reload: %v, want ErrAppLoad", err)
			}
			if g := m.Generation(); g != 1 {
				t.Fatalf("Generation() = %d after a failed reload, want 1", g)
			}
			for i := 0; i < 4; i++ {
				if _, gen := serveOne(t, m); gen != 1 {
					t.Fatalf("served by generation %d, want 1", gen)
				}
			}
			eventually(t, "only generation 1 left", func() bool {
				st := m.Status()
				for _, w := range st.Workers {
					if w.Generation != 1 || w.State != "ready" {
						return false
					}
				}
				return len(st.Workers) == tc.opts.Processes
			})
			if c := m.Counters(); c.ReloadFailures != 1 {
				t.Errorf("ReloadFailures = %d, want 1", c.ReloadFailures)
			}
		})
	}
}

func TestStopWhileStarting(t *testing.T) {
	for _, tc := range spawnModes {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePython(t)
			f.worker = func(p *fakeProc) { // connects, never ready
				if err := p.connect("control"); err == nil {
					p.serveControl()
				}
			}
			m, _ := newFakeManager(t, tc.opts, f)
			started := make(chan error, 1)
			go func() { started <- start(t, m) }()
			eventually(t, "the workers start", func() bool { return f.count("worker") == tc.opts.Processes })
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := within(t, 5*time.Second, "Stop", func() error { return m.Stop(ctx) }); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			if err := waitFor(t, started, "Start"); !errors.Is(err, ErrStopping) {
				t.Fatalf("Start: %v, want ErrStopping", err)
			}
			waitFor(t, m.ended, "the supervisor to end")
		})
	}
}

func TestStopIsGraceful(t *testing.T) {
	for _, tc := range spawnModes {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePython(t)
			m, _ := newFakeManager(t, tc.opts, f)
			if err := start(t, m); err != nil {
				t.Fatal(err)
			}
			serveOne(t, m)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := m.Stop(ctx); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			if c := m.Counters(); c.Exits[ExitClean] != int64(tc.opts.Processes) {
				t.Errorf("clean exits %d, want %d: %v", c.Exits[ExitClean], tc.opts.Processes, c.Exits)
			}
			ctx2, cancel2 := context.WithTimeout(context.Background(), time.Second)
			defer cancel2()
			if _, err := m.Acquire(ctx2, get("/")); !errors.Is(err, ErrStopping) {
				t.Errorf("Acquire after Stop: %v, want ErrStopping", err)
			}
		})
	}
}

func TestRetireReasons(t *testing.T) {
	for _, tc := range []struct {
		why      retireReason
		log      string
		label    string
		replaced bool
	}{
		{retireReplaced, "its generation was replaced", "replaced", false},
		{retireMaxRequests, "max-requests reached", "max-requests", true},
		{retireRSS, "reload-on-rss", "reload-on-rss", true},
		{retireBroken, "a connection to it broke", "broken", true},
		{retirePoolFull, "the pool is full", "other", true},
	} {
		t.Run(tc.label+"/"+tc.log, func(t *testing.T) {
			if tc.why.String() != tc.log || retireLabels[tc.why.label()] != tc.label || tc.why.replaced() != tc.replaced {
				t.Errorf("%d: %q %q %v, want %q %q %v", tc.why, tc.why, retireLabels[tc.why.label()], tc.why.replaced(),
					tc.log, tc.label, tc.replaced)
			}
		})
	}
}

func TestMaxRequestsRetiresAndReplaces(t *testing.T) {
	f := newFakePython(t)
	m, logs := newFakeManager(t, Options{Spawn: SpawnExec, Processes: 1, MaxRequests: 2}, f)
	if err := start(t, m); err != nil {
		t.Fatal(err)
	}
	first, _ := serveOne(t, m)
	if again, _ := serveOne(t, m); again != first {
		t.Fatalf("second request on pid %d, want %d", again, first)
	}
	eventually(t, "a new worker serves", func() bool { pid, _ := serveOne(t, m); return pid != first })
	if !logs.has("max-requests reached") {
		t.Error("no retire log line")
	}
	if c := m.Counters(); c.Retired["max-requests"] != 1 {
		t.Errorf("Retired = %v", c.Retired)
	}
	if c := m.Counters(); c.Exits[ExitCrash]+c.Exits[ExitSignal] != 0 {
		t.Errorf("counted as a crash: %v", c.Exits)
	}
}

func TestZygoteThatDiesIsReplacedWithItsWorkers(t *testing.T) {
	for _, tc := range spawnModes[1:] {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePython(t)
			m, logs := newFakeManager(t, tc.opts, f)
			if err := start(t, m); err != nil {
				t.Fatal(err)
			}
			var z *fakeProc
			f.mu.Lock()
			for _, p := range f.started {
				if p.mode() == "zygote" {
					z = p
				}
			}
			f.mu.Unlock()
			z.end(Exit{Signal: 9}) // its workers die with it
			eventually(t, "a new zygote and new workers", func() bool {
				return f.count("zygote") == 2 && f.count("worker") == 2*tc.opts.Processes
			})
			eventually(t, "the new workers serve", func() bool {
				pid, gen := serveOne(t, m)
				return pid > z.pid+tc.opts.Processes && gen == 1
			})
			if !logs.has("zygote (pid ") {
				t.Error("the zygote's death was not logged")
			}
		})
	}
}

func TestResetZygoteForksTheNextGenerationFromAFreshOne(t *testing.T) {
	f := newFakePython(t)
	m, _ := newFakeManager(t, Options{Spawn: SpawnZygote, Preload: "site", Processes: 2}, f)
	if err := start(t, m); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	old := f.started[0]
	f.mu.Unlock()
	m.ResetZygote()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := m.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if n := f.count("zygote"); n != 2 {
		t.Fatalf("%d zygotes started, want 2", n)
	}
	// The old one is stopped once the workers it forked are gone.
	waitFor(t, old.gone, "the old zygote to stop")
	if _, gen := serveOne(t, m); gen != 2 {
		t.Fatalf("served by generation %d, want 2", gen)
	}
}

// TestRetireGrace: with RetireGrace (dev mode), a worker of a replaced
// generation that is still busy is killed once the grace has passed, so an
// open stream cannot keep old code running; without it, it waits for its
// request (issue 15, item 3).
func TestRetireGrace(t *testing.T) {
	for _, tc := range []struct {
		name   string
		grace  time.Duration
		killed bool
	}{
		{"dev: killed after the grace", 300 * time.Millisecond, true},
		{"production: waits for the request", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePython(t)
			m, logs := newFakeManager(t, Options{Spawn: SpawnExec, Processes: 1, RetireGrace: tc.grace}, f)
			if err := start(t, m); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			busy, err := m.Acquire(ctx, get("/events/")) // held: the stream is open
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Reload(ctx); err != nil {
				t.Fatalf("Reload: %v", err)
			}
			wait := time.Second
			if tc.killed {
				eventually(t, "the old worker killed", func() bool { return m.Counters().Exits[ExitSignal] == 1 })
			} else {
				time.Sleep(wait) // three grace periods of the dev case: nothing may happen meanwhile
				if c := m.Counters(); c.Exits[ExitSignal] != 0 {
					t.Errorf("the busy worker was killed without RetireGrace: %v", c.Exits)
				}
			}
			if got := logs.has("ending its open requests"); got != tc.killed {
				t.Errorf("log of ending open requests: %v, want %v", got, tc.killed)
			}
			m.Release(busy)
		})
	}
}

// TestStopBeforeTheZygoteForks: a stop while the zygote still imports the
// app (no worker forked yet) returns at once: the workers waiting to be
// forked have no process to wait for. (Found in a loaded full run: Stop
// waited for its whole context on them.)
func TestStopBeforeTheZygoteForks(t *testing.T) {
	f := newFakePython(t)
	f.zygote = func(p *fakeProc) { // connects, never ready, exits on Stop
		if err := p.connect("zygote"); err != nil {
			p.end(Exit{Code: 1})
			return
		}
		for {
			fr, err := ReadFrame(p.ctrlR, nil)
			if err != nil || fr.Type == TypeStop {
				p.end(Exit{})
				return
			}
		}
	}
	m, _ := newFakeManager(t, Options{Spawn: SpawnZygote, Preload: "app", Processes: 2}, f)
	started := make(chan error, 1)
	go func() { started <- start(t, m) }()
	eventually(t, "the zygote starts", func() bool { return f.count("zygote") == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := within(t, 2*time.Second, "Stop", func() error { return m.Stop(ctx) }); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := waitFor(t, started, "Start"); !errors.Is(err, ErrStopping) {
		t.Fatalf("Start: %v, want ErrStopping", err)
	}
}
