package config

// This file is the command-line face of the key table: every ini key is
// also a --flag of the same name, with the same aliases and value syntax.

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// Flags returns one flag per key of the table, named as the ini key, with
// its aliases ("--workers 4" and "-p 4" are "--processes 4"). Call it once
// per cli.App (flags hold their parsed values).
//
// Boolean keys are BoolFlags. Repeatable keys are StringSliceFlags, which
// need the app to set DisableSliceFlagSeparator: values such as
// "https = :8443,cert.pem,key.pem" hold commas (FromCLI refuses to run
// without it). Every other key is a StringFlag read with the ini syntax,
// so "--harakiri 30" is 30 seconds as in the file, and the error for a bad
// value is the ini one ("--processes "two": not a whole number").
func Flags() []cli.Flag {
	flags := make([]cli.Flag, 0, len(keys))
	for _, k := range keys {
		switch {
		case k.kind == kindBool:
			flags = append(flags, &cli.BoolFlag{Name: k.name, Aliases: k.aliases, Usage: k.help, Category: k.group})
		case k.kind.repeatable():
			flags = append(flags, &cli.StringSliceFlag{Name: k.name, Aliases: k.aliases, Usage: k.help, Category: k.group})
		default:
			flags = append(flags, &cli.StringFlag{Name: k.name, Aliases: k.aliases, Usage: k.help, Category: k.group, DefaultText: k.def})
		}
	}
	return flags
}

// errSliceSeparator is returned by FromCLI when the app would split flag
// values at commas.
var errSliceSeparator = errors.New("reading flags: the cli.App must set DisableSliceFlagSeparator: true, or values with commas (https = addr,cert,key; env = A=1,2) are split")

// FromCLI returns base with the flags that were given on the command line
// applied over it, so that "gowsgi serve --ini uwsgi.ini --processes 4"
// runs 4 processes whatever the file says. Flags left out keep base's
// values. A repeatable listener flag (socket, http, http-socket, https)
// replaces base's listeners of that kind; the other repeatable flags (env,
// pythonpath, static-map, touch-reload) add to base's values.
//
// Errors are *ValueError naming the flag; FromCLI does not Validate.
func FromCLI(c *cli.Context, base Config) (Config, error) {
	if c.App != nil && !c.App.DisableSliceFlagSeparator {
		return Config{}, errSliceSeparator
	}
	cfg := base
	// Deep-copy the slices FromCLI may append to, so base is untouched.
	cfg.PythonPath = append([]string(nil), base.PythonPath...)
	cfg.Env = append([]string(nil), base.Env...)
	cfg.TouchReload = append([]string(nil), base.TouchReload...)
	cfg.StaticMap = append([]StaticMap(nil), base.StaticMap...)
	cfg.Socket = append([]Addr(nil), base.Socket...)
	cfg.UWSGISocket = append([]Addr(nil), base.UWSGISocket...)
	cfg.AddHeader = append([]string(nil), base.AddHeader...)
	cfg.StaticMap2 = append([]StaticMap(nil), base.StaticMap2...)
	cfg.StaticExpires = append([]StaticExpire(nil), base.StaticExpires...)
	cfg.HTTP = append([]Addr(nil), base.HTTP...)
	cfg.HTTPSocket = append([]Addr(nil), base.HTTPSocket...)
	cfg.HTTPS = append([]HTTPSAddr(nil), base.HTTPS...)

	var errs []error
	for _, k := range keys {
		if !c.IsSet(k.name) {
			continue
		}
		flag := "--" + k.name
		switch {
		case k.kind == kindBool:
			*k.field(&cfg).(*bool) = c.Bool(k.name)
		case k.kind.repeatable():
			if !k.cliAppends {
				k.reset(&cfg)
			}
			for _, v := range c.StringSlice(k.name) {
				if err := k.set(&cfg, v); err != nil {
					errs = append(errs, &ValueError{Flag: flag, Key: k.name, Value: v, Err: err})
				}
			}
		default:
			v := c.String(k.name)
			if err := k.set(&cfg, v); err != nil {
				errs = append(errs, &ValueError{Flag: flag, Key: k.name, Value: v, Err: err})
			}
		}
	}
	if err := joinErrors(errs); err != nil {
		return Config{}, err
	}
	cfg.normalize()
	return cfg, nil
}

// KeyNames lists the key table's names (each also a flag), in its order.
func KeyNames() []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.name
	}
	return out
}
