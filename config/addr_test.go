package config

import (
	"encoding/json"
	"testing"
)

func TestParseAddr(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   Addr
		str    string // String(); "" means the input
		listen string // ListenAddress(); "" means String()
		err    string
	}{
		{name: "all interfaces", in: ":8000", want: Addr{Network: "tcp", Port: 8000}},
		{name: "ipv4", in: "127.0.0.1:8000", want: Addr{Network: "tcp", Host: "127.0.0.1", Port: 8000}},
		{name: "ipv4 any", in: "0.0.0.0:8000", want: Addr{Network: "tcp", Host: "0.0.0.0", Port: 8000}},
		{name: "ipv6", in: "[::1]:8000", want: Addr{Network: "tcp", Host: "::1", Port: 8000}},
		{name: "ipv6 any", in: "[::]:443", want: Addr{Network: "tcp", Host: "::", Port: 443}},
		{name: "ipv6 zone", in: "[fe80::1%eth0]:80", want: Addr{Network: "tcp", Host: "fe80::1%eth0", Port: 80}},
		{name: "host name", in: "localhost:8000", want: Addr{Network: "tcp", Host: "localhost", Port: 8000}},
		{name: "port 0", in: "127.0.0.1:0", want: Addr{Network: "tcp", Host: "127.0.0.1", Port: 0}},
		{name: "port max", in: ":65535", want: Addr{Network: "tcp", Port: 65535}},
		{name: "leading zero port", in: ":08000", want: Addr{Network: "tcp", Port: 8000}, str: ":8000"},
		{name: "unix absolute", in: "/run/app.sock", want: Addr{Network: "unix", Path: "/run/app.sock"}},
		{name: "unix relative dot", in: "./app.sock", want: Addr{Network: "unix", Path: "./app.sock"}},
		{name: "unix relative bare", in: "app.sock", want: Addr{Network: "unix", Path: "app.sock"}},
		{name: "unix absolute with colon", in: "/run/a:b.sock", want: Addr{Network: "unix", Path: "/run/a:b.sock"}},
		{name: "unix prefix", in: "unix:/run/app.sock", want: Addr{Network: "unix", Path: "/run/app.sock"}, str: "/run/app.sock"},
		{name: "unix prefix keeps colon path", in: "unix:a:b.sock", want: Addr{Network: "unix", Path: "a:b.sock"}},
		{name: "abstract", in: "@gowsgi", want: Addr{Network: "unix", Path: "@gowsgi"}},

		{name: "empty", in: "", err: "empty address: write host:port (127.0.0.1:8000) or a unix socket path"},
		{name: "empty unix", in: "unix:", err: `empty unix socket path after "unix:"`},
		{name: "port too big", in: ":70000", err: "port 70000 is not from 0 to 65535"},
		{name: "port name", in: "localhost:http", err: `port "http" is not a number from 0 to 65535`},
		{name: "negative port", in: ":-1", err: `port "-1" is not a number from 0 to 65535`},
		{name: "no port", in: "127.0.0.1:", err: `no port after the ":": write host:port, e.g. 127.0.0.1:8000`},
		{name: "ipv6 without brackets", in: "::1:8000", err: "not host:port or a unix socket path: too many colons in address"},
		{name: "bad ipv6", in: "[zz::1]:80", err: `host "zz::1" is not an IPv6 address`},
		{name: "space in host", in: "my host:80", err: `host "my host" is not an IP address or a host name`},
		// Found by FuzzParseAddr: brackets let any host through, and ".0:0"
		// then read back as a unix socket path.
		{name: "bracketed name that reads as a path", in: "[.0]:0", err: `host ".0" is not an IP address or a host name`},
		{name: "control character", in: "/run/a\nb", err: "the address has a control character in it"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseAddr(tc.in)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("ParseAddr(%q) = %+v, %v; want error %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseAddr(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Fatalf("ParseAddr(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
			str := tc.str
			if str == "" {
				str = tc.in
			}
			if got.String() != str {
				t.Errorf("String() = %q, want %q", got.String(), str)
			}
			listen := tc.listen
			if listen == "" && got.Network == "tcp" {
				listen = got.String()
			} else if listen == "" {
				listen = got.Path
			}
			if got.ListenAddress() != listen {
				t.Errorf("ListenAddress() = %q, want %q", got.ListenAddress(), listen)
			}
			back, err := ParseAddr(got.String())
			if err != nil || back != got {
				t.Errorf("ParseAddr(String()) = %+v, %v; want %+v", back, err, got)
			}
		})
	}
}

// TestAddrString covers Addrs built in code, which ParseAddr never
// returns.
func TestAddrString(t *testing.T) {
	tests := []struct {
		name string
		in   Addr
		want string
	}{
		{name: "zero", in: Addr{}, want: ""},
		{name: "unix path that reads as tcp", in: Addr{Network: "unix", Path: "host:80"}, want: "unix:host:80"},
		{name: "unix path with unix prefix", in: Addr{Network: "unix", Path: "unix:x"}, want: "unix:unix:x"},
		{name: "tcp ipv6", in: Addr{Network: "tcp", Host: "2001:db8::1", Port: 80}, want: "[2001:db8::1]:80"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.in.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestAddrJSON(t *testing.T) {
	in := struct {
		A Addr
		B Addr
	}{A: Addr{Network: "tcp", Host: "::1", Port: 80}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"A":"[::1]:80","B":""}` {
		t.Fatalf("json = %s", b)
	}
	var out struct{ A, B Addr }
	if err := json.Unmarshal(b, &out); err != nil || out.A != in.A || !out.B.IsZero() {
		t.Fatalf("round trip = %+v, %v", out, err)
	}
}

// FuzzParseAddr checks that whatever ParseAddr accepts prints back to
// something it reads as the same Addr, and that it passes Validate's own
// check.
func FuzzParseAddr(f *testing.F) {
	for _, s := range []string{
		":8000", "127.0.0.1:8000", "[::1]:8000", "0.0.0.0:0", "localhost:8000",
		"/run/app.sock", "./app.sock", "app.sock", "unix:/x", "unix:a:b", "@abstract",
		"[fe80::1%eth0]:80", "a:b:c", "", "unix:", ":", "[::1]", "host:99999",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddr(s)
		if err != nil {
			return
		}
		if err := a.check(); err != nil {
			t.Fatalf("ParseAddr(%q) = %+v, which check rejects: %v", s, a, err)
		}
		back, err := ParseAddr(a.String())
		if err != nil {
			t.Fatalf("ParseAddr(%q) = %+v; ParseAddr(%q): %v", s, a, a.String(), err)
		}
		if back != a {
			t.Fatalf("ParseAddr(%q) = %+v; its String %q reads as %+v", s, a, a.String(), back)
		}
	})
}
