package gateway

// This file writes uWSGI's log-format templates: "%(addr) - %(user)
// [%(ltime)] "%(method) %(uri) %(proto)" %(status) %(size)" becomes one
// access log line per request with uWSGI's request variables (core/
// logging.c, LogFormat.rst). A variable with no value is "-", as in uWSGI.
//
// What gowsgi's master does not know is written as uWSGI writes a value it
// lacks, or as 0: %(wid) is the worker generation's pid order unknown to
// the master, so it is 0; %(hsize), %(headers), %(vars), %(pktsize),
// %(switches), %(core), %(vsz), %(rss) and the error counters are 0;
// %(size) is the body size (uWSGI adds the headers' size). A user-defined
// logvar (uwsgi.set_logvar) is "-".

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// LogFormatOptions tune UwsgiLogFormat.
type LogFormatOptions struct {
	// Strftime is the logdate format %(ftime) uses (uWSGI's
	// logformat-strftime with log-date); "" is %(ltime)'s.
	Strftime string
}

// IsUwsgiLogFormat reports whether a log-format value is a uWSGI template
// rather than a format name (uwsgi, combined, json).
func IsUwsgiLogFormat(s string) bool { return strings.Contains(s, "%(") }

type logChunk struct {
	text  string // literal text, or the variable's name
	isVar bool
}

// UwsgiLogFormat compiles a uWSGI log-format template into a FormatFunc.
func UwsgiLogFormat(tmpl string, o LogFormatOptions) FormatFunc {
	chunks := parseLogFormat(tmpl)
	return func(b []byte, r *http.Request, status int, size int64, d time.Duration, pid, gen int) []byte {
		end := time.Now()
		start := end.Add(-d)
		for _, c := range chunks {
			if !c.isVar {
				b = append(b, c.text...)
				continue
			}
			n := len(b)
			b = appendLogVar(b, c.text, r, status, size, d, start, pid, o)
			if len(b) == n {
				b = append(b, '-')
			}
		}
		return b
	}
}

// DefaultFormat is the access log's default line (see AccessLog), for
// callers that add to it, such as a logdate prefix.
func DefaultFormat(b []byte, r *http.Request, status int, size int64, d time.Duration, pid, gen int) []byte {
	return defaultFormat(b, r, status, size, d, pid, gen)
}

// parseLogFormat splits the template as uWSGI's logformat parser does: a
// variable is %( up to the next ), and anything else is literal.
func parseLogFormat(tmpl string) []logChunk {
	var out []logChunk
	for {
		i := strings.Index(tmpl, "%(")
		if i < 0 {
			break
		}
		end := strings.IndexByte(tmpl[i+2:], ')')
		if end < 0 {
			break
		}
		if i > 0 {
			out = append(out, logChunk{text: tmpl[:i]})
		}
		out = append(out, logChunk{text: tmpl[i+2 : i+2+end], isVar: true})
		tmpl = tmpl[i+3+end:]
	}
	if tmpl != "" {
		out = append(out, logChunk{text: tmpl})
	}
	return out
}

func appendLogVar(b []byte, name string, r *http.Request, status int, size int64, d time.Duration, start time.Time, pid int, o LogFormatOptions) []byte {
	switch name {
	case "uri":
		return append(b, requestURI(r)...)
	case "method":
		return append(b, r.Method...)
	case "user":
		if u, _, ok := r.BasicAuth(); ok {
			return append(b, u...)
		}
		return b
	case "addr":
		return append(b, remoteHost(r)...)
	case "host":
		return append(b, r.Host...)
	case "proto":
		return append(b, r.Proto...)
	case "uagent":
		return append(b, r.UserAgent()...)
	case "referer":
		return append(b, r.Referer()...)
	case "status":
		return strconv.AppendInt(b, int64(status), 10)
	case "micros":
		return strconv.AppendInt(b, d.Microseconds(), 10)
	case "msecs":
		return strconv.AppendInt(b, d.Milliseconds(), 10)
	case "secs":
		return strconv.AppendFloat(b, d.Seconds(), 'f', 6, 64)
	case "time":
		return strconv.AppendInt(b, start.Unix(), 10)
	case "ctime":
		return start.AppendFormat(b, "Mon Jan _2 15:04:05 2006")
	case "epoch":
		return strconv.AppendInt(b, time.Now().Unix(), 10)
	case "ltime":
		return start.AppendFormat(b, "02/Jan/2006:15:04:05 -0700")
	case "ftime":
		if o.Strftime == "" {
			return start.AppendFormat(b, "02/Jan/2006:15:04:05 -0700")
		}
		return AppendStrftime(b, o.Strftime, start)
	case "tmsecs":
		return strconv.AppendInt(b, start.UnixMilli(), 10)
	case "tmicros":
		return strconv.AppendInt(b, start.UnixMicro(), 10)
	case "size", "rsize":
		return strconv.AppendInt(b, size, 10)
	case "cl":
		return strconv.AppendInt(b, max(r.ContentLength, 0), 10)
	case "pid":
		return strconv.AppendInt(b, int64(pid), 10)
	case "wid", "hsize", "headers", "vars", "pktsize", "switches", "core", "vsz", "rss", "vszM", "rssM",
		"modifier1", "modifier2", "rerr", "werr", "ioerr":
		return append(b, '0')
	}
	if v, ok := strings.CutPrefix(name, "var."); ok {
		return append(b, requestVar(r, v)...)
	}
	if v, ok := strings.CutPrefix(name, "json_"); ok {
		// The escape_json plugin's variables: the value, JSON-escaped
		// without its quotes.
		inner := appendLogVar(nil, v, r, status, size, d, start, pid, o)
		q, _ := json.Marshal(string(inner))
		return append(b, q[1:len(q)-1]...)
	}
	if strings.HasPrefix(name, "metric.") {
		return append(b, '0')
	}
	return b // a user-defined logvar: none in gowsgi
}

func requestURI(r *http.Request) string {
	if r.RequestURI != "" {
		return r.RequestURI
	}
	if r.URL != nil {
		return r.URL.RequestURI()
	}
	return ""
}

// requestVar is a CGI variable of the request, as %(var.NAME) reads it.
func requestVar(r *http.Request, name string) string {
	switch name {
	case "REQUEST_METHOD":
		return r.Method
	case "REQUEST_URI":
		return requestURI(r)
	case "PATH_INFO":
		return r.URL.Path
	case "QUERY_STRING":
		return r.URL.RawQuery
	case "REMOTE_ADDR":
		return remoteHost(r)
	case "SERVER_PROTOCOL":
		return r.Proto
	case "CONTENT_TYPE":
		return r.Header.Get("Content-Type")
	case "CONTENT_LENGTH":
		if r.ContentLength > 0 {
			return strconv.FormatInt(r.ContentLength, 10)
		}
		return ""
	}
	if h, ok := strings.CutPrefix(name, "HTTP_"); ok {
		if h == "HOST" {
			return r.Host
		}
		return r.Header.Get(strings.ReplaceAll(h, "_", "-"))
	}
	return ""
}

// AppendStrftime writes t with a C strftime format: the conversions log
// dates use (%Y %m %d %H %M %S %y %b %B %a %A %e %j %p %z %Z %s %T %F %D %c
// %%); any other is written as it is.
func AppendStrftime(b []byte, format string, t time.Time) []byte {
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 == len(format) {
			b = append(b, c)
			continue
		}
		i++
		switch format[i] {
		case 'Y':
			b = t.AppendFormat(b, "2006")
		case 'y':
			b = t.AppendFormat(b, "06")
		case 'm':
			b = t.AppendFormat(b, "01")
		case 'd':
			b = t.AppendFormat(b, "02")
		case 'e':
			b = t.AppendFormat(b, "_2")
		case 'H':
			b = t.AppendFormat(b, "15")
		case 'I':
			b = t.AppendFormat(b, "03")
		case 'M':
			b = t.AppendFormat(b, "04")
		case 'S':
			b = t.AppendFormat(b, "05")
		case 'b', 'h':
			b = t.AppendFormat(b, "Jan")
		case 'B':
			b = t.AppendFormat(b, "January")
		case 'a':
			b = t.AppendFormat(b, "Mon")
		case 'A':
			b = t.AppendFormat(b, "Monday")
		case 'p':
			b = t.AppendFormat(b, "PM")
		case 'z':
			b = t.AppendFormat(b, "-0700")
		case 'Z':
			b = t.AppendFormat(b, "MST")
		case 'j':
			b = t.AppendFormat(b, "002")
		case 's':
			b = strconv.AppendInt(b, t.Unix(), 10)
		case 'T':
			b = t.AppendFormat(b, "15:04:05")
		case 'F':
			b = t.AppendFormat(b, "2006-01-02")
		case 'D':
			b = t.AppendFormat(b, "01/02/06")
		case 'c':
			b = t.AppendFormat(b, "Mon Jan _2 15:04:05 2006")
		case '%':
			b = append(b, '%')
		default:
			b = append(b, '%', format[i])
		}
	}
	return b
}
