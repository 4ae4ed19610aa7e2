package gateway

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/gowsgi/gowsgi/pyworker"
)

// ErrBadRequest is wrapped by environ errors that deserve a 400.
var ErrBadRequest = errors.New("bad request")

// hopByHop are the request headers that describe one connection, not the
// request; they are stripped before the environ is built (PEP 3333 leaves
// them to the server).
var hopByHop = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Te": true,
	"Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

// cgiNames caches "HTTP_ACCEPT_ENCODING" for "Accept-Encoding" for the
// headers nearly every request carries, to save an allocation per header.
var cgiNames = func() map[string]string {
	m := map[string]string{}
	for _, h := range []string{"Accept", "Accept-Encoding", "Accept-Language", "Cache-Control",
		"Cookie", "Origin", "Pragma", "Referer", "User-Agent", "X-Forwarded-For", "X-Forwarded-Proto",
		"X-Forwarded-Host", "X-Real-Ip", "X-Requested-With", "X-Csrftoken", "Authorization",
		"If-Modified-Since", "If-None-Match", "Sec-Fetch-Mode", "Sec-Fetch-Site", "Sec-Fetch-Dest",
		"Upgrade-Insecure-Requests", "Dnt", "Priority", "Expect", "Range", "Forwarded"} {
		m[h] = cgiName(h)
	}
	return m
}()

func cgiName(h string) string {
	b := make([]byte, 0, len(h)+5)
	b = append(b, "HTTP_"...)
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c == '-':
			c = '_'
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		}
		b = append(b, c)
	}
	return string(b)
}

// Environ describes what of the environ does not come from the request.
type Environ struct {
	ScriptName string // the mount point, "" for the root
	Scheme     string // "http" or "https"
	// LocalAddr is the listener's address, for SERVER_NAME/SERVER_PORT when
	// the request has no Host.
	LocalAddr net.Addr
	// Proxies says whose X-Forwarded-* and Forwarded headers count; nil is
	// DefaultProxies (loopback).
	Proxies *Proxies
}

// AppendEnviron encodes the PEP 3333 environ of r (the CGI keys and
// wsgi.url_scheme; the Python runtime adds the other wsgi.* keys) onto dst.
func (e *Environ) AppendEnviron(dst []byte, r *http.Request) ([]byte, error) {
	path := r.URL.Path
	if r.URL.Opaque != "" {
		return nil, fmt.Errorf("%w: opaque request target %q", ErrBadRequest, r.RequestURI)
	}
	if strings.IndexByte(path, 0) >= 0 || strings.IndexByte(r.RequestURI, 0) >= 0 {
		return nil, fmt.Errorf("%w: NUL in the request path", ErrBadRequest)
	}
	script, path := splitScriptName(e.ScriptName, path)
	dst = pyworker.AppendEnviron(dst, "REQUEST_METHOD", r.Method)
	dst = pyworker.AppendEnviron(dst, "SCRIPT_NAME", script)
	dst = pyworker.AppendEnviron(dst, "PATH_INFO", path)
	dst = pyworker.AppendEnviron(dst, "QUERY_STRING", r.URL.RawQuery)
	dst = pyworker.AppendEnviron(dst, "REQUEST_URI", r.RequestURI)
	dst = pyworker.AppendEnviron(dst, "SERVER_PROTOCOL", r.Proto)
	proxies := e.Proxies
	if proxies == nil {
		proxies = &DefaultProxies
	}
	raddr, rport := splitHostPort(r.RemoteAddr)
	unixPeer := e.LocalAddr != nil && e.LocalAddr.Network() == "unix"
	fwd, trusted := proxies.resolve(r, raddr, unixPeer)
	scheme, hostHeader := e.Scheme, r.Host
	if trusted {
		if fwd.addr != "" {
			raddr = fwd.addr
		}
		if fwd.scheme == "http" || fwd.scheme == "https" {
			scheme = fwd.scheme
		}
		if fwd.host != "" && !strings.ContainsAny(fwd.host, " /\x00") {
			hostHeader = fwd.host
		}
	}
	dst = pyworker.AppendEnviron(dst, "wsgi.url_scheme", scheme)

	host, port := serverAddr(hostHeader, e.LocalAddr, scheme)
	dst = pyworker.AppendEnviron(dst, "SERVER_NAME", host)
	dst = pyworker.AppendEnviron(dst, "SERVER_PORT", port)
	dst = pyworker.AppendEnviron(dst, "REMOTE_ADDR", raddr)
	dst = pyworker.AppendEnviron(dst, "REMOTE_PORT", rport)
	if hostHeader != "" {
		dst = pyworker.AppendEnviron(dst, "HTTP_HOST", hostHeader)
	}
	if r.ContentLength > 0 || (r.ContentLength == 0 && len(r.Header["Content-Length"]) > 0) {
		dst = pyworker.AppendEnviron(dst, "CONTENT_LENGTH", strconv.FormatInt(r.ContentLength, 10))
	}
	connTokens := r.Header["Connection"]
	for name, values := range r.Header {
		switch {
		case name == "Content-Length":
			continue
		case name == "Content-Type":
			dst = pyworker.AppendEnviron(dst, "CONTENT_TYPE", joinValues(name, values))
			continue
		case hopByHop[name], strings.HasPrefix(name, "Proxy-"):
			continue
		case strings.IndexByte(name, '_') >= 0:
			// "X_Forwarded_For" would become HTTP_X_FORWARDED_FOR and
			// shadow the real X-Forwarded-For: drop it, as nginx does.
			continue
		case len(connTokens) > 0 && namedIn(connTokens, name):
			continue
		case !trusted && forwardingHeaders[name]:
			// Only a trusted proxy may say who the client is.
			continue
		}
		key, ok := cgiNames[name]
		if !ok {
			key = cgiName(name)
		}
		dst = pyworker.AppendEnviron(dst, key, joinValues(name, values))
	}
	return dst, nil
}

func joinValues(name string, values []string) string {
	if len(values) == 1 {
		return values[0]
	}
	if name == "Cookie" {
		return strings.Join(values, "; ")
	}
	return strings.Join(values, ", ")
}

// namedIn reports whether the Connection header lists name as hop-by-hop.
func namedIn(conn []string, name string) bool {
	for _, v := range conn {
		for _, tok := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), name) {
				return true
			}
		}
	}
	return false
}

// splitScriptName splits path into SCRIPT_NAME and PATH_INFO for an app
// mounted at mount, for both listeners: a path outside the mount keeps
// SCRIPT_NAME empty.
func splitScriptName(mount, path string) (script, pathInfo string) {
	if mount != "" && (path == mount || strings.HasPrefix(path, mount+"/")) {
		return mount, path[len(mount):]
	}
	return "", path
}

// serverAddr is SERVER_NAME and SERVER_PORT, for both listeners: the
// host and port of the Host header, else of the listener's local address
// (a unix socket's path is no host name: then ""), and the scheme's port
// when neither names one.
func serverAddr(hostHeader string, local net.Addr, scheme string) (host, port string) {
	host, port = splitHostPort(hostHeader)
	if host == "" && local != nil && local.Network() != "unix" {
		host, port = splitHostPort(local.String())
	}
	if port == "" {
		port = "80"
		if scheme == "https" {
			port = "443"
		}
	}
	return host, port
}

func splitHostPort(hp string) (host, port string) {
	if hp == "" {
		return "", ""
	}
	h, p, err := net.SplitHostPort(hp)
	if err != nil {
		return strings.Trim(hp, "[]"), ""
	}
	return h, p
}
