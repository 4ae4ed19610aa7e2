package master

// This file handles pidfiles the way operators expect and uWSGI does not:
// a pidfile whose process is gone, or is not a gowsgi, is stale and is
// replaced or removed with a message, never trusted.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// pidfileState says what a pidfile points at.
type pidfileState int

const (
	pidfileMissing pidfileState = iota // no file
	pidfileStale                       // a pid that is gone or is not a gowsgi
	pidfileLive                        // a running gowsgi
)

// readPidfile reads path and checks the process it names.
func readPidfile(path string) (int, pidfileState, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, pidfileMissing, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("reading pidfile %s: %w", path, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, pidfileStale, nil
	}
	if !IsGowsgi(pid) {
		return pid, pidfileStale, nil
	}
	return pid, pidfileLive, nil
}

// IsGowsgi reports whether pid is a running gowsgi master: its program is
// named gowsgi, or is this very executable. (A pid reused by another
// program, even one named like "gowsgi.test", is not.)
func IsGowsgi(pid int) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(cmdline) == 0 {
		return false
	}
	argv0 := string(cmdline)
	if i := bytes.IndexByte(cmdline, 0); i >= 0 {
		argv0 = string(cmdline[:i])
	}
	if filepath.Base(argv0) == "gowsgi" {
		return true
	}
	exe, err1 := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	self, err2 := os.Executable()
	return err1 == nil && err2 == nil && exe == self
}

// checkPidfileFree refuses to start when a live gowsgi holds path.
func checkPidfileFree(path string) error {
	pid, state, err := readPidfile(path)
	if err != nil {
		return err
	}
	if state == pidfileLive && pid != os.Getpid() {
		return &ConfigError{
			Msg:  fmt.Sprintf("already running as pid %d (pidfile %s)", pid, path),
			Hint: fmt.Sprintf("stop it with: gowsgi --stop %s, or reload it with: gowsgi --reload %s.", path, path),
		}
	}
	return nil
}

// writePidfile writes pid atomically: a reader sees the old or the new
// content, never half a number.
func writePidfile(path string, pid int) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".gowsgi-pid-")
	if err != nil {
		return fmt.Errorf("writing pidfile %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := fmt.Fprintf(tmp, "%d\n", pid); err != nil {
		tmp.Close()
		return fmt.Errorf("writing pidfile %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing pidfile %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("writing pidfile %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing pidfile %s: %w", path, err)
	}
	return nil
}

// removePidfile removes path if it still names pid (after a HUP it names
// the new master, which must keep it).
func removePidfile(path string, pid int) {
	b, err := os.ReadFile(path)
	if err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(pid) {
		os.Remove(path)
	}
}

// StopByPidfile is `gowsgi --stop PIDFILE`: SIGTERM, then wait until the
// process is gone. When the pidfile then names another live master (a
// restart's new master took over meanwhile), that one is stopped too: the
// command stops the server, not one pid of it. What it does is told on out.
func StopByPidfile(path string, timeout time.Duration, out io.Writer) error {
	pid, state, err := readPidfile(path)
	if err != nil {
		return err
	}
	switch state {
	case pidfileMissing:
		return &ConfigError{Msg: fmt.Sprintf("no pidfile at %s", path), Hint: "is gowsgi running? Check the pidfile path in your ini."}
	case pidfileStale:
		os.Remove(path)
		fmt.Fprintf(out, "gowsgi: pidfile %s was stale (pid %d is not a running gowsgi); removed it. Nothing to stop.\n", path, pid)
		return nil
	}
	deadline := time.Now().Add(timeout)
	sig := syscall.SIGTERM
	for stopped := map[int]bool{}; ; {
		if err := stopPid(pid, sig, deadline, timeout, out); err != nil {
			return err
		}
		stopped[pid] = true
		next, state, err := readPidfile(path)
		if err != nil || state != pidfileLive || stopped[next] {
			return err
		}
		fmt.Fprintf(out, "gowsgi: the pidfile now names pid %d (a restart's new master); stopping it too\n", next)
		// Its previous master passed the stop on already, most likely:
		// the quiet stop does not cut its requests short if so.
		pid, sig = next, stopQuietly
	}
}

// stopPid sends sig to pid and waits until it is gone.
func stopPid(pid int, sig syscall.Signal, deadline time.Time, timeout time.Duration, out io.Writer) error {
	if err := syscall.Kill(pid, sig); err != nil {
		return fmt.Errorf("stopping gowsgi (pid %d): %w", pid, err)
	}
	fmt.Fprintf(out, "gowsgi: sent %s to pid %d; waiting for it to finish its requests\n", SignalName(sig), pid)
	// Not our child, so Wait is not possible: watch /proc instead.
	for time.Now().Before(deadline) {
		if !IsGowsgi(pid) {
			fmt.Fprintf(out, "gowsgi: pid %d stopped\n", pid)
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("gowsgi (pid %d) did not stop within %s; it may still be finishing long requests. Run --stop again to wait more, or kill -9 %d", pid, timeout, pid)
}

// ReloadByPidfile is `gowsgi --reload PIDFILE`: SIGHUP, told on out.
func ReloadByPidfile(path string, out io.Writer) error {
	pid, state, err := readPidfile(path)
	if err != nil {
		return err
	}
	switch state {
	case pidfileMissing:
		return &ConfigError{Msg: fmt.Sprintf("no pidfile at %s", path), Hint: "is gowsgi running? Check the pidfile path in your ini."}
	case pidfileStale:
		return &ConfigError{Msg: fmt.Sprintf("pidfile %s is stale: pid %d is not a running gowsgi", path, pid), Hint: "start gowsgi instead of reloading it."}
	}
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		return fmt.Errorf("reloading gowsgi (pid %d): %w", pid, err)
	}
	fmt.Fprintf(out, "gowsgi: sent SIGHUP to pid %d: a new master is starting; the old one drains when it is ready\n", pid)
	return nil
}
