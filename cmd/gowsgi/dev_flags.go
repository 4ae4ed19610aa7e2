package main

// This file holds `gowsgi dev`'s flags: runserver's, with runserver's
// meaning, so that `manage.py runserver`'s options (and a runserver command
// that hands them to gowsgi dev by their names) work unchanged, and
// gowsgi's own.

import (
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/gowsgi/gowsgi/gateway"
)

func devFlags() []cli.Flag {
	return []cli.Flag{
		// runserver's own options.
		&cli.BoolFlag{Name: "noreload", Usage: "do not watch files and reload (runserver's --noreload)"},
		&cli.BoolFlag{Name: "nothreading", Usage: "one thread: requests are served one at a time (runserver's --nothreading)"},
		&cli.BoolFlag{Name: "ipv6", Aliases: []string{"6"}, Usage: "listen on ::1 rather than 127.0.0.1 (runserver's --ipv6)"},
		&cli.BoolFlag{Name: "nostatic", Usage: "do not serve STATIC_URL from the staticfiles finders (runserver's --nostatic)"},
		&cli.BoolFlag{Name: "insecure", Usage: "serve static files even with DEBUG off (runserver's --insecure)"},
		&cli.BoolFlag{Name: "skip-checks", Usage: "do not run Django's system checks at start (runserver's --skip-checks)"},
		// Options every manage.py command has.
		&cli.StringFlag{Name: "settings", Usage: "the Django settings `MODULE` (default: $DJANGO_SETTINGS_MODULE, then what manage.py sets)"},
		&cli.StringSliceFlag{Name: "pythonpath", Usage: "add `DIR` to sys.path (manage.py's --pythonpath); repeatable"},
		&cli.BoolFlag{Name: "no-color", Usage: "no colours in the request log and the checks"},
		&cli.BoolFlag{Name: "force-color", Aliases: []string{"color"}, Usage: "colour the request log and the checks even when not a terminal"},
		&cli.BoolFlag{Name: "traceback", Usage: "accepted for manage.py's sake: gowsgi dev always prints tracebacks"},
		&cli.IntFlag{Name: "verbosity", Aliases: []string{"v"}, Value: 1, Usage: "accepted for manage.py's sake; gowsgi dev prints the same at every level"},
		// gowsgi's own.
		&cli.StringFlag{Name: "http", Usage: "listen on `ADDR` (same as the ADDRPORT argument)"},
		&cli.StringFlag{Name: "wsgi-file", Usage: "serve a plain WSGI app from `FILE` instead of a Django project"},
		&cli.StringFlag{Name: "module", Usage: "serve a plain WSGI app from `pkg.mod[:callable]`"},
		&cli.StringFlag{Name: "python", Usage: "the Python interpreter `PATH` (default: $VIRTUAL_ENV/bin/python, then the python of the virtualenv gowsgi is installed in, then python3)"},
		&cli.BoolFlag{Name: "no-livereload", Usage: "do not reload the browser after a change"},
		&cli.StringFlag{Name: "engine", Value: "auto", Usage: "who serves the connections: `auto`, on (the workers, in-worker engine) or off (the master, proxy path); as serve's engine key"},
		&cli.StringSliceFlag{Name: "include", Usage: "react only to files matching `GLOB` (e.g. '**/*.py'); repeatable"},
		&cli.StringSliceFlag{Name: "exclude", Usage: "do not watch paths matching `GLOB`; repeatable"},
		&cli.IntFlag{Name: "processes", Value: 1, Usage: "worker processes"},
		&cli.IntFlag{Name: "threads", Value: 4, Usage: "threads per worker"},
		&cli.StringSliceFlag{Name: "trust-proxy", Usage: "believe X-Forwarded-*/Forwarded headers from `ADDR` (an IP, a CIDR prefix, or loopback for a local ngrok or Vite proxy); repeatable. Default: from nobody, as runserver"},
		&cli.BoolFlag{Name: "https", Usage: "serve HTTPS with a self-signed certificate for localhost (made once, kept in ~/.cache/gowsgi)"},
	}
}

// devUsageError turns urfave/cli's "flag provided but not defined: -x" (and
// its other parse errors) into one line with a hint, instead of the whole
// help.
func devUsageError(c *cli.Context, err error, isSubcommand bool) error {
	return &usageError{Msg: "dev: " + err.Error(), Hint: "gowsgi dev --help lists the flags (runserver's are there: --noreload, --nothreading, --ipv6, --nostatic, --insecure, --skip-checks)."}
}

// devDefaultHost is where dev listens when ADDRPORT names no host:
// runserver's 127.0.0.1, or ::1 with --ipv6.
func devDefaultHost(ipv6 bool) string {
	if ipv6 {
		return "::1"
	}
	return "127.0.0.1"
}

// withDefaultHost puts host in an address that parseAddrPort gave
// runserver's default 127.0.0.1 because the user named only a port.
func withDefaultHost(arg, addr, host string) string {
	if host == "127.0.0.1" || arg != "" && !isPort(arg) && !strings.HasPrefix(arg, ":") {
		return addr
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return net.JoinHostPort(host, port)
}

// devProxies reads --trust-proxy. Dev trusts nobody by default, as
// runserver: issue 15 found that trusting loopback, production's default,
// let a local ngrok or Vite proxy's X-Forwarded-Host turn every page into
// 400 DisallowedHost, links into https:// and the debug toolbar off.
func devProxies(values []string) (*gateway.Proxies, error) {
	if len(values) == 0 {
		return &gateway.Proxies{None: true}, nil
	}
	var p gateway.Proxies
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			part = strings.TrimSpace(part)
			switch strings.ToLower(part) {
			case "":
				continue
			case "loopback", "localhost":
				p.Trusted = append(p.Trusted, gateway.DefaultProxies.Trusted...)
				continue
			case "none":
				p.None = true
				continue
			}
			one, err := gateway.ParseProxies([]string{part})
			if err != nil {
				return nil, &usageError{Msg: fmt.Sprintf("--trust-proxy %s: %v", part, err), Hint: "give an IP address (127.0.0.1), a CIDR prefix (10.0.0.0/8) or loopback."}
			}
			p.Trusted = append(p.Trusted, one.Trusted...)
		}
	}
	if p.None && len(p.Trusted) > 0 {
		return nil, &usageError{Msg: "--trust-proxy none with addresses", Hint: "give either none or addresses."}
	}
	return &p, nil
}

// proxiesLabel says in the banner whose forwarding headers count.
func proxiesLabel(p *gateway.Proxies) string {
	if p.None || len(p.Trusted) == 0 {
		return ""
	}
	var s []string
	for _, pfx := range p.Trusted {
		if pfx.IsSingleIP() {
			s = append(s, pfx.Addr().String())
		} else {
			s = append(s, pfx.String())
		}
	}
	return strings.Join(s, ", ")
}

// noteInertFlags prints one line for each runserver option that means
// nothing to gowsgi dev, so nobody wonders whether it was read.
func noteInertFlags(c *cli.Context, out io.Writer) {
	if c.IsSet("verbosity") && c.Int("verbosity") != 1 {
		fmt.Fprintf(out, "gowsgi: --verbosity %d: gowsgi dev prints the same at every verbosity\n", c.Int("verbosity"))
	}
	if c.Bool("traceback") {
		fmt.Fprintf(out, "gowsgi: --traceback: gowsgi dev always prints tracebacks\n")
	}
}
