// Package config reads a gowsgi server's settings from the uWSGI ini files
// people already have and from command-line flags, into one Config.
//
// # Model
//
// One table (keys.go) declares every key once: its name, uWSGI's aliases,
// the kind of value, the default and a line of help. The ini reader, the
// --flags, Default, Validate's ranges and Describe are all generated from
// it, so every ini key is also a flag of the same name ("processes = 4" is
// "--processes 4"). The usual order is
//
//	cfg, warnings, err := config.LoadWith("uwsgi.ini:prod", config.LoadOptions{Strict: c.Bool("strict")})
//	cfg, err = config.FromCLI(c, cfg) // flags given on the command line win
//	err = cfg.Validate()
//
// An ini file is read the way uWSGI reads it: one section ([uwsgi] unless
// the path ends in :SECTION), comments only on lines of their own, a bare
// key is true, repeated keys (socket, env, static-map...) keep every value
// in order, %d %n %p %s %c %o, %(key) and $(VAR) placeholders are
// expanded. Relative paths are kept as written: like uWSGI, gowsgi takes
// them from the directory it starts in, not from the ini file's (write
// %d/app.sock for that).
//
// Keys uWSGI has and gowsgi does not use are not errors, since the file
// must keep working under uWSGI: they come back as Warnings. An unknown key
// (uWSGI also ignores those, silently, which hides typos) is a warning with
// the nearest known key; with strict it is an error. A uWSGI key gowsgi
// accepts without effect (plugins, cheaper, thunder-lock...) says why.
// Keys that change how the rest of the file reads (ini includes, for and
// if-* blocks) are errors, since gowsgi would misread what follows.
//
// # Troubleshooting
//
//	uwsgi.ini:5: unknown key "process" (uWSGI ignores it silently); did you mean "processes"?
//
// A typo uWSGI never reported: the server has been running with the
// default (1 process) all along. Fix the key; "strict = true" in the file,
// or --strict, makes such lines an error.
//
//	uwsgi.ini:4: processes = "4 # one per core": not a whole number (uWSGI ini files have no end-of-line comments: put the comment on a line of its own)
//
// Only lines that start with # or ; are comments, in uWSGI as here; a #
// later in a line is part of the value (env = COLOR=#fff works).
//
//	uwsgi.ini: no [uwsgi] section; the file has [dev], [prod]: name one as uwsgi.ini:dev
//
// The file holds several configurations; pick one with FILE:SECTION.
// Section names are case-sensitive.
//
//	uwsgi.ini:9: vacuum is written again after the bare "vacuum" on line 4: keep one line (vacuum = true)
//
// The ini parser (gopkg.in/ini.v1) cannot give a second value to a key
// first written without "=". uWSGI accepts it; write the key once.
//
//	uwsgi.ini:3: for: uWSGI's config logic (for, if-*) is not supported: expand the block by hand
//
// Write out the lines the block would produce (one socket = ... per port,
// say). Includes (ini =, inherit =) are refused the same way: merge the
// files.
//
//	no listener: set http = 127.0.0.1:8000 (HTTP) or socket = 127.0.0.1:3031 (uwsgi protocol for nginx)
//
// From Validate: the file and the flags name no socket, http, http-socket
// or https. Behind nginx's uwsgi_pass use socket; to browse to the server
// directly use http.
//
//	reading flags: the cli.App must set DisableSliceFlagSeparator: true, ...
//
// A programming error in the command: urfave/cli splits repeatable flag
// values at commas unless told not to, which would cut
// "--https :8443,cert.pem,key.pem" into three values.
package config
