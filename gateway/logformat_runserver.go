package gateway

// This file is the access log format of `gowsgi dev`: runserver's lines,
// so a developer's eyes and tools find what they know.

import (
	"net/http"
	"strconv"
	"time"
)

// RunserverFormat writes request lines as runserver does, coloured by
// status when color is on:
//
//	[24/Nov/2026 16:29:46] "GET /items/ HTTP/1.1" 200 512
func RunserverFormat(color bool) FormatFunc {
	return func(b []byte, r *http.Request, status int, size int64, d time.Duration, pid, gen int) []byte {
		code := ""
		if color {
			switch {
			case status >= 500:
				code = "\x1b[1;31m" // bold red
			case status >= 400:
				code = "\x1b[31m" // red
			case status == 304:
				code = "\x1b[36m" // cyan
			case status >= 300:
				code = "\x1b[32m" // green
			}
		}
		b = append(b, code...)
		b = append(b, '[')
		b = time.Now().AppendFormat(b, "02/Jan/2006 15:04:05")
		b = appendRequestStatus(b, r, status)
		b = strconv.AppendInt(b, size, 10)
		if code != "" {
			b = append(b, "\x1b[0m"...)
		}
		return b
	}
}
