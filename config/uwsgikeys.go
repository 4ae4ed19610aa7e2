package config

// This file lists uWSGI keys that are not in the key table: the ones an
// existing ini file can keep (they have no effect in gowsgi) and the ones
// that change the meaning of the rest of the file, which gowsgi refuses
// rather than misread.

import "strings"

// Reasons shared by several keys.
const (
	whyPlugins  = "gowsgi runs CPython itself; no plugin is needed"
	whyProcname = "gowsgi does not rename its processes"
	whyService  = "run it as a service of its own (a systemd unit)"
	whyOneApp   = "gowsgi serves one app, at /"
	whyRouting  = "gowsgi has no internal router; route in nginx"
	whyLogging  = "gowsgi writes its own log format"
	whyHTTP     = "Go's HTTP server handles keep-alive, chunking and timeouts itself"
	whyMissing  = "not implemented in gowsgi"
	whyLogic    = "uWSGI's config logic (for, if-*) is not supported: expand the block by hand"
	whyInclude  = "gowsgi reads one ini file: merge the included file into this one"
)

// noEffect maps uWSGI keys that gowsgi accepts, and ignores, to why.
var noEffect = map[string]string{
	"plugins":                   whyPlugins,
	"plugin":                    whyPlugins,
	"plugins-dir":               whyPlugins,
	"plugin-dir":                whyPlugins,
	"need-plugin":               whyPlugins,
	"need-plugins":              whyPlugins,
	"cheaper":                   "gowsgi runs a fixed number of workers (processes)",
	"idle":                      "gowsgi runs a fixed number of workers (processes)",
	"die-on-idle":               "gowsgi runs a fixed number of workers (processes)",
	"post-buffering":            "gowsgi reads the whole body (past 64 KiB into a temporary file) before it takes a worker",
	"single-interpreter":        "each gowsgi worker has exactly one interpreter",
	"thunder-lock":              "Go's accept loop needs no lock",
	"master-fifo":               "control gowsgi with signals: HUP reloads, TERM stops",
	"memory-report":             whyMissing,
	"max-worker-lifetime":       whyMissing,
	"reload-mercy":              whyMissing,
	"worker-reload-mercy":       whyMissing,
	"limit-as":                  whyMissing,
	"max-fd":                    whyMissing,
	"reaper":                    "gowsgi's master reaps its workers itself",
	"no-orphans":                "gowsgi's workers die with their master",
	"harakiri-verbose":          "gowsgi always logs which request harakiri interrupted",
	"auto-procname":             whyProcname,
	"procname-prefix":           whyProcname,
	"procname-prefix-spaced":    whyProcname,
	"procname-append":           whyProcname,
	"procname":                  whyProcname,
	"procname-master":           whyProcname,
	"log-date":                  whyLogging,
	"logdate":                   whyLogging,
	"log-master":                "gowsgi's master writes every log line",
	"log-reopen":                whyMissing,
	"log-backupname":            whyMissing,
	"logfile-chown":             whyMissing,
	"offload-threads":           "Go serves static files without offload threads",
	"http-keepalive":            whyHTTP,
	"http-auto-chunked":         whyHTTP,
	"http-timeout":              whyHTTP,
	"so-keepalive":              whyHTTP,
	"ignore-sigpipe":            "a client that went away never kills a gowsgi worker",
	"ignore-write-errors":       "a client that went away never kills a gowsgi worker",
	"disable-write-exception":   "a client that went away never kills a gowsgi worker",
	"wsgi-disable-file-wrapper": whyMissing,
	"stats-http":                "gowsgi chooses the stats format",
	"mount":                     whyOneApp,
	"manage-script-name":        whyOneApp,
	"route":                     whyRouting,
	"route-run":                 whyRouting,
	"route-host":                whyRouting,
	"route-uri":                 whyRouting,
	"spooler":                   whyService,
	"mule":                      whyService,
	"cron":                      whyService,
	"attach-daemon":             whyService,
	"smart-attach-daemon":       whyService,
	"cache2":                    whyMissing,
	"chown-socket":              whyMissing,
	"umask":                     whyMissing,
	"py-tracebacker":            whyMissing,
}

// noEffectPrefixes are families of keys: hook-pre-app, exec-as-root...
var noEffectPrefixes = []struct{ prefix, why string }{
	{"hook-", "gowsgi runs no hooks; use the service manager (systemd ExecStartPre)"},
	{"exec-", "gowsgi runs no hooks; use the service manager (systemd ExecStartPre)"},
	{"cheaper-", "gowsgi runs a fixed number of workers (processes)"},
	{"route-", whyRouting},
}

// refused maps keys that would change how the rest of the file reads.
var refused = map[string]string{
	"ini":           whyInclude,
	"include":       whyInclude,
	"inherit":       whyInclude,
	"xml":           whyInclude,
	"yaml":          whyInclude,
	"json":          whyInclude,
	"for":           whyLogic,
	"endfor":        whyLogic,
	"endif":         whyLogic,
	"else":          whyLogic,
	"emperor":       "gowsgi has no Emperor: run one gowsgi per app (e.g. a systemd template unit)",
	"if-env":        whyLogic,
	"if-not-env":    whyLogic,
	"if-exists":     whyLogic,
	"if-not-exists": whyLogic,
	"if-file":       whyLogic,
	"if-not-file":   whyLogic,
	"if-dir":        whyLogic,
	"if-not-dir":    whyLogic,
	"if-opt":        whyLogic,
	"if-not-opt":    whyLogic,
	"if-reload":     whyLogic,
	"if-not-reload": whyLogic,
}

// foreignKey says what gowsgi does with a key outside the table: ignore it
// (noEffect), refuse the file (refuse), or neither (unknown).
func foreignKey(name string) (why string, refuse, ok bool) {
	if why, ok := refused[name]; ok {
		return why, true, true
	}
	if strings.HasPrefix(name, "for-") {
		return whyLogic, true, true
	}
	if why, ok := noEffect[name]; ok {
		return why, false, true
	}
	for _, p := range noEffectPrefixes {
		if strings.HasPrefix(name, p.prefix) {
			return p.why, false, true
		}
	}
	return "", false, false
}
