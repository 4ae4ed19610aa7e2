package pyworker

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestGoRuntimeFailsTheGeneration: with the engine, the process that
// imported the app (the zygote preloading it, else each worker) naming a
// Go-built object in its Ready fails the generation with a
// *GoRuntimeError at once (the master then serves through the proxy
// path), and nothing is respawned; on the proxy path the field changes
// nothing.
func TestGoRuntimeFailsTheGeneration(t *testing.T) {
	const lib = "/site-packages/gogo/_gogo.so"
	for _, tc := range spawnModes {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePython(t)
			report := func(p *fakeProc) {
				role := "control"
				if p.cfg.Mode == "zygote" {
					role = "zygote"
				}
				if err := p.connect(role); err != nil {
					p.end(Exit{Code: 1})
					return
				}
				p.send(TypeReady, readyInfo{Pid: p.pid, Python: "3.12.0 (fake)", GoRuntime: lib})
				p.serveControl()
			}
			if tc.opts.Spawn == SpawnZygote && tc.opts.Preload == "app" {
				f.zygote = report
			} else {
				f.worker = report
			}
			opts := tc.opts
			opts.Engine = &EngineOptions{Lib: "/cache/engine.so", Rows: 2*opts.Processes + 2}
			m, _ := newFakeManager(t, opts, f)
			err := within(t, 5*time.Second, "Start", func() error { return start(t, m) })
			var gr *GoRuntimeError
			if !errors.Is(err, ErrGoRuntime) || !errors.As(err, &gr) || gr.Module != lib {
				t.Fatalf("Start: %v, want a GoRuntimeError naming %s", err, lib)
			}
			// At most one start's processes: a zygote preloading the app
			// fails before it forks; a shared zygote's second Fork may be
			// in flight when the first worker fails the generation.
			most := opts.Processes
			switch {
			case tc.opts.Spawn == SpawnZygote && tc.opts.Preload == "app":
				most = 1
			case tc.opts.Spawn == SpawnZygote:
				most++
			}
			time.Sleep(300 * time.Millisecond) // past the first back-offs
			if got := f.count("worker") + f.count("zygote"); got > most {
				t.Errorf("%d processes started, want at most %d (one start's): something was respawned", got, most)
			}
		})
	}
	t.Run("reload keeps the old generation", func(t *testing.T) {
		f := newFakePython(t)
		f.worker = func(p *fakeProc) {
			if p.cfg.Generation == 1 {
				serveWorker(p)
				return
			}
			if err := p.connect("control"); err != nil {
				p.end(Exit{Code: 1})
				return
			}
			p.send(TypeReady, readyInfo{Pid: p.pid, Python: "3.12.0 (fake)", GoRuntime: lib})
			p.serveControl()
		}
		opts := Options{Spawn: SpawnExec, Processes: 2, Engine: &EngineOptions{Lib: "/cache/engine.so", Rows: 6}}
		m, _ := newFakeManager(t, opts, f)
		if err := within(t, 5*time.Second, "Start", func() error { return start(t, m) }); err != nil {
			t.Fatalf("Start: %v", err)
		}
		err := within(t, 5*time.Second, "Reload", func() error { return m.Reload(context.Background()) })
		if !errors.Is(err, ErrGoRuntime) {
			t.Fatalf("Reload: %v, want a GoRuntimeError", err)
		}
		if g := m.Generation(); g != 1 {
			t.Fatalf("generation %d live after the failed reload, want 1", g)
		}
	})
	t.Run("proxy path", func(t *testing.T) {
		f := newFakePython(t)
		f.worker = func(p *fakeProc) {
			if err := p.connect("control"); err != nil {
				p.end(Exit{Code: 1})
				return
			}
			if err := p.threads(); err != nil {
				p.end(Exit{Code: 1})
				return
			}
			p.send(TypeReady, readyInfo{Pid: p.pid, Python: "3.12.0 (fake)", Threads: p.cfg.Threads, GoRuntime: lib})
			p.serveControl()
		}
		m, _ := newFakeManager(t, Options{Spawn: SpawnExec, Processes: 1}, f)
		if err := within(t, 5*time.Second, "Start", func() error { return start(t, m) }); err != nil {
			t.Fatalf("Start: %v", err)
		}
	})
}
