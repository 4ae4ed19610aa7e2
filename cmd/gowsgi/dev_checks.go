package main

// This file runs, before `gowsgi dev` serves, what runserver runs: Django's
// system checks and the unapplied-migrations warning, in the workers'
// interpreter, printed in runserver's words. An error stops the start, as
// it stops runserver (issue 15: gowsgi used to serve a project with
// admin.E108 without a word).

import (
	"errors"
	"fmt"
	"io"

	"github.com/gowsgi/gowsgi/project"
	"github.com/gowsgi/gowsgi/pyworker"
)

// printChecks prints the checks' output and refuses to go on when a check
// failed at ERROR level.
func printChecks(out io.Writer, ch *project.Checks) error {
	if ch == nil {
		return nil
	}
	io.WriteString(out, ch.Output)
	if ch.Errors {
		return &usageError{
			Msg:  "Django's system checks found errors (above): not starting, as runserver would not",
			Hint: "fix them and start gowsgi dev again, or pass --skip-checks to start anyway.",
		}
	}
	return nil
}

// devInspectError gives an error of the project's inspection dev's hint:
// dev has no --chdir; the project and its interpreter are what to check.
func devInspectError(err error, python, settings string) error {
	var be *pyworker.BootError
	var mm *project.MissingModuleError
	if !errors.As(err, &be) || errors.As(err, &mm) {
		return err
	}
	return &hintedError{err: err, hint: fmt.Sprintf(
		"fix the error above, then start gowsgi dev again. The settings were %s (--settings to choose others), the interpreter %s (--python to choose another).",
		settings, python)}
}
