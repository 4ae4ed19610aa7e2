package main

// This file is the gowsgi under test from the soak's side: it starts the
// first master, follows the pidfile across HUPs (each HUP makes a new
// master that is not the soak's child), keeps its log, and stops whoever
// is the master at the end.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The gowsgi configuration under test; the accounting depends on threads
// (a killed worker fails at most that many requests).
const (
	processes = 3
	threads   = 2
	harakiri  = 5 // seconds
)

// server is the running gowsgi.
type server struct {
	exe     string // the copy of the binary that runs; a HUP re-executes it
	pidfile string
	addr    string // 127.0.0.1:port
	log     *logTee

	first     *exec.Cmd
	firstDone chan struct{}

	mu      sync.Mutex
	masters []int // every master seen, in order
}

// startServer copies the gowsgi binary into dir and starts it on a free
// loopback port, then waits until it says where it listens.
func startServer(ctx context.Context, bin, python, dir string) (*server, error) {
	s := &server{exe: filepath.Join(dir, "gowsgi"), pidfile: filepath.Join(dir, "soak.pid")}
	if err := copyFile(bin, s.exe); err != nil {
		return nil, fmt.Errorf("copying %s: %w", bin, err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s.addr = "127.0.0.1:" + strconv.Itoa(port)
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	s.log, err = newLogTee(filepath.Join(dir, "gowsgi.log"), pr)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(s.exe, "serve", "--http", s.addr, "--chdir", "testdata/apps", "--wsgi-file", "all.py",
		"--processes", strconv.Itoa(processes), "--threads", strconv.Itoa(threads),
		"--pidfile", s.pidfile, "--harakiri", strconv.Itoa(harakiri), "--python", python)
	// The pipe's write end goes to gowsgi as its stdout and stderr; every
	// later master inherits it, so the log ends when the last one exits.
	cmd.Stdout, cmd.Stderr = pw, pw
	// Its own process group: a ^C at the terminal reaches the soak only,
	// which then stops gowsgi by its pid.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		pw.Close()
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	pw.Close()
	s.first, s.firstDone = cmd, make(chan struct{})
	s.masters = []int{cmd.Process.Pid}
	go s.reapFirst()

	timeout := time.NewTimer(90 * time.Second)
	defer timeout.Stop()
	select {
	case <-s.log.ready:
	case <-s.firstDone:
		return nil, fmt.Errorf("gowsgi exited (%v) before it was ready; its log:\n%s", cmd.ProcessState, s.log.tail())
	case <-timeout.C:
		s.kill()
		return nil, fmt.Errorf("gowsgi was not ready after 90s; its log:\n%s", s.log.tail())
	case <-ctx.Done():
		s.kill()
		return nil, ctx.Err()
	}
	if pid := s.readPidfile(); pid != cmd.Process.Pid {
		s.kill()
		return nil, fmt.Errorf("the pidfile names %d, the master is %d", pid, cmd.Process.Pid)
	}
	return s, nil
}

// reapFirst waits for the first master, the only one that is the soak's
// child (later masters are children of the previous one).
func (s *server) reapFirst() {
	s.first.Wait()
	close(s.firstDone)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// readPidfile returns the pid the pidfile names, 0 when there is none.
func (s *server) readPidfile() int {
	b, err := os.ReadFile(s.pidfile)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// master is the current master: the one the pidfile names (it is written
// once the new master is ready, so during a HUP it names the old one).
func (s *server) master() int {
	pid := s.readPidfile()
	if pid != 0 {
		s.noteMaster(pid)
	}
	return pid
}

func (s *server) noteMaster(pid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.masters {
		if m == pid {
			return
		}
	}
	s.masters = append(s.masters, pid)
}

// isMaster tells a gowsgi master (the copied binary) from its python
// processes.
func (s *server) isMaster(p *process) bool { return p.exe == s.exe }

// liveMasters lists the masters seen that are still running.
func (s *server) liveMasters() []int {
	s.master()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int
	for _, m := range s.masters {
		if alive(m) {
			out = append(out, m)
		}
	}
	return out
}

// waitNewMaster waits until the pidfile names a master other than old and
// old has exited. It returns the new master and how long each step took.
func (s *server) waitNewMaster(ctx context.Context, old int, timeout time.Duration) (pid int, ready, drained time.Duration, err error) {
	start := time.Now()
	deadline := start.Add(timeout)
	for time.Now().Before(deadline) {
		if p := s.readPidfile(); p != 0 && p != old {
			if pid == 0 {
				pid, ready = p, time.Since(start)
				s.noteMaster(pid)
			}
			if !alive(old) {
				return pid, ready, time.Since(start), nil
			}
		}
		select {
		case <-ctx.Done():
			return pid, ready, 0, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	if pid == 0 {
		return 0, 0, 0, fmt.Errorf("no new master after %s (the pidfile still names %d)", timeout, old)
	}
	return pid, ready, 0, fmt.Errorf("the new master %d was ready after %s but the old one (%d) had not exited after %s",
		pid, ready.Round(time.Millisecond), old, timeout)
}

// watchGone closes the returned channel when no master is left (gowsgi
// died under the soak). It stops when ctx ends.
func (s *server) watchGone(ctx context.Context) <-chan struct{} {
	gone := make(chan struct{})
	go func() {
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if len(s.liveMasters()) == 0 {
					close(gone)
					return
				}
			}
		}
	}()
	return gone
}

// stopReport is how the stop went.
type stopReport struct {
	Masters  []int    `json:"masters_stopped"`
	Took     float64  `json:"took_s"`
	Problems []string `json:"problems,omitempty"`
}

// stop ends gowsgi the way an operator does: SIGTERM to the master the
// pidfile names (and to any other process running the copied binary: an
// old master still draining, or a new one a HUP is starting), a wait for
// in-flight requests, then a check that no python process outlives them.
// hurry (a second ^C) skips the waits and kills everything.
func (s *server) stop(hurry <-chan struct{}) stopReport {
	start := time.Now()
	var rep stopReport
	hurried := func() bool {
		select {
		case <-hurry:
			return true
		default:
			return false
		}
	}
	var below []int // the python processes, to check they go too
	for round := 0; round < 3; round++ {
		procs := readProcs()
		masters := s.running(procs)
		if len(masters) == 0 {
			break
		}
		for _, m := range masters {
			s.noteMaster(m)
			rep.Masters = append(rep.Masters, m)
			for _, pid := range procs.tree(m, s.isMaster) {
				if pid != m {
					below = append(below, pid)
				}
			}
			syscall.Kill(m, syscall.SIGTERM)
		}
		// gowsgi gives in-flight requests 30 s; a little more for its workers.
		if left := waitGone(masters, 40*time.Second, hurry); len(left) > 0 {
			if !hurried() {
				rep.Problems = append(rep.Problems, fmt.Sprintf("master(s) %v still running 40s after SIGTERM; killed", left))
			}
			s.kill()
		}
	}
	if left := waitGone(below, 10*time.Second, hurry); len(left) > 0 {
		if !hurried() {
			rep.Problems = append(rep.Problems, fmt.Sprintf("python process(es) %v outlived their master by 10s; killed", left))
		}
		for _, pid := range left {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	select {
	case <-s.log.done:
	case <-time.After(5 * time.Second):
		rep.Problems = append(rep.Problems, "gowsgi's output pipe was still open 5s after the stop")
	}
	s.log.close()
	rep.Took = time.Since(start).Seconds()
	return rep
}

// running lists the live processes that run the copied binary: every
// master of this soak, whatever the pidfile says.
func (s *server) running(procs *procTable) []int {
	var out []int
	for pid, p := range procs.procs {
		if p.state != 'Z' && s.isMaster(p) {
			out = append(out, pid)
		}
	}
	return out
}

// kill SIGKILLs every process running the copied binary and everything
// below them.
func (s *server) kill() {
	procs := readProcs()
	for _, m := range s.running(procs) {
		for _, pid := range procs.tree(m, func(*process) bool { return false }) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// waitGone waits until none of pids is alive, and returns those that are
// after timeout (all of those alive at once when hurry is closed).
func waitGone(pids []int, timeout time.Duration, hurry <-chan struct{}) []int {
	deadline := time.Now().Add(timeout)
	for {
		var left []int
		for _, pid := range pids {
			if alive(pid) {
				left = append(left, pid)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		select {
		case <-hurry:
			return left
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// logTee copies gowsgi's output to a file, notices when it is ready, and
// counts the lines the report cross-checks against the injected faults.
type logTee struct {
	path  string
	f     *os.File
	ready chan struct{} // closed at "listening on http://"
	done  chan struct{} // closed when every writer has closed the pipe

	lines         atomic.Int64
	sigkillLines  atomic.Int64 // a worker "killed by SIGKILL"
	harakiriLines atomic.Int64
	panicLines    atomic.Int64

	mu   sync.Mutex
	last []string // the last lines, for error messages
}

func newLogTee(path string, r io.ReadCloser) (*logTee, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	t := &logTee{path: path, f: f, ready: make(chan struct{}), done: make(chan struct{})}
	go t.copy(r)
	return t, nil
}

func (t *logTee) copy(r io.ReadCloser) {
	defer close(t.done)
	defer r.Close()
	w := bufio.NewWriterSize(t.f, 64<<10)
	defer w.Flush()
	br := bufio.NewReaderSize(r, 64<<10)
	isReady := false
	for {
		line, err := br.ReadString('\n')
		if len(line) > 0 {
			w.WriteString(line)
			t.count(line)
			if !isReady && strings.Contains(line, "listening on http://") {
				isReady = true
				w.Flush()
				close(t.ready)
			}
		}
		if err != nil {
			return
		}
	}
}

func (t *logTee) count(line string) {
	t.lines.Add(1)
	switch {
	case strings.Contains(line, "killed by SIGKILL"):
		t.sigkillLines.Add(1)
	case strings.Contains(line, "harakiri:"):
		t.harakiriLines.Add(1)
	case strings.Contains(line, "panic:") || strings.Contains(line, "fatal error:"):
		t.panicLines.Add(1)
	}
	if strings.HasPrefix(line, "127.0.0.1 - ") {
		return // an access log line: not worth keeping for error messages
	}
	t.mu.Lock()
	t.last = append(t.last, strings.TrimRight(line, "\n"))
	if len(t.last) > 40 {
		t.last = t.last[len(t.last)-40:]
	}
	t.mu.Unlock()
}

// tail is the last lines gowsgi wrote other than its access log.
func (t *logTee) tail() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.last, "\n")
}

func (t *logTee) close() error {
	select {
	case <-t.done:
	default:
		return errors.New("the log is still being written")
	}
	return t.f.Close()
}
