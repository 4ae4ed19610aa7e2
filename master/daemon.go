package master

// This file implements daemonize: the command re-executes itself detached,
// logging to a file, and waits on a pipe until the detached master is ready
// or has failed, so a taken port is reported on the terminal, not only in a
// log file nobody reads.

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
)

// daemonEnv marks the detached process; its value is the readiness pipe's
// fd. daemonizedEnv stays set for the masters that follow it after a HUP,
// which must not detach again.
const (
	daemonEnv     = "GOWSGI_DAEMON_FD"
	daemonizedEnv = "GOWSGI_DAEMONIZED"
)

// daemonize starts the detached master and waits for its word.
func daemonize(logfile string) error {
	log, err := os.OpenFile(logfile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return &ConfigError{Msg: fmt.Sprintf("daemonize: cannot open the log file: %v", err), Hint: "check the path and its directory's permissions."}
	}
	defer log.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return err
	}
	defer devnull.Close()
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), daemonEnv+"=3", daemonizedEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, log, log
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("daemonize: starting the detached master: %w", err)
	}
	w.Close()
	// The child writes "ready" or the error report, then closes the pipe.
	br := bufio.NewReader(r)
	first, _ := br.ReadString('\n')
	if first == "ready\n" {
		r.Close()
		fmt.Fprintf(os.Stderr, "gowsgi: running in the background as pid %d, logging to %s\n", cmd.Process.Pid, logfile)
		cmd.Process.Release()
		return nil
	}
	rest, _ := io.ReadAll(br)
	r.Close()
	state, _ := cmd.Process.Wait()
	os.Stderr.WriteString(first + string(rest))
	code := 1
	if state != nil && state.ExitCode() > 0 {
		code = state.ExitCode()
	}
	return ExitCode(code)
}

// daemonPipe is the readiness pipe of a detached master, nil otherwise.
// It is taken from the environment once, when first asked for (not at
// init: a test or a library user that never daemonizes never touches fd 3).
var daemonPipe = sync.OnceValue(func() *os.File {
	if os.Getenv(daemonEnv) == "" {
		return nil
	}
	os.Unsetenv(daemonEnv) // a HUP's new process is not the daemon's first
	// Keep the pipe out of the workers and of later masters: the waiting
	// command reads until it closes.
	syscall.CloseOnExec(3)
	return os.NewFile(3, "daemon-ready")
})

// daemonSaid is set once the waiting command got its word.
var daemonSaid sync.Once

// daemonReady tells the waiting command that the master is ready.
func daemonReady() { daemonSay("ready\n") }

// daemonSay writes msg to the waiting command, once, and closes the pipe.
func daemonSay(msg string) {
	daemonSaid.Do(func() {
		if p := daemonPipe(); p != nil {
			p.WriteString(msg)
			p.Close()
		}
	})
}

// DaemonFailed sends the error report to the waiting command's terminal.
func DaemonFailed(report string) { daemonSay(report) }
