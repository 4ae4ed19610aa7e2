package main

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// parseAddrPort reads runserver's addrport forms: "8001", "0.0.0.0:8001",
// "[::1]:8001", "localhost:8001", and "0:8001" (runserver's short form for
// 0.0.0.0). It returns host:port for net.Listen.
func parseAddrPort(s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("empty address")
	}
	if isPort(s) {
		return net.JoinHostPort("127.0.0.1", s), nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", fmt.Errorf("%q is not a port or address:port: %w", s, err)
	}
	if !isPort(port) {
		return "", fmt.Errorf("%q: port %q is not a number from 0 to 65535", s, port)
	}
	if host == "0" {
		host = "0.0.0.0"
	}
	if host == "" {
		host = "127.0.0.1"
	}
	if strings.ContainsAny(host, " /") {
		return "", fmt.Errorf("%q: bad host %q", s, host)
	}
	return net.JoinHostPort(host, port), nil
}

func isPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0 && n <= 65535 && !strings.HasPrefix(s, "+")
}
