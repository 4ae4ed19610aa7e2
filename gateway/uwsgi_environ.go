package gateway

// This file turns the vars of a uwsgi packet into the same PEP 3333 environ
// the HTTP listener builds (environ.go): nginx has already parsed the
// request, so most keys pass through; what is hop-by-hop is dropped and what
// nginx may leave out is filled in.

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gowsgi/gowsgi/pyworker"
)

// uwsgiRequest is what the server needs to know of a request besides its
// encoded environ: the body's length, and the facts of the access log line.
type uwsgiRequest struct {
	method     string
	uri        string // REQUEST_URI, or SCRIPT_NAME+PATH_INFO[?QUERY_STRING] without one
	path       string // SCRIPT_NAME+PATH_INFO, for logs
	proto      string
	host       string
	remoteAddr string // host:port, as http.Request.RemoteAddr
	// contentLength is CONTENT_LENGTH, -1 when the packet has none (or an
	// empty one, as nginx's uwsgi_params sends for a request without body).
	contentLength int64
}

// uwsgiHopByHop are the HTTP_* vars of hop-by-hop request headers: they
// describe nginx's connection with its client, not the request. Issue:
// HTTP_CONTENT_TYPE and HTTP_CONTENT_LENGTH are dropped as well: nginx sends
// every request header as HTTP_*, and PEP 3333 (wsgiref.validate asserts it)
// allows these two only as CONTENT_TYPE and CONTENT_LENGTH.
var uwsgiHopByHop = map[string]bool{
	"HTTP_CONNECTION": true, "HTTP_KEEP_ALIVE": true, "HTTP_TE": true, "HTTP_TRAILER": true,
	"HTTP_TRANSFER_ENCODING": true, "HTTP_UPGRADE": true,
	"HTTP_CONTENT_TYPE": true, "HTTP_CONTENT_LENGTH": true,
}

// appendUwsgiEnviron encodes the environ of a request from its packet vars
// onto dst and fills req. local and remote are the connection's addresses,
// used only when nginx did not send SERVER_NAME/SERVER_PORT or
// REMOTE_ADDR/REMOTE_PORT. Errors wrap ErrBadRequest.
//
// What comes from where:
//   - REQUEST_METHOD, PATH_INFO, QUERY_STRING, REQUEST_URI, SERVER_PROTOCOL,
//     SERVER_NAME, SERVER_PORT, REMOTE_ADDR, REMOTE_PORT, CONTENT_TYPE,
//     CONTENT_LENGTH: nginx's uwsgi_params (the last two left out when
//     empty, as the HTTP listener does).
//   - SCRIPT_NAME: the packet's, else e.ScriptName when PATH_INFO is under
//     it (then stripped from PATH_INFO, as the HTTP listener does), else "".
//   - wsgi.url_scheme: UWSGI_SCHEME (uWSGI's own), else REQUEST_SCHEME,
//     else HTTPS=on|1, else e.Scheme, else "http".
//   - HTTP_*: the request headers, less the hop-by-hop ones, HTTP_PROXY_*
//     and those the Connection header names. nginx before 1.23 sends a
//     repeated header once per line; they are joined with ", " ("; " for
//     Cookie) as net/http's headers are.
//   - wsgi.*: dropped; the Python runtime sets them.
//   - anything else (DOCUMENT_ROOT, REQUEST_SCHEME, HTTPS, UWSGI_*, a
//     custom uwsgi_param): passed through as it is.
func (e *Environ) appendUwsgiEnviron(dst []byte, vars []uwsgiVar, local, remote net.Addr, req *uwsgiRequest) ([]byte, error) {
	var (
		cgi     uwsgiCGI
		connHdr []string // Connection header values
	)
	for _, v := range vars {
		if i := uwsgiCGIIndex(v.key); i >= 0 {
			cgi.val[i], cgi.has[i] = v.value, true
		}
		if v.key == "HTTP_CONNECTION" {
			connHdr = append(connHdr, v.value)
		}
	}
	get := func(key string) string { return cgi.val[uwsgiCGIIndex(key)] }
	has := func(key string) bool { return cgi.has[uwsgiCGIIndex(key)] }

	req.method = get("REQUEST_METHOD")
	if req.method == "" {
		return nil, fmt.Errorf("%w: uwsgi packet without REQUEST_METHOD (is `include uwsgi_params;` in the nginx location?)", ErrBadRequest)
	}
	req.contentLength = -1
	if cl := get("CONTENT_LENGTH"); cl != "" {
		n, err := strconv.ParseInt(cl, 10, 64)
		if err != nil || n < 0 || cl[0] < '0' || cl[0] > '9' {
			return nil, fmt.Errorf("%w: CONTENT_LENGTH %q is not a length", ErrBadRequest, cl)
		}
		req.contentLength = n
	}

	uri := get("REQUEST_URI")
	path, query := get("PATH_INFO"), get("QUERY_STRING")
	if !has("PATH_INFO") || !has("QUERY_STRING") {
		// Only a frontend other than nginx's uwsgi_params gets here.
		u, err := url.ParseRequestURI(uri)
		if uri != "" && err != nil {
			return nil, fmt.Errorf("%w: REQUEST_URI %q: %v", ErrBadRequest, uri, err)
		}
		if u != nil && !has("PATH_INFO") {
			path = u.Path
		}
		if u != nil && !has("QUERY_STRING") {
			query = u.RawQuery
		}
	}
	script, hasScript := get("SCRIPT_NAME"), has("SCRIPT_NAME")
	if !hasScript {
		script, path = splitScriptName(e.ScriptName, path)
	}
	if strings.IndexByte(uri, 0) >= 0 || strings.IndexByte(path, 0) >= 0 {
		return nil, fmt.Errorf("%w: NUL in the request path", ErrBadRequest)
	}
	req.path = script + path
	req.uri = uri
	if uri == "" {
		req.uri = req.path
		if query != "" {
			req.uri += "?" + query
		}
	}

	scheme := e.Scheme
	switch {
	case isScheme(get("UWSGI_SCHEME")):
		scheme = get("UWSGI_SCHEME")
	case isScheme(get("REQUEST_SCHEME")):
		scheme = get("REQUEST_SCHEME")
	case strings.EqualFold(get("HTTPS"), "on") || get("HTTPS") == "1":
		scheme = "https"
	case scheme == "":
		scheme = "http"
	}

	req.proto = get("SERVER_PROTOCOL")
	if req.proto == "" {
		req.proto = "HTTP/1.1"
	}
	req.host = get("HTTP_HOST")
	serverName, serverPort := get("SERVER_NAME"), get("SERVER_PORT")
	if serverName == "" || serverPort == "" {
		host, port := serverAddr(req.host, local, scheme)
		if serverName == "" {
			serverName = host
		}
		if serverPort == "" {
			serverPort = port
		}
	}
	raddr, rport := get("REMOTE_ADDR"), get("REMOTE_PORT")
	if raddr == "" && remote != nil && remote.Network() != "unix" {
		raddr, rport = splitHostPort(remote.String())
	}
	req.remoteAddr = raddr
	if rport != "" {
		req.remoteAddr = net.JoinHostPort(raddr, rport)
	}

	dst = pyworker.AppendEnviron(dst, "REQUEST_METHOD", req.method)
	dst = pyworker.AppendEnviron(dst, "SCRIPT_NAME", script)
	dst = pyworker.AppendEnviron(dst, "PATH_INFO", path)
	dst = pyworker.AppendEnviron(dst, "QUERY_STRING", query)
	if uri != "" {
		dst = pyworker.AppendEnviron(dst, "REQUEST_URI", uri)
	}
	dst = pyworker.AppendEnviron(dst, "SERVER_PROTOCOL", req.proto)
	dst = pyworker.AppendEnviron(dst, "wsgi.url_scheme", scheme)
	dst = pyworker.AppendEnviron(dst, "SERVER_NAME", serverName)
	dst = pyworker.AppendEnviron(dst, "SERVER_PORT", serverPort)
	dst = pyworker.AppendEnviron(dst, "REMOTE_ADDR", raddr)
	if rport != "" {
		dst = pyworker.AppendEnviron(dst, "REMOTE_PORT", rport)
	}
	if ct := get("CONTENT_TYPE"); ct != "" {
		dst = pyworker.AppendEnviron(dst, "CONTENT_TYPE", ct)
	}
	if req.contentLength >= 0 {
		dst = pyworker.AppendEnviron(dst, "CONTENT_LENGTH", get("CONTENT_LENGTH"))
	}

	// The other vars, in packet order, with repeated HTTP_* joined into the
	// first: one pass collects them, a second encodes. A repeat is looked
	// for in what was collected: a request has a few dozen vars, and a map
	// here was an allocation for every nginx request. A packet of thousands
	// (buffer-size allows 64 KiB) would make that search quadratic, so past
	// the stack array the kept vars are indexed by a map.
	var kept [32]uwsgiVar
	rest := kept[:0]
	var index map[string]int
	var repeats map[int][]string // the values joined into rest[i], joined once at the end
	for _, v := range vars {
		switch {
		case uwsgiCGIIndex(v.key) >= 0 && uwsgiCGIIndex(v.key) < uwsgiPassed:
			continue // encoded above
		case strings.HasPrefix(v.key, "wsgi."):
			continue
		case strings.HasPrefix(v.key, "HTTP_"):
			if uwsgiHopByHop[v.key] || strings.HasPrefix(v.key, "HTTP_PROXY_") || namedInCGI(connHdr, v.key) {
				continue
			}
			if i := uwsgiVarIndex(rest, index, v.key); i >= 0 {
				// Appended to the value at each repeat, thousands of repeats
				// (a 64 KiB packet) copied megabytes.
				if repeats == nil {
					repeats = map[int][]string{}
				}
				if repeats[i] == nil {
					repeats[i] = []string{rest[i].value}
				}
				repeats[i] = append(repeats[i], v.value)
				continue
			}
		}
		if index == nil && len(rest) == len(kept) {
			index = make(map[string]int, 2*len(kept))
			for i, k := range rest {
				if _, dup := index[k.key]; !dup {
					index[k.key] = i
				}
			}
		}
		if index != nil {
			if _, dup := index[v.key]; !dup {
				index[v.key] = len(rest)
			}
		}
		rest = append(rest, v)
	}
	for i, v := range rest {
		if r := repeats[i]; r != nil {
			sep := ", "
			if v.key == "HTTP_COOKIE" {
				sep = "; "
			}
			v.value = strings.Join(r, sep)
		}
		dst = pyworker.AppendEnviron(dst, v.key, v.value)
	}
	return dst, nil
}

// uwsgiVarIndex is the index of the first var named key in vars, or -1:
// looked up in index when there is one (it then holds every key of vars),
// else searched for.
func uwsgiVarIndex(vars []uwsgiVar, index map[string]int, key string) int {
	if index != nil {
		if i, ok := index[key]; ok {
			return i
		}
		return -1
	}
	for i, v := range vars {
		if v.key == key {
			return i
		}
	}
	return -1
}

// uwsgiCGINames are the vars the environ is built from, by index: those
// before uwsgiPassed are encoded on their own, the others are read and also
// passed through.
var uwsgiCGINames = [...]string{
	"REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "REQUEST_URI",
	"SERVER_PROTOCOL", "SERVER_NAME", "SERVER_PORT", "REMOTE_ADDR", "REMOTE_PORT",
	"CONTENT_TYPE", "CONTENT_LENGTH",
	"UWSGI_SCHEME", "REQUEST_SCHEME", "HTTPS", "HTTP_HOST",
}

const uwsgiPassed = 12

// uwsgiCGI holds the values of uwsgiCGINames found in a packet.
type uwsgiCGI struct {
	val [len(uwsgiCGINames)]string
	has [len(uwsgiCGINames)]bool
}

// uwsgiCGIIndex is key's index in uwsgiCGINames, or -1: a switch, which
// the compiler turns into a search by length and bytes, where a loop over
// the names compared each var with all 16 (a third of the time
// appendUwsgiEnviron took behind nginx). TestUwsgiCGIIndex holds it to
// uwsgiCGINames.
func uwsgiCGIIndex(key string) int {
	switch key {
	case "REQUEST_METHOD":
		return 0
	case "SCRIPT_NAME":
		return 1
	case "PATH_INFO":
		return 2
	case "QUERY_STRING":
		return 3
	case "REQUEST_URI":
		return 4
	case "SERVER_PROTOCOL":
		return 5
	case "SERVER_NAME":
		return 6
	case "SERVER_PORT":
		return 7
	case "REMOTE_ADDR":
		return 8
	case "REMOTE_PORT":
		return 9
	case "CONTENT_TYPE":
		return 10
	case "CONTENT_LENGTH":
		return 11
	case "UWSGI_SCHEME":
		return 12
	case "REQUEST_SCHEME":
		return 13
	case "HTTPS":
		return 14
	case "HTTP_HOST":
		return 15
	}
	return -1
}

func isScheme(s string) bool { return s == "http" || s == "https" }

// namedInCGI reports whether the Connection header values list the header
// whose CGI name is key ("HTTP_X_CONN_ONLY" for "X-Conn-Only").
func namedInCGI(conn []string, key string) bool {
	for _, v := range conn {
		for _, tok := range strings.Split(v, ",") {
			if tok = strings.TrimSpace(tok); tok != "" && cgiName(tok) == key {
				return true
			}
		}
	}
	return false
}

// uwsgiRequestHeaders are the request headers a uwsgi request's
// http.Request carries, by their vars: those that static files
// (conditional and range requests) and the access log formats read.
var uwsgiRequestHeaders = map[string]string{
	"HTTP_USER_AGENT": "User-Agent", "HTTP_REFERER": "Referer",
	"HTTP_RANGE": "Range", "HTTP_IF_RANGE": "If-Range",
	"HTTP_IF_MODIFIED_SINCE": "If-Modified-Since", "HTTP_IF_UNMODIFIED_SINCE": "If-Unmodified-Since",
	"HTTP_IF_NONE_MATCH": "If-None-Match", "HTTP_IF_MATCH": "If-Match",
}

// httpRequest returns r as the request pipeline's *http.Request (the
// access log, static mounts and the Unavailable hook read it): Method,
// RequestURI, Proto, Host, RemoteAddr, URL.Path, and the headers of
// uwsgiRequestHeaders found in vars. So both listeners' log lines read (and
// parse) alike, Referer and User-Agent included.
func (r *uwsgiRequest) httpRequest(vars []uwsgiVar, into *uwsgiScratch) *http.Request {
	if into == nil {
		into = new(uwsgiScratch)
	}
	proto := r.proto
	if proto == "" {
		proto = "HTTP/1.1"
	}
	major, minor, ok := http.ParseHTTPVersion(proto)
	if !ok {
		major, minor = 1, 1
	}
	h := into.header
	clear(h)
	found := 0
	for _, v := range vars {
		if !strings.HasPrefix(v.key, "HTTP_") {
			continue // not one of uwsgiRequestHeaders: no hash of it
		}
		if name, ok := uwsgiRequestHeaders[v.key]; ok {
			if h == nil {
				h = make(http.Header, 4)
				into.header = h
			}
			if vs := h[name]; vs != nil || found == len(into.values) {
				h[name] = append(vs, v.value) // a repeated header
			} else {
				into.values[found] = v.value
				h[name] = into.values[found : found+1 : found+1]
				found++
			}
		}
	}
	if found == 0 {
		h = nil
	}
	into.url = url.URL{Path: r.path}
	into.req = http.Request{
		Method:     r.method,
		RequestURI: r.uri,
		Proto:      proto,
		ProtoMajor: major,
		ProtoMinor: minor,
		Host:       r.host,
		RemoteAddr: r.remoteAddr,
		URL:        &into.url,
		Header:     h,
	}
	return &into.req
}

// uwsgiScratch holds what httpRequest makes of a uwsgi request: an engine
// thread keeps one and reuses it for each of its requests (nothing keeps
// a request past its answer: the access log line is written as it ends),
// where the http.Request, its URL and its Header were three allocations
// for every nginx request.
type uwsgiScratch struct {
	req    http.Request
	url    url.URL
	header http.Header
	values [8]string // backs header's values: one for each of uwsgiRequestHeaders
}
