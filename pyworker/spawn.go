package pyworker

// This file is how the supervisor starts processes. All of it goes through
// procs, the seam between the state machine and the operating system: the
// real one execs the embedded runtime, the tests' fake (fake_test.go) plays
// Python on the far side of the master socket. Forking from a zygote and
// the control connection are not part of the seam: they are frames on the
// real socket, which the fake speaks too, so the tests exercise them as
// they are.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// procs starts and signals the supervisor's Python processes.
type procs interface {
	// start starts a process running the runtime with cfg and returns its
	// pid. exited is called once, from another goroutine, when it ends.
	start(cfg workerConfig, exited func(Exit)) (pid int, err error)
	// signal sends sig to process pid: a worker (exec'd or forked) or a
	// zygote. A process that is gone already is no error.
	signal(pid int, sig syscall.Signal)
}

// execProcs runs the runtime with the user's interpreter.
type execProcs struct {
	opts       *Options
	runtimeDir string
}

func (p execProcs) start(cfg workerConfig, exited func(Exit)) (int, error) {
	raw, err := json.Marshal(cfg)
	if err != nil {
		return 0, fmt.Errorf("encoding the worker configuration: %w", err)
	}
	o := p.opts
	boot := fmt.Sprintf("import sys; sys.path.insert(1, %q); from _gowsgi.boot import main; main()", p.runtimeDir)
	cmd := exec.Command(o.Python, "-u", "-c", boot)
	cmd.Dir = o.Dir
	cmd.Env = append(append(os.Environ(), o.Env...), "GOWSGI_CONFIG="+string(raw))
	cmd.Stdout = o.Stdout
	cmd.Stderr = o.Stderr
	cmd.SysProcAttr = ChildProcAttr()
	if o.Engine != nil {
		cmd.ExtraFiles = o.Engine.Files
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting %s: %w", o.Python, err)
	}
	go waitProcess(cmd, exited)
	return cmd.Process.Pid, nil
}

func (execProcs) signal(pid int, sig syscall.Signal) {
	if pid > 0 {
		syscall.Kill(pid, sig)
	}
}

// waitProcess is the goroutine that sees a child die, through Wait.
func waitProcess(cmd *exec.Cmd, exited func(Exit)) {
	err := cmd.Wait()
	exited(exitOf(cmd.ProcessState, err))
}

func exitOf(ps *os.ProcessState, err error) Exit {
	if ps == nil {
		return Exit{Code: 127}
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return Exit{Signal: ws.Signal()}
	}
	return Exit{Code: ps.ExitCode()}
}

func (m *Manager) baseConfig(mode string) workerConfig {
	app := map[string]string{"callable": m.opts.Callable}
	if m.opts.WSGIFile != "" {
		app["wsgi_file"] = m.opts.WSGIFile
	} else {
		app["module"] = m.opts.Module
	}
	return workerConfig{
		Mode: mode, Socket: m.ln.Addr().String(), Chdir: m.opts.Dir, PythonPath: m.opts.PythonPath,
		App: app, Threads: m.opts.Threads, Processes: m.opts.Processes,
		Preload: m.opts.Preload, DjangoSettings: m.opts.DjangoSettings, EagerURLConf: m.opts.EagerURLConf,
		ReportFiles: m.opts.ReportFiles, LogDate: m.opts.LogDate,
		Engine: m.engineConfig(-1),
	}
}

// engineConfig is the engine part of a process's configuration, nil on
// the proxy path; row is the worker's scoreboard row (a zygote's is -1).
func (m *Manager) engineConfig(row int) *engineConfig {
	eo := m.opts.Engine
	if eo == nil {
		return nil
	}
	ec := &engineConfig{Lib: eo.Lib, Settings: eo.Settings, Row: row, MaxRequests: m.opts.MaxRequests}
	if m.opts.WarmUp != nil {
		ec.WarmUp = string(m.opts.WarmUp().Environ)
	}
	return ec
}

// takeRow gives w a free scoreboard row.
func (m *Manager) takeRow(w *worker) {
	w.row = -1
	eo := m.opts.Engine
	if eo == nil {
		return
	}
	if m.rows == nil {
		m.rows = make([]*worker, eo.Rows)
	}
	for i, o := range m.rows {
		if o == nil {
			m.rows[i], w.row = w, i
			return
		}
	}
	m.logf("%s: no scoreboard row is free (%d rows); it is not balanced nor watched for harakiri", w, eo.Rows)
}

// freeRow gives w's row back once w is gone.
func (m *Manager) freeRow(w *worker) {
	if w.row < 0 || m.rows == nil || m.rows[w.row] != w {
		return
	}
	m.rows[w.row] = nil
	if f := m.opts.Engine.RowFreed; f != nil {
		f(w.row)
	}
	w.row = -1
}

// spawnWorker adds a worker to g: exec'd at once, or forked by the zygote
// once it is ready. crashes carries the back-off count of the worker it
// replaces (respawn.go).
func (m *Manager) spawnWorker(g *generation, crashes int) {
	m.nextWorker++
	w := &worker{m: m, id: m.nextWorker, gen: g, token: newToken(), started: time.Now(), crashes: crashes}
	m.takeRow(w)
	g.workers[w.id] = w
	m.pending[w.token] = w
	if m.opts.Spawn == SpawnExec {
		cfg := m.baseConfig("worker")
		cfg.Token, cfg.Worker, cfg.Generation = w.token, w.id, g.n
		cfg.Engine = m.engineConfig(w.row)
		pid, err := m.procs.start(cfg, func(e Exit) { m.send(exitEvent{w: w, exit: e}) })
		if err != nil {
			delete(g.workers, w.id)
			delete(m.pending, w.token)
			m.failGeneration(g, fmt.Errorf("%w: %w", ErrNoPython, err))
			return
		}
		w.pid = pid
		return
	}
	if z := m.zygoteFor(g); z != nil && z.state == stateReady {
		m.fork(z, w)
	}
	// Otherwise the zygote's Ready forks it.
}
