package config

// This file sorts every key outside the key table into one of two kinds:
// a real uWSGI option that gowsgi does not apply (uwsgi_options.go lists
// every option of uWSGI 2.0; notApplied says, for those that matter, what
// gowsgi does instead and what that changes), or a key uWSGI does not know
// either, which uWSGI ignores silently (a typo, most often).

// uwsgi_options.go is generated: make uwsgi-options (see gen_uwsgi_options.go).

import (
	"fmt"
	"sort"
	"strings"
)

// uwsgiOption is one option of uWSGI 2.0 (generated into uwsgi_options.go).
type uwsgiOption struct {
	help  string // uWSGI's one-line description
	short string // its command-line letter, if any
	// sourceOnly: in uWSGI's source but not in the PyPI build (it needs
	// PCRE, OpenSSL...).
	sourceOnly bool
}

// isUwsgiOption reports whether uWSGI 2.0 knows the key.
func isUwsgiOption(name string) bool {
	_, ok := uwsgiOptions[name]
	return ok
}

// immediateKeys act while the file is read (UWSGI_OPT_IMMEDIATE); uWSGI
// does not expand $(VAR) or %(key) in their values.
var immediateKeys = map[string]bool{
	"xmlconfig": true, "xml": true, "config": true, "fallback-config": true, "strict": true,
	"set": true, "set-placeholder": true, "set-ph": true, "declare-option": true, "resolve": true,
	"blacklist": true, "end-blacklist": true, "whitelist": true, "end-whitelist": true,
	"include": true, "inject-before": true, "inject-after": true, "listen": true, "umask": true,
	"ini": true, "yaml": true, "yml": true, "json": true, "js": true, "plugins": true, "plugin": true,
	"need-plugins": true, "need-plugin": true, "plugins-dir": true, "plugin-dir": true,
	"autoload": true, "dlopen": true, "early-envdir": true, "immediate-uid": true, "immediate-gid": true,
	"ienv": true, "flock": true, "flock-wait": true, "flock2": true, "flock-wait2": true,
}

// readKeys are the keys gowsgi applies while reading the file (logic.go),
// so they are neither in the key table nor "not applied".
func readKey(name string) bool {
	switch name {
	case "ini", "include", "inherit", "set", "set-placeholder", "set-ph", "ienv":
		return true
	}
	return logicKeys[name] != nil || endKeys[name]
}

// Reasons shared by several keys.
const (
	whyPlugins  = "gowsgi runs CPython itself; no plugin is needed"
	whyProcname = "gowsgi does not rename its processes"
	whyService  = "gowsgi starts no other programs: run it as a service of its own (a systemd unit, a container)"
	whyOneApp   = "gowsgi serves one app, at /"
	whyRouting  = "gowsgi has no internal router: these rules do not run; route in nginx"
	whyHTTP     = "Go's HTTP server handles keep-alive, chunking and timeouts itself"
	whyWrite    = "a client that went away never kills a gowsgi worker"
	whyCheaper  = "gowsgi runs a fixed number of workers: processes = N start and stay"
	whyAsync    = "gowsgi has no gevent/async loop: each worker runs threads, so at most processes x threads requests run at once"
	whyHooks    = "gowsgi runs no hooks or commands: use the service manager (systemd ExecStartPre)"
	whyLogger   = "gowsgi logs to stderr, logto or daemonize: other loggers, routes and encoders are not used"
	whyMemory   = "gowsgi has reload-on-rss and evil-reload-on-rss; other memory limits are not enforced"
)

// notApplied says, for uWSGI options gowsgi does not apply, what gowsgi
// does instead; an option not listed gets uWSGI's own description.
var notApplied = map[string]string{
	"plugins": whyPlugins, "plugin": whyPlugins, "plugins-dir": whyPlugins, "plugin-dir": whyPlugins,
	"need-plugin": whyPlugins, "need-plugins": whyPlugins, "plugins-list": whyPlugins,
	"cheaper": whyCheaper, "cheaper-initial": whyCheaper, "cheaper-step": whyCheaper, "cheaper-algo": whyCheaper,
	"cheaper-overload": whyCheaper, "idle": whyCheaper, "die-on-idle": whyCheaper,
	"gevent": whyAsync, "async": whyAsync, "ugreen": whyAsync, "gevent-monkey-patch": whyAsync,
	"gevent-early-monkey-patch": whyAsync, "asyncio": whyAsync, "greenlet": whyAsync,
	"master-fifo":         "control gowsgi with signals: HUP reloads, TERM stops",
	"memory-report":       "the status page (stats) shows each worker's memory",
	"reload-mercy":        "gowsgi gives a retiring worker 30 seconds to finish",
	"worker-reload-mercy": "gowsgi gives a retiring worker 30 seconds to finish",
	"limit-as":            whyMemory, "reload-on-as": whyMemory, "evil-reload-on-as": whyMemory,
	"max-fd":        "gowsgi keeps the limit it was started with (systemd LimitNOFILE=)",
	"reaper":        "gowsgi's master reaps its workers itself: nothing to do",
	"no-orphans":    "gowsgi's workers die with their master: nothing to do",
	"auto-procname": whyProcname, "procname-prefix": whyProcname, "procname-prefix-spaced": whyProcname,
	"procname-append": whyProcname, "procname": whyProcname, "procname-master": whyProcname,
	"log-master":     "gowsgi's master writes every log line: nothing to do",
	"log-reopen":     "gowsgi reopens nothing on its own: rotate with log-maxsize",
	"log-backupname": "log-maxsize renames the file FILE.<unix time>",
	"logger":         whyLogger, "logger-req": whyLogger, "log-route": whyLogger, "log-req-route": whyLogger,
	"log-encoder": whyLogger, "log-req-encoder": whyLogger, "req-logger": whyLogger,
	"logformat-strftime":  "gowsgi writes %(ftime) and log dates with the strftime of logdate when one is given",
	"log-x-forwarded-for": "gowsgi logs the client address it trusts (trusted-proxies)",
	"log-slow":            "the status page shows the requests running and for how long",
	"log-buffering":       "gowsgi writes each log line at once",
	"http-keepalive":      whyHTTP, "http-auto-chunked": whyHTTP, "http-timeout": whyHTTP, "so-keepalive": whyHTTP,
	"http-enable-proxy-protocol": "gowsgi does not read the PROXY protocol: behind a load balancer that sends it, requests fail",
	"ignore-sigpipe":             whyWrite, "ignore-write-errors": whyWrite, "disable-write-exception": whyWrite,
	"wsgi-disable-file-wrapper": "gowsgi's wsgi.file_wrapper streams the file in chunks",
	"stats-http":                "gowsgi's stats address serves HTTP (/, /status.json, /metrics) always",
	"mount":                     whyOneApp + ": other mount points are not served", "manage-script-name": whyOneApp + ": SCRIPT_NAME is always empty",
	"spooler": whyService, "mule": whyService, "cron": whyService, "attach-daemon": whyService,
	"attach-daemon2": whyService, "smart-attach-daemon": whyService, "smart-attach-daemon2": whyService,
	"cache2":                "gowsgi has no shared cache: the app's uwsgi.cache_* calls fail (use Django's cache framework)",
	"umask":                 "gowsgi keeps the umask it was started with (systemd UMask=)",
	"py-tracebacker":        "harakiri logs the Python stack; the status page shows running requests",
	"fs-reload":             "use touch-reload (a file) or py-autoreload",
	"honour-stdin":          "gowsgi's workers read no stdin",
	"import":                "gowsgi imports only the app: import the module from your wsgi file",
	"static-gzip-all":       "gowsgi serves the files as they are, never their .gz",
	"static-cache-paths":    "gowsgi finds static files on each request",
	"show-config":           "use gowsgi serve --print-config",
	"http-socket-modifier1": "gowsgi serves WSGI only",
	"enable-proxy-protocol": "gowsgi does not read the PROXY protocol: behind a load balancer that sends it, requests fail",
	"chmod-socket-group":    "use chown-socket",
	"wsgi-env-behavior":     "gowsgi builds a new environ for each request",
	"vhost":                 whyOneApp,
	"callable-like":         whyOneApp,
	"touch-chain-reload":    "use touch-reload: gowsgi's reload already replaces workers with no downtime",
	"uwsgi-socket-protocol": "see protocol",
}

// notAppliedPrefixes are families of options.
var notAppliedPrefixes = []struct{ prefix, why string }{
	{"hook-", whyHooks}, {"exec-", whyHooks}, {"call-", whyHooks}, {"mount-", whyHooks}, {"umount-", whyHooks},
	{"cheaper-", whyCheaper}, {"route", whyRouting}, {"response-route", whyRouting}, {"final-route", whyRouting},
	{"error-route", whyRouting}, {"emperor", "gowsgi has no Emperor: run one gowsgi per app (a systemd template unit)"},
	{"spooler", whyService}, {"mule", whyService}, {"cron", whyService}, {"cache", "gowsgi has no shared cache"},
	{"gevent", whyAsync}, {"async", whyAsync}, {"procname", whyProcname}, {"log-", whyLogger}, {"logger", whyLogger},
	{"touch-", "gowsgi watches only touch-reload files"}, {"http-", whyHTTP}, {"ssl-", "use https = addr,cert,key: Go's TLS chooses its own settings"},
}

// behaviourNote is, for a uWSGI option gowsgi does not apply, what it does
// in uWSGI and what gowsgi does instead.
func behaviourNote(key string) string {
	o, known := uwsgiOptions[key]
	why, ok := notApplied[key]
	if !ok {
		for _, p := range notAppliedPrefixes {
			if strings.HasPrefix(key, p.prefix) {
				why, ok = p.why, true
				break
			}
		}
	}
	var b strings.Builder
	if known {
		fmt.Fprintf(&b, "in uWSGI it does: %s", o.help)
		if o.sourceOnly {
			b.WriteString(" (in builds with PCRE or OpenSSL)")
		}
	}
	if ok {
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString(why)
	} else {
		b.WriteString("; gowsgi does not do it")
	}
	return b.String()
}

// suggestKey returns the nearest key, uWSGI's or gowsgi's, to a key neither
// knows, or "": it looks both ways, at names a letter longer or shorter
// ("process" -> "processes", "logto" for "logt"). Between names as near,
// one with the same first letter wins ("guid" -> "gid", not "uid"), then
// one gowsgi applies, then the first in order.
func suggestKey(name string) string {
	if len(name) > 64 || name == "" {
		return ""
	}
	type score struct {
		dist             int
		otherFirst, skip bool
	}
	less := func(a, b score) bool {
		if a.dist != b.dist {
			return a.dist < b.dist
		}
		if a.otherFirst != b.otherFirst {
			return !a.otherFirst
		}
		return !a.skip && b.skip
	}
	best, bestScore := "", score{dist: len(name)/3 + 1, otherFirst: true, skip: true}
	consider := func(cand string) {
		if len(cand) <= 2 || cand == name {
			return
		}
		d := editDistance(name, cand)
		if d >= bestScore.dist+1 {
			return
		}
		sc := score{dist: d, otherFirst: cand[0] != name[0], skip: keyIndex[cand] == nil}
		if d < len(name)/3+1 && (best == "" || less(sc, bestScore)) {
			best, bestScore = cand, sc
		}
	}
	for _, n := range suggestionNames {
		consider(n)
	}
	return best
}

// suggestionNames are every key of the table and every uWSGI option, sorted
// so that suggestKey is deterministic.
var suggestionNames = func() []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range keys {
		for _, n := range append([]string{k.name}, k.aliases...) {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	for n := range uwsgiOptions {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}()

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
