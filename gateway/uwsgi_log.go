package gateway

// This file gives a uwsgi request the shape the access log formats: the
// log's Format hook takes an *http.Request, so a uwsgi request is logged
// through a minimal one built from its vars, and both listeners' lines read
// (and parse) alike.

import (
	"net/http"
	"net/url"
)

// httpRequest returns the fields of r that an access log format reads:
// Method, RequestURI, Proto, Host, RemoteAddr and URL.Path.
func (r *uwsgiRequest) httpRequest() *http.Request {
	proto := r.proto
	if proto == "" {
		proto = "HTTP/1.1"
	}
	major, minor, ok := http.ParseHTTPVersion(proto)
	if !ok {
		major, minor = 1, 1
	}
	return &http.Request{
		Method:     r.method,
		RequestURI: r.uri,
		Proto:      proto,
		ProtoMajor: major,
		ProtoMinor: minor,
		Host:       r.host,
		RemoteAddr: r.remoteAddr,
		URL:        &url.URL{Path: r.path},
		Header:     http.Header{},
	}
}
