package main

// This file builds every user-facing error message: the cause on one line,
// then a hint with the next action. Messages are chosen with errors.Is/As,
// never by matching error text.

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/gowsgi/gowsgi/master"
	"github.com/gowsgi/gowsgi/project"
	"github.com/gowsgi/gowsgi/pyworker"
	"github.com/gowsgi/gowsgi/reload"
	"github.com/gowsgi/gowsgi/smoke"
)

// usageError is a problem with flags or configuration: the master's
// ConfigError, which the command line makes too.
type usageError = master.ConfigError

// hintedError gives an error the hint of the command that knows the next
// step better than report's default (dev has no --chdir).
type hintedError struct {
	err  error
	hint string
}

func (e *hintedError) Error() string { return e.err.Error() }
func (e *hintedError) Unwrap() error { return e.err }

// report prints err for a person and returns the exit code.
func report(w io.Writer, err error) int {
	var (
		le   *master.ListenError
		be   *pyworker.BootError
		ue   *usageError
		mm   *project.MissingModuleError
		he   *hintedError
		exit cli.ExitCoder
		spec *smoke.SpecError
		pe   *project.ProjectError
	)
	switch {
	case errors.As(err, &be):
		if be.Traceback != "" {
			fmt.Fprintf(w, "%s\n", strings.TrimRight(be.Traceback, "\n"))
		}
		fmt.Fprintf(w, "gowsgi: %v\n", be)
		switch {
		case errors.As(err, &mm):
			fmt.Fprintf(w, "hint: %s has no module %q: it is not the project's virtualenv? Activate the virtualenv, or pass --python path/to/venv/bin/python (or pip install what is missing).\n", mm.Python, mm.Module)
		case errors.As(err, &he):
			fmt.Fprintf(w, "hint: %s\n", he.hint)
		default:
			fmt.Fprintf(w, "hint: fix the error above, then start gowsgi again. Check that --chdir points at the project and --module/--wsgi-file names the WSGI entry point.\n")
		}
		return exitAppLoad
	case errors.As(err, &le):
		fmt.Fprintf(w, "gowsgi: %v\n", le)
		switch {
		case errors.Is(le.Err, syscall.EADDRINUSE):
			fmt.Fprintf(w, "hint: another process holds this address (an earlier gowsgi?). Stop it, or pick another port, e.g. %s %s.\n", le.Flag, nextPort(le.Addr))
		case errors.Is(le.Err, syscall.EACCES):
			fmt.Fprintf(w, "hint: ports below 1024 need root; use a port above 1024, e.g. %s 127.0.0.1:8000.\n", le.Flag)
		case errors.Is(le.Err, syscall.EADDRNOTAVAIL):
			fmt.Fprintf(w, "hint: that IP address is not on this machine; use 127.0.0.1 or 0.0.0.0.\n")
		}
		return exitError
	case errors.Is(err, pyworker.ErrNoPython):
		fmt.Fprintf(w, "gowsgi: %v\n", err)
		fmt.Fprintf(w, "hint: install python3, activate the app's virtualenv, or pass --python /path/to/python.\n")
		return exitNoPython
	case errors.As(err, &ue):
		fmt.Fprintf(w, "gowsgi: %s\n", ue.Msg)
		if ue.Hint != "" {
			fmt.Fprintf(w, "hint: %s\n", ue.Hint)
		}
		return exitUsage
	case errors.As(err, &pe):
		fmt.Fprintf(w, "gowsgi: %s\nhint: %s\n", pe.Msg, pe.Hint)
		return exitUsage
	case errors.As(err, &spec):
		fmt.Fprintf(w, "gowsgi: %s\nhint: %s\n", spec.Msg, spec.Hint)
		return exitUsage
	case reload.Hint(err) != "":
		fmt.Fprintf(w, "gowsgi: %v\nhint: %s\n", err, reload.Hint(err))
		return exitError
	case errors.As(err, &exit):
		if msg := err.Error(); msg != "" {
			fmt.Fprintf(w, "gowsgi: %s\n", msg)
		}
		return exit.ExitCode()
	}
	fmt.Fprintf(w, "gowsgi: %v\n", err)
	return exitError
}

// nextPort suggests the same address with the port plus one.
func nextPort(addr string) string {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return addr
	}
	var port int
	if _, err := fmt.Sscanf(addr[i+1:], "%d", &port); err != nil || port == 0 {
		return addr
	}
	return fmt.Sprintf("%s:%d", addr[:i], port+1)
}
