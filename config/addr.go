package config

// This file is the listener address as uWSGI's socket options write it.

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"unicode"
)

// An Addr is a listening address as written in a uWSGI ini file: a TCP
// host:port or a unix socket path. ParseAddr and String round-trip, so an
// Addr prints the way the user can write it back.
//
// The zero Addr means "not set".
type Addr struct {
	// Network is "tcp" or "unix" ("" in the zero Addr).
	Network string
	// Host is the TCP host as written, without IPv6 brackets: an IP
	// address, a name such as "localhost", or "" for every interface
	// (uWSGI's ":8000"). Empty for unix sockets.
	Host string
	// Port is the TCP port, 0 to 65535. Port 0 lets the kernel choose,
	// which tests use; the bound address is then known only after listen.
	Port int
	// Path is the unix socket path, kept as written. A relative path is
	// relative to the directory gowsgi starts in, as with uWSGI (it is not
	// resolved against the ini file's directory; write %d/app.sock for
	// that). A leading "@" is a Linux abstract socket.
	Path string
}

// ParseAddr reads the address forms uWSGI accepts for socket, http,
// http-socket and stats:
//
//	:8000            every interface, port 8000
//	127.0.0.1:8000   one IPv4 address
//	[::1]:8000       one IPv6 address (brackets required)
//	localhost:8000   a host name, resolved when listening
//	/run/app.sock    a unix socket (absolute path)
//	./app.sock       a unix socket relative to the start directory
//	app.sock         likewise: uWSGI takes any value without ":" as a path
//	unix:/run/x.sock an explicit unix socket, for paths that contain ":"
//
// Like uWSGI, a value that has a ":" and does not start with "/", "." or
// "@" is TCP.
func ParseAddr(s string) (Addr, error) {
	if s == "" {
		return Addr{}, errors.New("empty address: write host:port (127.0.0.1:8000) or a unix socket path")
	}
	if strings.ContainsFunc(s, unicode.IsControl) {
		return Addr{}, errors.New("the address has a control character in it")
	}
	if p, ok := strings.CutPrefix(s, "unix:"); ok {
		if p == "" {
			return Addr{}, errors.New("empty unix socket path after \"unix:\"")
		}
		return Addr{Network: "unix", Path: p}, nil
	}
	if isPathLike(s) || !strings.Contains(s, ":") {
		return Addr{Network: "unix", Path: s}, nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return Addr{}, fmt.Errorf("not host:port or a unix socket path: %w", unwrapAddrError(err))
	}
	n, err := parsePort(port)
	if err != nil {
		return Addr{}, err
	}
	if err := checkHost(host); err != nil {
		return Addr{}, err
	}
	return Addr{Network: "tcp", Host: host, Port: n}, nil
}

// isPathLike reports whether s is a unix socket path even if it has a ":"
// in it.
func isPathLike(s string) bool {
	return strings.HasPrefix(s, "/") || strings.HasPrefix(s, ".") || strings.HasPrefix(s, "@")
}

// unwrapAddrError drops net.AddrError's repetition of the address, which
// the caller's message already quotes.
func unwrapAddrError(err error) error {
	var ae *net.AddrError
	if errors.As(err, &ae) {
		return errors.New(ae.Err)
	}
	return err
}

func parsePort(s string) (int, error) {
	if s == "" {
		return 0, errors.New("no port after the \":\": write host:port, e.g. 127.0.0.1:8000")
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("port %q is not a number from 0 to 65535", s)
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > 65535 {
		return 0, fmt.Errorf("port %s is not from 0 to 65535", s)
	}
	return n, nil
}

// checkHost accepts "", IP addresses and host names; IPv6 addresses must
// have come in brackets (SplitHostPort checked that).
func checkHost(h string) error {
	if h == "" {
		return nil
	}
	if strings.Contains(h, ":") {
		ip, _, _ := strings.Cut(h, "%") // a zone: fe80::1%eth0
		if net.ParseIP(ip) == nil {
			return fmt.Errorf("host %q is not an IPv6 address", h)
		}
		return nil
	}
	// A name starts with a letter or digit; ".0:80" would read as a path.
	if c := h[0]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
		return fmt.Errorf("host %q is not an IP address or a host name", h)
	}
	for _, r := range h {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
		default:
			return fmt.Errorf("host %q is not an IP address or a host name", h)
		}
	}
	return nil
}

// String returns the address in the form ParseAddr reads: host:port for
// TCP (":8000" for every interface, brackets around IPv6), the path for
// unix sockets ("unix:" in front when the path alone would read as TCP).
func (a Addr) String() string {
	switch a.Network {
	case "tcp":
		return net.JoinHostPort(a.Host, strconv.Itoa(a.Port))
	case "unix":
		if a.Path == "" || isPathLike(a.Path) || !strings.Contains(a.Path, ":") {
			return a.Path
		}
		return "unix:" + a.Path
	}
	return ""
}

// IsZero reports whether a is the zero Addr (not set).
func (a Addr) IsZero() bool { return a == Addr{} }

// ListenAddress returns the address argument for net.Listen(a.Network, ...).
func (a Addr) ListenAddress() string {
	if a.Network == "unix" {
		return a.Path
	}
	return a.String()
}

// check reports what makes an Addr built in code (not by ParseAddr)
// unusable.
func (a Addr) check() error {
	switch a.Network {
	case "tcp":
		if a.Port < 0 || a.Port > 65535 {
			return fmt.Errorf("port %d is not from 0 to 65535", a.Port)
		}
		return checkHost(a.Host)
	case "unix":
		if a.Path == "" {
			return errors.New("empty unix socket path: name a file, e.g. /run/mysite.sock")
		}
		return nil
	}
	return fmt.Errorf("network %q is not tcp or unix", a.Network)
}

// MarshalText writes a as String does, so JSON shows addresses as the ini
// file writes them.
func (a Addr) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText reads a with ParseAddr; empty text is the zero Addr.
func (a *Addr) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*a = Addr{}
		return nil
	}
	p, err := ParseAddr(string(b))
	if err != nil {
		return err
	}
	*a = p
	return nil
}
