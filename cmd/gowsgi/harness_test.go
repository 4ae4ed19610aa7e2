package main

// The test harness: tests here run the real gowsgi binary, built once in
// TestMain, with real python3 workers, and talk to it over real sockets.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var gowsgiBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gowsgi-test-")
	if err != nil {
		panic(err)
	}
	gowsgiBin = filepath.Join(dir, "gowsgi")
	build := exec.Command("go", "build", "-race", "-o", gowsgiBin, ".")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "building gowsgi: %v\n", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// repoRoot is the repository's top directory.
func repoRoot(t testing.TB) string {
	t.Helper()
	abs, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// testPython is the virtualenv interpreter with Django, as `make test` sets
// it up. Without it the integration tests cannot run at all, which is a
// failure, not a skip.
func testPython(t testing.TB) string {
	t.Helper()
	p := os.Getenv("GOWSGI_TEST_PYTHON")
	if p == "" {
		p = filepath.Join(repoRoot(t), ".venv", "bin", "python")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("no test python at %s (%v): run `make test`, which creates .venv with Django", p, err)
	}
	return p
}

// syncBuffer collects a process's output for the test to search.
type syncBuffer struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	cond *sync.Cond
}

func newSyncBuffer() *syncBuffer {
	b := &syncBuffer{}
	b.cond = sync.NewCond(&b.mu)
	return b
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	b.cond.Broadcast()
	return n, err
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor waits until the output matches re, or the timeout passes.
func (b *syncBuffer) waitFor(re *regexp.Regexp, timeout time.Duration, stop ...chan struct{}) ([]string, bool) {
	deadline := time.Now().Add(timeout)
	timer := time.AfterFunc(timeout, func() {
		b.mu.Lock()
		b.cond.Broadcast()
		b.mu.Unlock()
	})
	defer timer.Stop()
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		if m := re.FindStringSubmatch(b.buf.String()); m != nil {
			return m, true
		}
		if time.Now().After(deadline) {
			return nil, false
		}
		for _, c := range stop {
			select {
			case <-c:
				return nil, false
			default:
			}
		}
		b.cond.Wait()
	}
}

// proc is a running gowsgi.
type proc struct {
	t    testing.TB
	cmd  *exec.Cmd
	out  *syncBuffer
	url  string // http://127.0.0.1:port
	addr string // 127.0.0.1:port
	done chan struct{}
	err  error
}

var listeningRE = regexp.MustCompile(`listening on http://(\S+)`)

// startGowsgi runs gowsgi with args and waits until it says where it
// listens. The process is stopped (SIGTERM, then SIGKILL) when the test ends.
func startGowsgi(t testing.TB, dir string, env []string, args ...string) *proc {
	t.Helper()
	p := launch(t, dir, env, args...)
	// Stop waiting as soon as the process exits.
	go func() {
		<-p.done
		p.out.Write(nil)
	}()
	m, ok := p.out.waitFor(listeningRE, 90*time.Second, p.done)
	if !ok {
		p.stop()
		t.Fatalf("gowsgi %s did not become ready; output:\n%s", strings.Join(args, " "), p.out)
	}
	p.addr = m[1]
	p.url = "http://" + m[1]
	return p
}

func launch(t testing.TB, dir string, env []string, args ...string) *proc {
	t.Helper()
	return launchCmd(t, dir, env, exec.Command(gowsgiBin, args...))
}

// launchWrapped runs gowsgi through a wrapper command (wrapper..., gowsgi,
// args...), e.g. a shell that sets a limit first.
func launchWrapped(t testing.TB, dir string, wrapper []string, args ...string) *proc {
	t.Helper()
	all := append(append(append([]string(nil), wrapper[1:]...), gowsgiBin), args...)
	return launchCmd(t, dir, nil, exec.Command(wrapper[0], all...))
}

func launchCmd(t testing.TB, dir string, env []string, cmd *exec.Cmd) *proc {
	t.Helper()
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out := newSyncBuffer()
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// After a HUP the new master (not our child) keeps the output pipe
	// open; Wait must not wait for it.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop()
		p.failOnRace()
	})
	return p
}

// raceExitCode is the exit code of a binary built with -race that found a
// data race (GORACE's exitcode, 66 by default).
const raceExitCode = 66

// failOnRace fails the test when the race detector reported anything: the
// binary under test is built with -race, and a race it finds is a bug
// whatever the test checked (issue 13, bug 5: nothing looked, so a race
// in the supervisor went unseen). It looks at the whole output, which
// also holds what a HUP's new master wrote.
func (p *proc) failOnRace() {
	p.t.Helper()
	code := -1
	select {
	case <-p.done:
		if p.cmd.ProcessState != nil {
			code = p.cmd.ProcessState.ExitCode()
		}
	default:
	}
	failOnRaceReport(p.t, code, p.out.String())
}

// failOnRaceReport fails t when output holds a race report or code is the
// race detector's exit code (-1: still running, or killed).
func failOnRaceReport(t testing.TB, code int, output ...string) {
	t.Helper()
	all := strings.Join(output, "")
	switch {
	case strings.Contains(all, "WARNING: DATA RACE"):
		t.Errorf("the race detector reported a data race in gowsgi; output:\n%s", all)
	case code == raceExitCode:
		t.Errorf("gowsgi exited with the race detector's code %d; output:\n%s", raceExitCode, all)
	}
}

// stop ends gowsgi gracefully, or kills its whole process group.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		p.t.Errorf("gowsgi did not stop on SIGTERM within 15s; output:\n%s", p.out)
	}
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		p.t.Fatalf("gowsgi did not exit within %s; output:\n%s", timeout, p.out)
	}
	return p.cmd.ProcessState.ExitCode()
}

// runGowsgi runs gowsgi to completion and returns its exit code and output.
func runGowsgi(t testing.TB, dir string, timeout time.Duration, args ...string) (int, string) {
	t.Helper()
	p := launch(t, dir, nil, args...)
	code := p.wait(timeout)
	return code, p.out.String()
}

// get fetches url and returns status, headers and body.
func get(t testing.TB, client *http.Client, url string) (int, http.Header, string) {
	t.Helper()
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return resp.StatusCode, resp.Header, string(body)
}

// getOrClosed is get for a request whose worker may die under it: on the
// engine path its connection is closed unanswered (closed true), on the
// proxy path the master answers (502, 504).
func getOrClosed(t testing.TB, url string) (code int, closed bool) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
			return 0, true
		}
		t.Errorf("GET %s: %v", url, err)
		return 0, false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, false
}

// engine reports whether the workers serve p's connections (the in-worker
// engine), from its start-up line.
func (p *proc) engine() bool {
	return strings.Contains(p.out.String(), "the workers serve the connections (in-worker engine)")
}

// wantWorkerGone checks what a request whose worker died got: a closed
// connection through the engine, else want from the master.
func wantWorkerGone(t testing.TB, p *proc, what string, code int, closed bool, want int) {
	t.Helper()
	switch {
	case p.engine() && !closed:
		t.Errorf("%s: got %d, want its connection closed (the engine's worker died with it)", what, code)
	case !p.engine() && code != want:
		t.Errorf("%s: got %d (closed %v), want %d", what, code, closed, want)
	}
}

// readLine reads one line from a streaming body.
func readLine(t testing.TB, r *bufio.Reader) string {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("reading a line of the response: %v (got %q)", err, line)
	}
	return line
}
