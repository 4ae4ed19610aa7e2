package gateway

// This file holds the access log formats log-format chooses from: uwsgi
// (gowsgi's default line), combined (Apache's, what log analysers read) and
// json (one object a line, through log/slog).

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"
)

// FormatFunc turns a request into one access log line, without the newline.
type FormatFunc = func(dst []byte, r *http.Request, status int, size int64, d time.Duration, pid, gen int) []byte

// AccessFormat returns the format called name: "uwsgi" (or "", the
// default; nil is returned and AccessLog uses its own), "combined" or
// "json".
func AccessFormat(name string) (FormatFunc, error) {
	switch name {
	case "", "uwsgi":
		return nil, nil
	case "combined":
		return combinedFormat, nil
	case "json":
		return jsonFormat, nil
	}
	return nil, fmt.Errorf("unknown log format %q: use uwsgi, combined or json", name)
}

// appendRequestStatus appends what the uwsgi, combined and runserver lines
// share after the time: `] "GET /items/ HTTP/1.1" 200 `.
func appendRequestStatus(b []byte, r *http.Request, status int) []byte {
	b = append(b, "] \""...)
	b = append(b, r.Method...)
	b = append(b, ' ')
	b = append(b, r.RequestURI...)
	b = append(b, ' ')
	b = append(b, r.Proto...)
	b = append(b, "\" "...)
	b = strconv.AppendInt(b, int64(status), 10)
	return append(b, ' ')
}

func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if host == "" {
		host = "-"
	}
	return host
}

// combinedFormat is Apache's combined log format:
//
//	127.0.0.1 - - [24/Nov/2026:16:29:46 +0000] "GET /items/ HTTP/1.1" 200 512 "-" "curl/8.5.0"
func combinedFormat(b []byte, r *http.Request, status int, size int64, d time.Duration, pid, gen int) []byte {
	b = append(b, remoteHost(r)...)
	b = append(b, " - - ["...)
	b = time.Now().AppendFormat(b, "02/Jan/2006:15:04:05 -0700")
	b = appendRequestStatus(b, r, status)
	if size == 0 {
		b = append(b, '-')
	} else {
		b = strconv.AppendInt(b, size, 10)
	}
	b = append(b, ' ')
	b = appendQuoted(b, r.Referer())
	b = append(b, ' ')
	b = appendQuoted(b, r.UserAgent())
	return b
}

// appendQuoted writes s in double quotes, "-" when empty, with quotes,
// backslashes and control characters escaped so a line stays one line.
func appendQuoted(b []byte, s string) []byte {
	if s == "" {
		return append(b, `"-"`...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 || c == 0x7f:
			b = append(b, `\x`...)
			b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// jsonFormat writes one JSON object through slog's JSON handler:
//
//	{"time":"2026-11-24T16:29:46.1Z","level":"INFO","msg":"request","method":"GET","path":"/items/","status":200,"bytes":512,"duration_ms":1.84,"remote":"127.0.0.1","pid":4121,"generation":1}
func jsonFormat(b []byte, r *http.Request, status int, size int64, d time.Duration, pid, gen int) []byte {
	buf := bytes.NewBuffer(b)
	h := slog.NewJSONHandler(buf, nil)
	rec := slog.NewRecord(time.Now(), slog.LevelInfo, "request", 0)
	path := r.RequestURI
	if path == "" && r.URL != nil {
		path = r.URL.Path
	}
	rec.AddAttrs(
		slog.String("method", r.Method),
		slog.String("path", path),
		slog.Int("status", status),
		slog.Int64("bytes", size),
		slog.Float64("duration_ms", float64(d.Microseconds())/1000),
		slog.String("remote", remoteHost(r)),
		slog.Int("pid", pid),
		slog.Int("generation", gen),
	)
	h.Handle(context.Background(), rec)
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})
}
