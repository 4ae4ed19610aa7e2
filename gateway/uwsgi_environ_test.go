package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/gowsgi/gowsgi/pyworker"
)

func TestAppendUwsgiEnviron(t *testing.T) {
	fixture := func(name string) func(t *testing.T) []uwsgiVar {
		return func(t *testing.T) []uwsgiVar {
			p, err := readUwsgiPacket(bytes.NewReader(readFixture(t, name)), 0, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			return p.vars
		}
	}
	vars := func(pairs ...string) func(t *testing.T) []uwsgiVar {
		return func(t *testing.T) []uwsgiVar {
			var out []uwsgiVar
			for i := 0; i < len(pairs); i += 2 {
				out = append(out, uwsgiVar{pairs[i], pairs[i+1]})
			}
			return out
		}
	}
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9000}
	remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 50123}
	tests := []struct {
		name    string
		vars    func(t *testing.T) []uwsgiVar
		env     Environ
		local   net.Addr // default: local
		want    map[string]string
		absent  []string
		wantReq *uwsgiRequest // checked when not nil
		wantErr error
	}{
		{
			name: "nginx GET",
			vars: fixture("nginx_get.bin"),
			want: map[string]string{
				"REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": "/hello/", "QUERY_STRING": "x=1",
				"REQUEST_URI": "/hello/?x=1", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
				"SERVER_NAME": "gowsgi.test", "SERVER_PORT": "18080", "REMOTE_ADDR": "127.0.0.1",
				"REMOTE_PORT": "38596", "HTTP_HOST": "gowsgi.test", "HTTP_ACCEPT": "*/*",
				"HTTP_USER_AGENT": "curl/7.88.1", "DOCUMENT_ROOT": "/var/www/html", "REQUEST_SCHEME": "http",
			},
			absent: []string{"CONTENT_TYPE", "CONTENT_LENGTH"}, // sent empty by uwsgi_params
			wantReq: &uwsgiRequest{method: "GET", uri: "/hello/?x=1", path: "/hello/", proto: "HTTP/1.1",
				host: "gowsgi.test", remoteAddr: "127.0.0.1:38596", contentLength: -1},
		},
		{
			// Issue: nginx sends HTTP_CONTENT_TYPE and HTTP_CONTENT_LENGTH, and
			// before 1.23 one HTTP_X_MULTI per header line.
			name: "nginx POST",
			vars: fixture("nginx_post.bin"),
			want: map[string]string{
				"REQUEST_METHOD": "POST", "PATH_INFO": "/echo/p", "QUERY_STRING": "q=1",
				"CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": "15", "HTTP_X_MULTI": "a, b",
			},
			absent:  []string{"HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"},
			wantReq: &uwsgiRequest{method: "POST", uri: "/echo/p?q=1", path: "/echo/p", proto: "HTTP/1.1", host: "gowsgi.test", remoteAddr: "127.0.0.1:38612", contentLength: 15},
		},
		{
			name: "hop-by-hop headers, proxy headers and those Connection names are dropped",
			vars: vars("REQUEST_METHOD", "GET", "PATH_INFO", "/", "HTTP_CONNECTION", "keep-alive, X-Conn-Only",
				"HTTP_X_CONN_ONLY", "1", "HTTP_KEEP_ALIVE", "300", "HTTP_TE", "trailers", "HTTP_TRAILER", "X",
				"HTTP_TRANSFER_ENCODING", "chunked", "HTTP_UPGRADE", "h2c", "HTTP_PROXY_AUTHORIZATION", "x",
				"HTTP_PROXY_CONNECTION", "x", "HTTP_X_KEPT", "yes"),
			want: map[string]string{"HTTP_X_KEPT": "yes"},
			absent: []string{"HTTP_CONNECTION", "HTTP_X_CONN_ONLY", "HTTP_KEEP_ALIVE", "HTTP_TE", "HTTP_TRAILER",
				"HTTP_TRANSFER_ENCODING", "HTTP_UPGRADE", "HTTP_PROXY_AUTHORIZATION", "HTTP_PROXY_CONNECTION"},
		},
		{
			name: "repeated cookies join with semicolons",
			vars: vars("REQUEST_METHOD", "GET", "HTTP_COOKIE", "a=1", "HTTP_COOKIE", "b=2"),
			want: map[string]string{"HTTP_COOKIE": "a=1; b=2"},
		},
		{
			name: "HTTPS=on is https",
			vars: vars("REQUEST_METHOD", "GET", "PATH_INFO", "/", "HTTPS", "on", "SERVER_NAME", "x", "SERVER_PORT", "443"),
			want: map[string]string{"wsgi.url_scheme": "https", "HTTPS": "on"},
		},
		{
			name: "REQUEST_SCHEME over HTTPS, UWSGI_SCHEME over both",
			vars: vars("REQUEST_METHOD", "GET", "REQUEST_SCHEME", "http", "UWSGI_SCHEME", "https", "HTTPS", "off"),
			want: map[string]string{"wsgi.url_scheme": "https", "UWSGI_SCHEME": "https", "REQUEST_SCHEME": "http"},
		},
		{
			name: "no scheme var: the listener's",
			vars: vars("REQUEST_METHOD", "GET"),
			env:  Environ{Scheme: "https"},
			want: map[string]string{"wsgi.url_scheme": "https", "SERVER_PORT": "9000"},
		},
		{
			name: "custom vars pass, wsgi.* vars do not",
			vars: vars("REQUEST_METHOD", "GET", "UWSGI_APPID", "x", "MY_PARAM", "1", "wsgi.url_scheme", "ftp", "wsgi.input", "x"),
			want: map[string]string{"UWSGI_APPID": "x", "MY_PARAM": "1", "wsgi.url_scheme": "http"},
		},
		{
			name: "the mount point becomes SCRIPT_NAME",
			vars: vars("REQUEST_METHOD", "GET", "PATH_INFO", "/app/x/", "REQUEST_URI", "/app/x/"),
			env:  Environ{ScriptName: "/app"},
			want: map[string]string{"SCRIPT_NAME": "/app", "PATH_INFO": "/x/", "REQUEST_URI": "/app/x/"},
		},
		{
			name: "the packet's SCRIPT_NAME wins over the mount point",
			vars: vars("REQUEST_METHOD", "GET", "SCRIPT_NAME", "/blog", "PATH_INFO", "/app/x"),
			env:  Environ{ScriptName: "/app"},
			want: map[string]string{"SCRIPT_NAME": "/blog", "PATH_INFO": "/app/x"},
		},
		{
			name: "no PATH_INFO or QUERY_STRING: taken from REQUEST_URI",
			vars: vars("REQUEST_METHOD", "GET", "REQUEST_URI", "/caf%C3%A9?a=1"),
			want: map[string]string{"PATH_INFO": "/caf\xc3\xa9", "QUERY_STRING": "a=1"},
		},
		{
			name: "no SERVER_NAME or REMOTE_ADDR: from Host and the connection",
			vars: vars("REQUEST_METHOD", "GET", "HTTP_HOST", "example.com:8080"),
			want: map[string]string{"SERVER_NAME": "example.com", "SERVER_PORT": "8080", "REMOTE_ADDR": "127.0.0.1",
				"REMOTE_PORT": "50123", "SERVER_PROTOCOL": "HTTP/1.1", "SCRIPT_NAME": "", "PATH_INFO": "", "QUERY_STRING": ""},
		},
		{
			name:   "no SERVER_NAME over a unix socket",
			vars:   vars("REQUEST_METHOD", "GET"),
			local:  &net.UnixAddr{Name: "/run/gowsgi.sock", Net: "unix"},
			want:   map[string]string{"SERVER_NAME": "", "SERVER_PORT": "80"},
			absent: []string{"REQUEST_URI"},
		},
		{
			name:    "CONTENT_LENGTH 0 is kept",
			vars:    vars("REQUEST_METHOD", "POST", "CONTENT_LENGTH", "0"),
			want:    map[string]string{"CONTENT_LENGTH": "0"},
			wantReq: &uwsgiRequest{method: "POST", path: "", uri: "", proto: "HTTP/1.1", remoteAddr: "127.0.0.1:50123", contentLength: 0},
		},
		{name: "no REQUEST_METHOD", vars: vars("PATH_INFO", "/"), wantErr: ErrBadRequest},
		{name: "CONTENT_LENGTH not a number", vars: vars("REQUEST_METHOD", "POST", "CONTENT_LENGTH", "12x"), wantErr: ErrBadRequest},
		{name: "CONTENT_LENGTH negative", vars: vars("REQUEST_METHOD", "POST", "CONTENT_LENGTH", "-1"), wantErr: ErrBadRequest},
		{name: "CONTENT_LENGTH with a sign", vars: vars("REQUEST_METHOD", "POST", "CONTENT_LENGTH", "+5"), wantErr: ErrBadRequest},
		{name: "NUL in the decoded REQUEST_URI path", vars: vars("REQUEST_METHOD", "GET", "REQUEST_URI", "/a%00b"), wantErr: ErrBadRequest},
		{name: "REQUEST_URI that does not parse", vars: vars("REQUEST_METHOD", "GET", "REQUEST_URI", "/%zz"), wantErr: ErrBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := tc.local
			if l == nil {
				l = local
			}
			var req uwsgiRequest
			env, err := tc.env.appendUwsgiEnviron(nil, tc.vars(t), l, remote, &req)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			pairs, err := pyworker.ParseEnviron(env)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, kv := range pairs {
				if _, dup := got[kv[0]]; dup {
					t.Errorf("%s appears twice", kv[0])
				}
				got[kv[0]] = kv[1]
			}
			for k, v := range tc.want {
				if g, ok := got[k]; !ok || g != v {
					t.Errorf("%s = %q (present %v), want %q", k, g, ok, v)
				}
			}
			for _, k := range tc.absent {
				if v, ok := got[k]; ok {
					t.Errorf("%s = %q, want it absent", k, v)
				}
			}
			if tc.wantReq != nil && req != *tc.wantReq {
				t.Errorf("request %+v, want %+v", req, *tc.wantReq)
			}
		})
	}
}

// The switch of uwsgiCGIIndex names the vars of uwsgiCGINames, in order.
func TestUwsgiCGIIndex(t *testing.T) {
	for i, name := range uwsgiCGINames {
		if got := uwsgiCGIIndex(name); got != i {
			t.Errorf("uwsgiCGIIndex(%q) = %d, want %d", name, got, i)
		}
	}
	for _, name := range []string{"", "HTTP_ACCEPT", "request_method", "DOCUMENT_ROOT", "REQUEST_METHODS"} {
		if got := uwsgiCGIIndex(name); got != -1 {
			t.Errorf("uwsgiCGIIndex(%q) = %d, want -1", name, got)
		}
	}
}

// Each of the headers a uwsgi request's http.Request carries has a value
// slot in uwsgiScratch.
func TestUwsgiScratchHoldsEveryHeader(t *testing.T) {
	var s uwsgiScratch
	if len(uwsgiRequestHeaders) > len(s.values) {
		t.Fatalf("uwsgiRequestHeaders has %d headers, uwsgiScratch.values %d slots", len(uwsgiRequestHeaders), len(s.values))
	}
	var vars []uwsgiVar
	for k := range uwsgiRequestHeaders {
		vars = append(vars, uwsgiVar{k, "a"}, uwsgiVar{k, "b"})
	}
	r := (&uwsgiRequest{method: "GET", path: "/"}).httpRequest(vars, &s)
	for k, name := range uwsgiRequestHeaders {
		if got := r.Header[name]; len(got) != 2 || got[0] != "a" || got[1] != "b" {
			t.Errorf("%s (%s): %q, want [a b]", name, k, got)
		}
	}
	// Reused for a request without them: none is left over.
	r = (&uwsgiRequest{method: "GET", path: "/"}).httpRequest([]uwsgiVar{{"HTTP_USER_AGENT", "c"}}, &s)
	if len(r.Header) != 1 || r.Header.Get("User-Agent") != "c" {
		t.Errorf("reused: %v, want only User-Agent: c", r.Header)
	}
}

// Past the 32 vars the kept ones are searched among, they are indexed by
// a map: repeats are joined into the first the same on both sides of the
// switch, and in packet order.
func TestAppendUwsgiEnvironManyHeaders(t *testing.T) {
	vars := []uwsgiVar{{"REQUEST_METHOD", "GET"}, {"PATH_INFO", "/"}, {"SERVER_PROTOCOL", "HTTP/1.1"}}
	var names []string
	for i := 0; i < 6000; i++ {
		names = append(names, fmt.Sprintf("HTTP_X_H%d", i))
	}
	for _, n := range names {
		vars = append(vars, uwsgiVar{n, "a"})
	}
	// Repeats of the first (searched) and of late ones (in the map).
	for _, n := range []string{names[0], names[20], names[40], names[5999], names[0]} {
		vars = append(vars, uwsgiVar{n, "b"})
	}
	vars = append(vars, uwsgiVar{"HTTP_COOKIE", "c=1"}, uwsgiVar{"HTTP_COOKIE", "d=2"})
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9000}
	var req uwsgiRequest
	var e Environ
	env, err := e.appendUwsgiEnviron(nil, vars, local, local, &req)
	if err != nil {
		t.Fatal(err)
	}
	pairs, err := pyworker.ParseEnviron(env)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	var order []string
	for _, kv := range pairs {
		if _, dup := got[kv[0]]; dup {
			t.Errorf("%s appears twice", kv[0])
		}
		got[kv[0]] = kv[1]
		if strings.HasPrefix(kv[0], "HTTP_X_H") {
			order = append(order, kv[0])
		}
	}
	want := map[string]string{names[0]: "a, b, b", names[1]: "a", names[20]: "a, b", names[40]: "a, b",
		names[5999]: "a, b", "HTTP_COOKIE": "c=1; d=2"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if !slices.Equal(order, names) {
		t.Errorf("%d HTTP_X_H* vars out of order (want %d in packet order)", len(order), len(names))
	}
}
