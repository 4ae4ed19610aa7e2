package gateway

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies says whose forwarding headers are believed.
//
// From a trusted peer (loopback by default, or a unix socket, whose peer is
// local by definition), Forwarded (RFC 7239) or else X-Forwarded-For,
// X-Forwarded-Proto and X-Forwarded-Host set REMOTE_ADDR, wsgi.url_scheme
// and HTTP_HOST. From anyone else the headers are dropped before the
// environ is built, so an app that reads them anyway (Django's
// USE_X_FORWARDED_HOST, SECURE_PROXY_SSL_HEADER) cannot be fooled by a
// client.
type Proxies struct {
	Trusted []netip.Prefix
	// None trusts nobody, not even loopback.
	None bool
}

// DefaultProxies trusts loopback only.
var DefaultProxies = Proxies{Trusted: []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"),
}}

// ParseProxies reads trusted-proxies values: IPs, CIDR prefixes, or "none".
func ParseProxies(values []string) (Proxies, error) {
	if len(values) == 0 {
		return DefaultProxies, nil
	}
	var p Proxies
	for _, v := range values {
		v = strings.TrimSpace(v)
		if strings.EqualFold(v, "none") {
			p.None = true
			continue
		}
		if strings.Contains(v, "/") {
			pfx, err := netip.ParsePrefix(v)
			if err != nil {
				return p, err
			}
			p.Trusted = append(p.Trusted, pfx.Masked())
			continue
		}
		a, err := netip.ParseAddr(v)
		if err != nil {
			return p, err
		}
		p.Trusted = append(p.Trusted, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return p, nil
}

func (p *Proxies) trusts(ip string) bool {
	if p.None {
		return false
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, pfx := range p.Trusted {
		if pfx.Contains(a) {
			return true
		}
	}
	return false
}

// forwardingHeaders are dropped from untrusted peers.
var forwardingHeaders = map[string]bool{
	"Forwarded": true, "X-Forwarded-For": true, "X-Forwarded-Proto": true,
	"X-Forwarded-Host": true, "X-Forwarded-Port": true, "X-Forwarded-Ssl": true,
	"X-Real-Ip": true, "X-Forwarded-Scheme": true, "X-Scheme": true,
}

// forwarded is what a trusted proxy said about the client.
type forwarded struct {
	addr, scheme, host string
}

// resolve returns the client as the trusted proxy chain reports it; ok is
// false when the peer is not trusted (the headers must then be dropped).
func (p *Proxies) resolve(r *http.Request, peer string, unixPeer bool) (f forwarded, ok bool) {
	if !unixPeer && !p.trusts(peer) {
		return f, false
	}
	if p.None {
		return f, false
	}
	if fw := r.Header.Values("Forwarded"); len(fw) > 0 {
		// The last element is what the nearest proxy (the trusted one) added.
		elems := strings.Split(strings.Join(fw, ","), ",")
		for _, pair := range strings.Split(elems[len(elems)-1], ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(pair), "=")
			v = strings.Trim(strings.TrimSpace(v), `"`)
			switch strings.ToLower(k) {
			case "for":
				if h, _, err := net.SplitHostPort(v); err == nil {
					v = h
				}
				f.addr = strings.Trim(v, "[]")
			case "proto":
				f.scheme = strings.ToLower(v)
			case "host":
				f.host = v
			}
		}
		return f, true
	}
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		hops := strings.Split(strings.Join(xff, ","), ",")
		// Walk from the right past our own trusted proxies: the first
		// untrusted hop is the client (anything left of it is hearsay).
		for i := len(hops) - 1; i >= 0; i-- {
			h := strings.TrimSpace(hops[i])
			if h == "" {
				continue
			}
			f.addr = h
			if !p.trusts(h) {
				break
			}
		}
	}
	if v := r.Header.Get("X-Forwarded-Proto"); v != "" {
		f.scheme = strings.ToLower(strings.TrimSpace(strings.Split(v, ",")[0]))
	}
	if v := r.Header.Get("X-Forwarded-Host"); v != "" {
		f.host = strings.TrimSpace(strings.Split(v, ",")[0])
	}
	return f, true
}
