// Package config reads a gowsgi server's settings from the uWSGI ini files
// people already have and from command-line flags, into one Config.
//
// # Model
//
// One table (keys.go) declares every key gowsgi applies once: its name,
// uWSGI's aliases, the kind of value, the default and a line of help. The
// ini reader, the --flags, Default, Validate's ranges and Describe are all
// generated from it, so every ini key is also a flag of the same name
// ("processes = 4" is "--processes 4"). The usual order is
//
//	loaded, err := config.LoadFiles([]string{"uwsgi.ini:prod"}, config.LoadOptions{Strict: c.Bool("strict")})
//	cfg, err := config.FromCLI(c, loaded.Config) // flags given on the command line win
//	err = cfg.Validate()
//
// Files are read the way uWSGI 2.0 reads them (ini.go, logic.go,
// placeholders.go, from its core/ini.c, core/config.c and core/uwsgi.c):
// the UWSGI_* environment variables first, then each file; one section
// ([uwsgi] unless FILE:SECTION); comments only on lines of their own; a
// bare key is true; values kept whole, quotes and all; magic variables
// (%d %n %k %h...) expanded as the file is read, then $(VAR), @(FILE) and
// %(key); ini =, include =, inherit = and the for / if-* blocks act as they
// do in uWSGI. A value is read as uWSGI's parser for its key reads it:
// "1000 ; restart" is 1000, with a warning. Relative paths are kept as
// written: like uWSGI, gowsgi takes them from the directory it starts in,
// not from the ini file's (write %d/app.sock for that).
//
// Every other key is one of two kinds (uwsgikeys.go, with the list of all
// 1033 options of uWSGI 2.0 in uwsgi_options.go, generated from uwsgi
// --help and its source): a real uWSGI option gowsgi does not apply (a
// warning that says what it does in uWSGI and what gowsgi does instead:
// gevent, cheaper, plugins, routes...), or a key uWSGI does not know
// either (a typo, most often, which uWSGI ignores silently: a warning with
// the nearest key either way). With strict only the last kind is an error,
// as in uWSGI's strict mode. The user's own keys read by %(key) are
// neither.
//
// # Troubleshooting
//
//	uwsgi.ini:5: unknown key "process" (uWSGI ignores it silently); did you mean "processes"?
//
// A typo uWSGI never reported: the server has been running with the
// default (1 process) all along. Fix the key; "strict = true" in the file,
// or --strict, makes such lines an error.
//
//	uwsgi.ini:4: processes = "4 # one per core": uWSGI reads 4 (the number at the start); uWSGI ini files have no end-of-line comments: ...
//
// Only lines that start with # or ; are comments, in uWSGI as here; a #
// later in a line is part of the value (env = COLOR=#fff works). gowsgi
// reads the value as uWSGI does and says so; move the comment to a line of
// its own to silence it. "master = false # for now" is true in uWSGI.
//
//	uwsgi.ini: no [uwsgi] section; the file has [dev], [prod]: name one as uwsgi.ini:dev
//
// The file holds several configurations; pick one with FILE:SECTION.
// Section names are case-sensitive.
//
//	uwsgi.ini:3: ini = base.ini: open base.ini: no such file or directory (uWSGI would stop here too; a relative path is taken from the directory gowsgi starts in: ...)
//
// uWSGI opens included files relative to the directory it runs in, not
// the ini file's: write ini = %dbase.ini.
//
//	uwsgi.ini:7: if-env = B: a block inside the if-env block of uwsgi.ini:5: uWSGI does not nest them ...
//
// uWSGI stops on such a file too; close the first block with endif.
//
//	uwsgi.ini:9: gevent: a uWSGI option gowsgi does not apply: in uWSGI it does: a shortcut enabling gevent loop engine ...; gowsgi has no gevent/async loop: ... (4 x 2 = 8 here, where uWSGI would run 1000 per worker)
//
// The file keeps working, with less concurrency than uWSGI would give:
// raise processes and threads.
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
