package gateway

// This file holds what every wire format answers alike: the checks of the
// app's status and headers (PEP 3333), the error pages, and an
// http.ResponseWriter over any wire for the code that writes through
// net/http's interface (static files, the dev-mode error page).

import (
	"fmt"
	"net/http"
	"net/textproto"
	"sort"
	"strconv"
	"strings"
)

// checkAppResponse checks the app's status line and headers and returns
// the status code. Its errors name the rule of PEP 3333 broken; the request
// then fails with a 500 that the log explains.
func checkAppResponse(status string, headers [][2]string) (int, error) {
	code, err := parseStatus(status)
	if err != nil {
		return 0, err
	}
	if strings.ContainsAny(status, "\r\n\x00") {
		// The HTTP listener sends only the code, but the uwsgi listener
		// sends the app's own line: it must not carry a line break.
		return 0, fmt.Errorf("status %q has a CR, LF or NUL (PEP 3333 forbids control characters)", status)
	}
	for _, kv := range headers {
		name, value := kv[0], kv[1]
		if !validHeaderName(name) {
			return 0, fmt.Errorf("header name %q is not a valid token (PEP 3333)", name)
		}
		if strings.ContainsAny(value, "\r\n\x00") {
			return 0, fmt.Errorf("header %s has a CR, LF or NUL in its value (PEP 3333 forbids control characters)", name)
		}
		if isHopByHop(name) {
			return 0, fmt.Errorf("hop-by-hop header %s is not allowed from a WSGI app (PEP 3333)", name)
		}
	}
	return code, nil
}

func parseStatus(s string) (int, error) {
	if len(s) < 4 || s[3] != ' ' {
		return 0, fmt.Errorf("status %q is not \"NNN Reason\" (PEP 3333)", s)
	}
	code, err := strconv.Atoi(s[:3])
	if err != nil || code < 100 {
		return 0, fmt.Errorf("status %q does not start with a 3-digit code (PEP 3333)", s)
	}
	return code, nil
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenChar[s[i]] {
			return false
		}
	}
	return true
}

// tokenChar holds the bytes of an RFC 9110 token: visible ASCII but the
// separators. A table, not a search of the separators per byte: this runs
// for every header of every answer.
var tokenChar = func() (t [256]bool) {
	for c := byte('!'); c <= '~'; c++ {
		t[c] = strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) < 0
	}
	return t
}()

// isHopByHop reports whether an app's header name is one of hopByHop, in
// any case. Only names of those lengths are canonicalized and looked up.
func isHopByHop(name string) bool {
	switch len(name) {
	case len("Te"), len("Upgrade"), len("Connection"), len("Proxy-Connection"), len("Transfer-Encoding"):
		return hopByHop[textproto.CanonicalMIMEHeaderKey(name)]
	}
	return false
}

var errorPages = map[int]string{
	http.StatusBadRequest:                  "400 Bad Request\n",
	http.StatusRequestTimeout:              "408 Request Timeout\n",
	http.StatusRequestEntityTooLarge:       "413 Request Entity Too Large\n",
	http.StatusRequestHeaderFieldsTooLarge: "431 Request Header Fields Too Large\n",
	http.StatusNotImplemented:              "501 Not Implemented\n\nThe request's Transfer-Encoding is not one gowsgi implements (only chunked).\n",
	http.StatusHTTPVersionNotSupported:     "505 HTTP Version Not Supported\n",
	http.StatusInternalServerError:         "500 Internal Server Error\n\nThe application raised an exception; the traceback is in the gowsgi log.\n",
	http.StatusBadGateway:                  "502 Bad Gateway\n\nThe worker handling this request died; the gowsgi log says why.\n",
	http.StatusServiceUnavailable:          "503 Service Unavailable\n\nNo worker could take this request.\n",
	http.StatusGatewayTimeout:              "504 Gateway Timeout\n\nThe request ran past the harakiri limit and its worker was replaced.\n",
}

// errorPageHeaders are the headers of the error page msg.
func errorPageHeaders(msg string) [][2]string {
	return [][2]string{{"Content-Type", "text/plain; charset=utf-8"}, {"Content-Length", strconv.Itoa(len(msg))}}
}

// closesConnection reports whether an error page must end its connection:
// what is left of such a request cannot be trusted to frame the next one.
func closesConnection(code int) bool {
	switch code {
	case http.StatusBadRequest, http.StatusRequestTimeout, http.StatusRequestEntityTooLarge, http.StatusRequestHeaderFieldsTooLarge,
		http.StatusHTTPVersionNotSupported:
		return true
	}
	return false
}

// answerWriter is an http.ResponseWriter (and http.Flusher) that writes
// through a wire: headers are collected in a map, as net/http does, and go
// out in one writeHead, sorted by name.
type answerWriter struct {
	w       wire
	header  http.Header
	written bool
}

func (aw *answerWriter) Header() http.Header {
	if aw.header == nil {
		aw.header = http.Header{}
	}
	return aw.header
}

func (aw *answerWriter) WriteHeader(code int) {
	if aw.written {
		return
	}
	aw.written = true
	names := make([]string, 0, len(aw.header))
	for k := range aw.header {
		names = append(names, k)
	}
	sort.Strings(names)
	var hdr [][2]string
	for _, k := range names {
		for _, v := range aw.header[k] {
			hdr = append(hdr, [2]string{k, v})
		}
	}
	aw.w.writeHead(code, "", hdr)
}

func (aw *answerWriter) Write(p []byte) (int, error) {
	if !aw.written {
		aw.WriteHeader(http.StatusOK)
	}
	return aw.w.writeBody(p)
}

func (aw *answerWriter) Flush() { aw.w.flush() }
