// Command gowsgi serves Python WSGI apps (Django first) through Python
// worker processes supervised by a Go master. See README.md.
package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/gowsgi/gowsgi/master"
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
	// A server whose log reader went away (a closed terminal, a dead
	// `| tee`, the test harness after a HUP) must keep serving: with SIGPIPE
	// caught, a write to a broken stdout/stderr fails instead of killing
	// the process. (Notify, unlike Ignore, is not inherited by children.)
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	setMasterProcs()
	master.Version = version
	if path := os.Getenv("GOWSGI_CPUPROFILE"); path != "" {
		// For profiling the master (BENCHMARKS.md): the profile is written
		// when gowsgi stops.
		stop := startCPUProfile(path)
		defer stop()
	}
	app := &cli.App{
		Name:    "gowsgi",
		Usage:   "serve Python WSGI apps (Django) with Go",
		Version: version,
		Commands: []*cli.Command{
			serveCommand(),
			devCommand(),
			checkCommand(),
		},
		Flags:  rootFlags(),
		Action: runRoot,
		// Values such as "https = :8443,cert,key" hold commas.
		DisableSliceFlagSeparator: true,
		ExitErrHandler:            func(c *cli.Context, err error) {},
	}
	if err := app.Run(flagsFirst(app, os.Args)); err != nil {
		var buf strings.Builder
		code := report(io.MultiWriter(os.Stderr, &buf), err)
		master.DaemonFailed(buf.String())
		stopProfile()
		os.Exit(code)
	}
}

// fatalf prints one gowsgi error line.
func fatalf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "gowsgi: "+format+"\n", a...)
}

// flagsFirst moves a command's flags ahead of its positional arguments, so
// that `gowsgi dev mysite 8001 --noreload` works as runserver's
// `manage.py runserver 8001 --noreload` does: urfave/cli stops reading
// flags at the first positional argument.
func flagsFirst(app *cli.App, args []string) []string {
	if len(args) < 3 {
		return args
	}
	cmd := app.Command(args[1])
	if cmd == nil {
		return args
	}
	takesValue := map[string]bool{}
	for _, f := range cmd.Flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			takesValue[n] = !isBool
		}
	}
	var flags, positional []string
	rest := args[2:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "--" {
			positional = append(positional, rest[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if takesValue[name] && i+1 < len(rest) {
			flags = append(flags, rest[i+1])
			i++
		}
	}
	out := append([]string{args[0], args[1]}, flags...)
	if len(positional) > 0 {
		out = append(out, "--")
		out = append(out, positional...)
	}
	return out
}
