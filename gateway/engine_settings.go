package gateway

// This file is what a worker's engine is told by the master: its listening
// sockets and the settings of the request path, as JSON in the worker's
// configuration. Everything the proxy path's servers are given as Go values
// travels here as the strings of the ini file, and is parsed again in the
// worker by the same functions.

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// EngineListener is one listening socket a worker inherits.
type EngineListener struct {
	FD     int    `json:"fd"`
	Kind   string `json:"kind"`   // "http" or "uwsgi"
	Scheme string `json:"scheme"` // the environ's wsgi.url_scheme on HTTP: "http"
}

// EngineSettings configure a worker's engine.
type EngineSettings struct {
	Listeners  []EngineListener `json:"listeners"`
	ScriptName string           `json:"script_name,omitempty"`
	// Proxies are the trusted proxies; nil is DefaultProxies.
	Proxies   *Proxies        `json:"proxies,omitempty"`
	Static    []EngineStatic  `json:"static,omitempty"`
	AddHeader ResponseHeaders `json:"add_header,omitempty"`
	LimitPost int64           `json:"limit_post,omitempty"`
	Timeout   time.Duration   `json:"timeout,omitempty"`
	// MaxHeaderBytes bounds a request's line and headers (buffer-size);
	// 0 is net/http's default, 1 MiB.
	MaxHeaderBytes int `json:"max_header_bytes,omitempty"`
	// BufferSize bounds a uwsgi packet's vars (buffer-size).
	BufferSize int         `json:"buffer_size,omitempty"`
	AccessLog  *AccessSpec `json:"access_log,omitempty"`
	// LogDate is the strftime format the engine dates its own messages
	// with (logdate, StrftimeOf); "" leaves them undated.
	LogDate string `json:"log_date,omitempty"`
	// LiveReload is dev mode's: the engine answers the live reload
	// script and stream and puts the script into pages
	// (livereload_engine_linux.go).
	LiveReload bool `json:"live_reload,omitempty"`
	// Dev is dev mode: an engine whose generation no longer serves (the
	// scoreboard says) stops by itself, and once stopping it closes quiet
	// connections after stopIdleQuiet, so that the browser's next request
	// reaches the new code.
	Dev bool `json:"dev,omitempty"`
}

// EngineStatic is a Static mount as the engine is told it.
type EngineStatic struct {
	URL        string      `json:"url"`
	Dirs       []StaticDir `json:"dirs"`
	Revalidate bool        `json:"revalidate,omitempty"`
	Expires    []struct {
		Pattern string `json:"pattern"`
		Seconds int64  `json:"seconds"`
	} `json:"expires,omitempty"`
}

// EngineStaticOf is how the master tells st to a worker.
func EngineStaticOf(st *Static) EngineStatic {
	es := EngineStatic{URL: st.URL, Dirs: st.Dirs, Revalidate: st.Revalidate}
	for _, r := range st.Expires {
		es.Expires = append(es.Expires, struct {
			Pattern string `json:"pattern"`
			Seconds int64  `json:"seconds"`
		}{r.Pattern.String(), r.Seconds})
	}
	return es
}

// engineParts are the settings parsed back into the pipeline's values.
type engineParts struct {
	static  []*Static
	headers ResponseHeaders
	proxies *Proxies
}

func (s *EngineSettings) parts() (engineParts, error) {
	var p engineParts
	for _, es := range s.Static {
		st := &Static{URL: es.URL, Dirs: es.Dirs, Revalidate: es.Revalidate}
		for _, e := range es.Expires {
			re, err := regexp.Compile(e.Pattern)
			if err != nil {
				return p, fmt.Errorf("engine: static-expires %q: %w", e.Pattern, err)
			}
			st.Expires = append(st.Expires, ExpireRule{Pattern: re, Seconds: e.Seconds})
		}
		p.static = append(p.static, st)
	}
	p.headers, p.proxies = s.AddHeader, s.Proxies
	return p, nil
}

// AccessSpec is the access log as the ini file says it: log-format,
// logdate, and log-4xx/log-5xx (which, with disable-logging, log only
// those). The master and the engine both build the line format from it.
type AccessSpec struct {
	Format  string `json:"format,omitempty"`
	Date    string `json:"date,omitempty"`
	Only4xx bool   `json:"only_4xx,omitempty"`
	Only5xx bool   `json:"only_5xx,omitempty"`
	// Runserver is dev mode's line (RunserverFormat), coloured with Color.
	Runserver bool `json:"runserver,omitempty"`
	Color     bool `json:"color,omitempty"`
}

// Build returns the line format and the statuses to leave out (nil: the
// default format, log everything).
func (s *AccessSpec) Build() (format FormatFunc, skip func(status int) bool) {
	if s.Runserver {
		return RunserverFormat(s.Color), nil
	}
	if IsUwsgiLogFormat(s.Format) {
		format = UwsgiLogFormat(s.Format, LogFormatOptions{Strftime: StrftimeOf(s.Date)})
	} else if f, err := AccessFormat(s.Format); err == nil && f != nil {
		format = f
	}
	if f := StrftimeOf(s.Date); f != "" {
		inner := format
		format = func(b []byte, r *http.Request, status int, size int64, d time.Duration, pid, gen int) []byte {
			b = AppendStrftime(b, f, time.Now())
			b = append(b, " - "...)
			if inner == nil {
				return DefaultFormat(b, r, status, size, d, pid, gen)
			}
			return inner(b, r, status, size, d, pid, gen)
		}
	}
	if s.Only4xx || s.Only5xx {
		log4, log5 := s.Only4xx, s.Only5xx
		skip = func(status int) bool {
			return !(log4 && status >= 400 && status < 500) && !(log5 && status >= 500)
		}
	}
	return format, skip
}

// StrftimeOf is logdate's strftime format: "" for none, uWSGI's default
// for a bare true.
func StrftimeOf(logdate string) string {
	switch strings.ToLower(logdate) {
	case "":
		return ""
	case "true", "1", "on", "yes":
		return "%a %b %e %H:%M:%S %Y"
	}
	return logdate
}
