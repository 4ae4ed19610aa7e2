package pyworker

// This file is what the supervisor does when a process that would load the
// in-worker engine finds another Go runtime in itself (the app imported a
// module built with Go, see _gowsgi/goruntime.py): a process holds one Go
// runtime (golang/go#18976), so that app cannot be served by the engine.
// The generation waiting for the process fails with a *GoRuntimeError,
// which the master turns into the proxy path at start (master/engine.go);
// a live generation, whose respawned worker or zygote says so (the code
// changed under it), keeps its other workers and retries with the
// back-off, as after an import failure.

import (
	"errors"
	"fmt"
	"syscall"
)

// ErrGoRuntime is wrapped by a *GoRuntimeError.
var ErrGoRuntime = errors.New("another Go runtime in the worker")

// GoRuntimeError says that the app's workers hold a Go runtime of their
// own, so the engine (another one) cannot load into them.
type GoRuntimeError struct {
	// Module is the path of the mapped object built with Go.
	Module string
}

func (e *GoRuntimeError) Error() string {
	return fmt.Sprintf("%s is built with Go and a process holds one Go runtime (golang/go#18976)", e.Module)
}

// Is makes errors.Is(err, ErrGoRuntime) true for a *GoRuntimeError.
func (e *GoRuntimeError) Is(target error) bool { return target == ErrGoRuntime }

// onGoRuntime handles the Ready of p, a worker or zygote that found
// another Go runtime and loaded no engine.
func (m *Manager) onGoRuntime(p *worker, err *GoRuntimeError) {
	delete(m.pending, p.token)
	var waiting []*generation
	for _, g := range m.gens {
		if g.live || g.failed != nil {
			continue
		}
		if p.isZygote && m.zygoteFor(g) == p || !p.isZygote && g == p.gen {
			waiting = append(waiting, g)
		}
	}
	if len(waiting) == 0 {
		if !p.isZygote && (p.gen.failed != nil || p.gen.isOld.Load()) {
			return // a later worker of a generation given up: killed with it
		}
		m.logf("%s: %v; it cannot serve through the engine: killing it (restart gowsgi, or set engine = off, to serve through the master)", p, err)
		if p.pid > 0 {
			m.procs.signal(p.pid, syscall.SIGKILL)
		}
		return
	}
	for _, g := range waiting {
		m.failGeneration(g, err)
	}
	// A shared zygote is no generation's own: failGeneration spares it.
	if p.isZygote && p.pid > 0 && p.state != stateDead {
		m.procs.signal(p.pid, syscall.SIGKILL)
	}
}
