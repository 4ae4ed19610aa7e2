package pyworker

// Regression tests of issue 13's supervisor bugs, each named after it. Each
// failed before its fix (see the commit that added it).

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// Bug 5: the zygote's Forked frame can arrive after the worker it names is
// ready and serving; onForked then wrote worker.pid while the request path
// read it (Slot.Worker, error messages). Run under -race.
func TestBug5ForkedAfterReadyDoesNotRaceWithTheRequestPath(t *testing.T) {
	for _, tc := range spawnModes[1:] {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePython(t)
			f.lateForked = make(chan struct{})
			m, _ := newFakeManager(t, tc.opts, f)
			if err := start(t, m); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var slots []*Slot
			for i := 0; i < tc.opts.Processes; i++ {
				s, err := m.Acquire(ctx, get("/"))
				if err != nil {
					t.Fatal(err)
				}
				slots = append(slots, s)
			}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for _, s := range slots {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						if pid, _ := s.Worker(); pid < fakePidBase {
							t.Errorf("Slot.Worker pid %d", pid)
							return
						}
						time.Sleep(time.Millisecond)
					}
				}()
			}
			close(f.lateForked) // the Forked frames go out now
			// Forked is handled before the Status asked after it.
			time.Sleep(100 * time.Millisecond)
			m.Status()
			close(stop)
			wg.Wait()
			for _, s := range slots {
				m.Release(s)
			}
			serveOne(t, m)
		})
	}
}

// Bug 7: a zygote that could not fork answers Forked {"pid": null,
// "error": ...}; the answer was dropped and the generation waited for its
// whole start timeout, then said "workers not ready".
func TestBug7ForkFailureFailsTheGenerationAtOnce(t *testing.T) {
	const forkErr = "[Errno 11] Resource temporarily unavailable"
	for _, tc := range []struct {
		name   string
		opts   Options
		reload bool // the failure is in a Reload; the old generation stays
	}{
		{"start, zygote preloading the app", Options{Spawn: SpawnZygote, Preload: "app", Processes: 2}, false},
		{"start, shared zygote", Options{Spawn: SpawnZygote, Preload: "site", Processes: 2}, false},
		{"reload", Options{Spawn: SpawnZygote, Preload: "app", Processes: 2}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePython(t)
			var failing sync.Once
			fail := make(chan struct{})
			if !tc.reload {
				failing.Do(func() { close(fail) })
			}
			f.forkError = func(int) string {
				select {
				case <-fail:
					return forkErr
				default:
					return ""
				}
			}
			tc.opts.StartTimeout = time.Minute
			m, _ := newFakeManager(t, tc.opts, f)
			op := m.Start
			if tc.reload {
				if err := start(t, m); err != nil {
					t.Fatal(err)
				}
				failing.Do(func() { close(fail) })
				op = m.Reload
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := within(t, 3*time.Second, "Start/Reload", func() error { return op(ctx) })
			if err == nil || !strings.Contains(err.Error(), "could not fork worker") || !strings.Contains(err.Error(), forkErr) {
				t.Fatalf("got %v, want the zygote's fork error", err)
			}
			want := 0
			if tc.reload {
				want = 1
			}
			if g := m.Generation(); g != want {
				t.Fatalf("Generation() = %d, want %d", g, want)
			}
			if tc.reload {
				serveOne(t, m)
			}
		})
	}
}

// Bug 7, second part: the json.Unmarshal errors of control frames were
// dropped, so a garbled Ready or Forked was acted on half-decoded.
func TestBug7ControlFramesThatDoNotDecodeAreErrors(t *testing.T) {
	logs := &logLines{t: t}
	m := &Manager{opts: Options{Logf: logs.logf}}
	w := &worker{m: m, id: 1, gen: &generation{n: 1}, pid: 4121}
	z := &worker{m: m, id: 2, gen: &generation{}, pid: 4120, isZygote: true}
	for _, tc := range []struct {
		name    string
		from    *worker
		frame   Frame
		want    event
		wantErr string
	}{
		{"ready", w, Frame{Header: Header{Type: TypeReady}, Payload: []byte(`{"pid": 4121, "python": "3.12.1"}`)},
			readyEvent{w: w, info: readyInfo{Pid: 4121, Python: "3.12.1"}}, ""},
		{"garbled ready", w, Frame{Header: Header{Type: TypeReady}, Payload: []byte(`{"pid": "x"`)}, nil, "decoding its Ready frame"},
		{"forked", z, Frame{Header: Header{Type: TypeForked}, Payload: []byte(`{"worker": 3, "pid": 4122}`)},
			forkedEvent{z: z, worker: 3, pid: 4122}, ""},
		{"fork failed", z, Frame{Header: Header{Type: TypeForked}, Payload: []byte(`{"worker": 3, "pid": null, "error": "out of memory"}`)},
			forkFailedEvent{z: z, worker: 3, err: "out of memory"}, ""},
		{"no pid, no error", z, Frame{Header: Header{Type: TypeForked}, Payload: []byte(`{"worker": 3}`)},
			forkFailedEvent{z: z, worker: 3, err: "no pid and no error in its Forked frame"}, ""},
		{"garbled forked", z, Frame{Header: Header{Type: TypeForked}, Payload: []byte(`[]`)}, nil, "decoding its Forked frame"},
		{"exited by signal", z, Frame{Header: Header{Type: TypeExited}, Payload: []byte(`{"pid": 4122, "code": null, "signal": 9}`)},
			childExitEvent{pid: 4122, exit: Exit{Signal: 9}}, ""},
		{"exited with code", z, Frame{Header: Header{Type: TypeExited}, Payload: []byte(`{"pid": 4122, "code": 1, "signal": null}`)},
			childExitEvent{pid: 4122, exit: Exit{Code: 1}}, ""},
		{"garbled exited", z, Frame{Header: Header{Type: TypeExited}, Payload: []byte(`{"pid": "4122"}`)}, nil, "decoding its Exited frame"},
		{"boot error that is not JSON keeps its text", w, Frame{Header: Header{Type: TypeBootError}, Payload: []byte(`Traceback...`)},
			bootErrorEvent{w: w, err: &BootError{Type: "Error", Message: "Traceback..."}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := decodeControl(tc.from, tc.frame)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if be, ok := ev.(bootErrorEvent); ok {
				if want := tc.want.(bootErrorEvent).err; be.err.Type != want.Type || be.err.Message != want.Message {
					t.Fatalf("got %+v, want %+v", be.err, tc.want.(bootErrorEvent).err)
				}
				return
			}
			if !eventsEqual(ev, tc.want) {
				t.Fatalf("got %#v, want %#v", ev, tc.want)
			}
		})
	}
}

func eventsEqual(a, b event) bool {
	ra, aok := a.(readyEvent)
	rb, bok := b.(readyEvent)
	if aok || bok {
		return aok && bok && ra.w == rb.w && ra.info.Pid == rb.info.Pid && ra.info.Python == rb.info.Python
	}
	return a == b
}

// Bug 8: the owner loop wrote to control connections itself, with no
// deadline: a worker that does not read (stopped with SIGSTOP, hung in C
// code) blocked it once the socket buffer was full, and with it Status,
// Stop and every request waiting for a slot.
func TestBug8OwnerLoopDoesNotBlockOnAWorkerThatNeverReads(t *testing.T) {
	f := newFakePython(t)
	f.worker = func(p *fakeProc) {
		if err := p.ready(); err != nil {
			return
		}
		<-p.gone // never reads its control connection
	}
	m, logs := newFakeManager(t, Options{Spawn: SpawnExec, Processes: 1}, f)
	if err := start(t, m); err != nil {
		t.Fatal(err)
	}
	big := []string{strings.Repeat("x", 64<<10)}
	for i := 0; i < 200; i++ { // 12 MiB: far more than a socket buffer holds
		m.Notify(big)
	}
	within(t, 2*time.Second, "Status", func() error { m.Status(); return nil })
	serveOne(t, m)
	eventually(t, "the log says the worker does not read", func() bool {
		return logs.has("is not reading its control connection")
	})
}

// Bug 8: the control writer gives up on a peer that takes nothing for the
// write timeout, so a stopped worker's connection does not hold a
// goroutine and a queue forever; it closes, and the worker exits when it
// runs again.
func TestBug8ControlWriterGivesUpOnAPeerThatDoesNotRead(t *testing.T) {
	a, b := net.Pipe() // a write blocks until the other end reads: it never does
	defer b.Close()
	logs := &logLines{t: t}
	ctl := newControl(a, "worker 1 (gen 1, pid 4121)", logs.logf, 50*time.Millisecond)
	if !ctl.send(TypeStop, nil) {
		t.Fatal("the first frame was refused")
	}
	refused := false
	for i := 0; i < controlQueue+2; i++ {
		if !ctl.send(TypeNotify, []byte(`{}`)) {
			refused = true
		}
	}
	if !refused {
		t.Error("a full queue took more frames")
	}
	select {
	case <-ctl.closed:
	case <-time.After(2 * time.Second):
		t.Fatal("the writer did not give up")
	}
	if ctl.send(TypeStop, nil) {
		t.Error("a closed connection took a frame")
	}
	if !logs.has("writing to the control connection of worker 1 (gen 1, pid 4121)") {
		t.Error("no log line")
	}
}

// Bug 8: Kill could return with the supervisor goroutine still running
// (run went on after a kill), and Start, Reload and Stop called after the
// supervisor had finished waited for an answer that never came.
func TestBug8KillEndsTheSupervisorGoroutine(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, m *Manager, f *fakePython)
	}{
		{"serving", func(t *testing.T, m *Manager, f *fakePython) {
			if err := start(t, m); err != nil {
				t.Fatal(err)
			}
		}},
		{"starting", func(t *testing.T, m *Manager, f *fakePython) {
			go m.Start(context.Background())
			f.next(t)
		}},
		{"stopping", func(t *testing.T, m *Manager, f *fakePython) {
			if err := start(t, m); err != nil {
				t.Fatal(err)
			}
			f.worker = nil
			go m.Stop(context.Background())
			eventually(t, "stopping", func() bool { return m.stopped.Load() })
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePython(t)
			m, _ := newFakeManager(t, Options{Spawn: SpawnExec, Processes: 2}, f)
			tc.setup(t, m, f)
			within(t, 2*time.Second, "Kill", func() error { m.Kill(); return nil })
			select {
			case <-m.ended:
			default:
				t.Fatal("Kill returned with the supervisor goroutine running")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for name, call := range map[string]func(context.Context) error{"Start": m.Start, "Reload": m.Reload} {
				if err := within(t, time.Second, name+" after Kill", func() error { return call(ctx) }); !errors.Is(err, ErrStopping) {
					t.Errorf("%s after Kill: %v, want ErrStopping", name, err)
				}
			}
			within(t, time.Second, "Stop after Kill", func() error { return m.Stop(ctx) })
			within(t, time.Second, "Status after Kill", func() error { m.Status(); return nil })
		})
	}
}

// Bug 8: Start and Reload called while the supervisor stops returned an
// error that was not ErrStopping (so callers could not tell it from a
// failed app), or blocked once it had finished.
func TestBug8StartAndReloadWhileStoppingReturnErrStopping(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop func(t *testing.T, m *Manager)
	}{
		{"during a graceful stop", func(t *testing.T, m *Manager) {
			go m.Stop(context.Background())
			eventually(t, "the worker is asked to stop", func() bool {
				st := m.Status()
				return len(st.Workers) == 1 && st.Workers[0].State == "stopping"
			})
		}},
		{"after Stop returned", func(t *testing.T, m *Manager) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			m.Stop(ctx) // the worker ignores Stop: killed when ctx ends
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePython(t)
			f.worker = func(p *fakeProc) { // ignores Stop until killed
				if err := p.ready(); err == nil {
					<-p.gone
				}
			}
			m, _ := newFakeManager(t, Options{Spawn: SpawnExec, Processes: 1}, f)
			if err := start(t, m); err != nil {
				t.Fatal(err)
			}
			tc.stop(t, m)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for name, call := range map[string]func(context.Context) error{"Start": m.Start, "Reload": m.Reload} {
				if err := within(t, time.Second, name, func() error { return call(ctx) }); !errors.Is(err, ErrStopping) {
					t.Errorf("%s: %v, want ErrStopping", name, err)
				}
			}
		})
	}
}
