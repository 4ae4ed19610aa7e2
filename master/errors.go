package master

// This file declares the errors a caller tells apart with errors.As to
// build its message (cmd/gowsgi/messages.go does): what was wrong with the
// configuration, and which address could not be bound.

import (
	"errors"
	"fmt"
)

// ConfigError is a problem with the configuration found while starting: a
// file that cannot be opened, a pidfile held by a live master, a socket
// systemd did not pass. Msg says what; Hint names the next action.
type ConfigError struct{ Msg, Hint string }

func (e *ConfigError) Error() string { return e.Msg }

// ListenError is a failure to bind one of the configured addresses.
type ListenError struct {
	Addr string
	Flag string // the flag or key that named it, e.g. "--http"
	Err  error
}

func (e *ListenError) Error() string { return fmt.Sprintf("cannot listen on %s: %v", e.Addr, e.Err) }
func (e *ListenError) Unwrap() error { return e.Err }

// ExitCode ends the command with a code whose message was already printed
// (a daemonized master's report, copied to the terminal).
type ExitCode int

func (e ExitCode) Error() string { return "" }
func (e ExitCode) ExitCode() int { return int(e) }

// ErrInterrupted is returned when a signal stops the master while its
// workers boot.
var ErrInterrupted = errors.New("interrupted while the workers were starting")
