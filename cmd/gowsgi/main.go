// Command gowsgi serves Python WSGI apps (Django first) through Python
// worker processes supervised by a Go master. See README.md.
package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
)

// Exit codes of the gowsgi command.
const (
	exitOK       = 0
	exitError    = 1 // a runtime error: cannot listen, workers died
	exitUsage    = 2 // bad flags or configuration
	exitNoPython = 3 // the interpreter could not be found or started
	exitAppLoad  = 4 // the app failed to import
)

var version = "0.1.0"

func main() {
	app := &cli.App{
		Name:    "gowsgi",
		Usage:   "serve Python WSGI apps (Django) with Go",
		Version: version,
		Commands: []*cli.Command{
			serveCommand(),
			devCommand(),
		},
		ExitErrHandler: func(c *cli.Context, err error) {},
	}
	if err := app.Run(os.Args); err != nil {
		os.Exit(report(os.Stderr, err))
	}
}

// fatalf prints one gowsgi error line.
func fatalf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "gowsgi: "+format+"\n", a...)
}
