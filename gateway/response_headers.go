package gateway

// This file adds configured headers to every app response (uWSGI's
// add-header = Name: value): on the uwsgi listener they are appended to
// the app's headers as they are written; the HTTP listener gets them from
// AddHeaders, which also covers static files and error pages.

import (
	"errors"
	"net/http"
	"net/textproto"
	"strings"

	"github.com/gowsgi/gowsgi/pyworker"
)

// ResponseHeaders are extra headers for every response, in order.
type ResponseHeaders [][2]string

// ParseResponseHeaders reads add-header values, "Name: value" each.
func ParseResponseHeaders(lines []string) (ResponseHeaders, error) {
	var h ResponseHeaders
	for _, l := range lines {
		name, value, ok := strings.Cut(l, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || !validHeaderName(name) || strings.ContainsAny(value, "\r\n\x00") {
			return nil, errors.New("add-header " + l + ": not Name: value")
		}
		h = append(h, [2]string{name, value})
	}
	return h, nil
}

// AddHeaders wraps next so that every response carries h; Connection:
// close makes net/http close the connection after the response, as uWSGI
// does when told so.
func AddHeaders(h ResponseHeaders, next http.Handler) http.Handler {
	if len(h) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		for _, kv := range h {
			hd.Add(kv[0], kv[1])
		}
		next.ServeHTTP(w, r)
	})
}

// wrap returns out with h appended to the app's headers. Hop-by-hop
// headers are left out: nginx drops them from a uwsgi response anyway.
func (h ResponseHeaders) wrap(out pyworker.Responder) pyworker.Responder {
	if len(h) == 0 {
		return out
	}
	return &headerResponder{Responder: out, extra: h}
}

type headerResponder struct {
	pyworker.Responder
	extra ResponseHeaders
}

func (r *headerResponder) Start(status string, headers [][2]string) error {
	all := append([][2]string(nil), headers...)
	for _, kv := range r.extra {
		if !hopByHop[textproto.CanonicalMIMEHeaderKey(kv[0])] {
			all = append(all, kv)
		}
	}
	return r.Responder.Start(status, all)
}
