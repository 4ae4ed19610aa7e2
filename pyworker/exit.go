package pyworker

import (
	"fmt"
	"syscall"
)

// Exit codes the Python runtime uses to say why it stopped (see
// python/_gowsgi/boot.py). Anything else non-zero is a crash of the app or
// of the interpreter.
const (
	exitCodeCouldNotStart = 3 // bad config, cannot connect back to the master
	exitCodeAppLoad       = 4 // the app failed to import; a BootError frame was sent
)

// ExitCause classifies how a worker process ended.
type ExitCause int

// Exit causes, from the least to the most alarming.
const (
	ExitClean         ExitCause = iota // exit 0: asked to stop, or retired
	ExitCouldNotStart                  // the interpreter or the runtime could not start
	ExitAppLoad                        // the app failed to import
	ExitCrash                          // non-zero exit status while serving
	ExitSignal                         // killed by a signal
)

var exitCauseNames = [...]string{"exited", "could not start", "app failed to import", "crashed", "killed by signal"}

func (c ExitCause) String() string {
	if int(c) < len(exitCauseNames) {
		return exitCauseNames[c]
	}
	return fmt.Sprintf("ExitCause(%d)", int(c))
}

// Exit is what the master learned about a worker process's end.
type Exit struct {
	Code   int            // exit status, when it exited
	Signal syscall.Signal // the signal, when one killed it
}

// Cause classifies e.
func (e Exit) Cause() ExitCause {
	switch {
	case e.Signal != 0:
		return ExitSignal
	case e.Code == 0:
		return ExitClean
	case e.Code == exitCodeCouldNotStart, e.Code == 127, e.Code == 126:
		return ExitCouldNotStart
	case e.Code == exitCodeAppLoad:
		return ExitAppLoad
	default:
		return ExitCrash
	}
}

// Describe says what happened in the words a log line uses, for example
// "killed by SIGKILL" or "crashed with exit status 1".
func (e Exit) Describe() string {
	switch c := e.Cause(); c {
	case ExitSignal:
		return fmt.Sprintf("killed by %s", signalName(e.Signal))
	case ExitClean:
		return "exited"
	default:
		return fmt.Sprintf("%s (exit status %d)", c, e.Code)
	}
}

// Hint gives the likely reason for an exit, or "" when there is nothing
// useful to add.
func (e Exit) Hint() string {
	switch e.Cause() {
	case ExitSignal:
		switch e.Signal {
		case syscall.SIGKILL:
			return "out of memory (see dmesg), harakiri, or killed by hand?"
		case syscall.SIGSEGV, syscall.SIGBUS:
			return "a C extension crashed; run the app under python -X faulthandler to see where"
		case syscall.SIGABRT:
			return "the interpreter aborted (a failed assertion in a C extension?)"
		case syscall.SIGTERM, syscall.SIGINT:
			return "stopped from outside gowsgi"
		}
	case ExitCouldNotStart:
		return "the python runtime could not start; its message is above"
	case ExitAppLoad:
		return "fix the error above; gowsgi will not restart this worker in a loop"
	case ExitCrash:
		return "the app or an extension called exit() or crashed; see the output above"
	}
	return ""
}

func signalName(s syscall.Signal) string {
	names := map[syscall.Signal]string{
		syscall.SIGKILL: "SIGKILL", syscall.SIGTERM: "SIGTERM", syscall.SIGINT: "SIGINT",
		syscall.SIGSEGV: "SIGSEGV", syscall.SIGBUS: "SIGBUS", syscall.SIGABRT: "SIGABRT",
		syscall.SIGHUP: "SIGHUP", syscall.SIGQUIT: "SIGQUIT", syscall.SIGFPE: "SIGFPE",
		syscall.SIGILL: "SIGILL", syscall.SIGPIPE: "SIGPIPE", syscall.SIGUSR1: "SIGUSR1",
		syscall.SIGUSR2: "SIGUSR2",
	}
	if n, ok := names[s]; ok {
		return n
	}
	return fmt.Sprintf("signal %d", int(s))
}
