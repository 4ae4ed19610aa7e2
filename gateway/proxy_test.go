package gateway

import (
	"net/http/httptest"
	"testing"

	"github.com/gowsgi/gowsgi/pyworker"
)

func TestForwardedHeaders(t *testing.T) {
	tests := []struct {
		name    string
		peer    string
		trusted []string
		headers map[string]string
		want    map[string]string
		absent  []string
	}{
		{
			name: "trusted loopback proxy: X-Forwarded-*", peer: "127.0.0.1:4000",
			headers: map[string]string{"X-Forwarded-For": "203.0.113.7, 127.0.0.1", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "shop.example"},
			want:    map[string]string{"REMOTE_ADDR": "203.0.113.7", "wsgi.url_scheme": "https", "HTTP_HOST": "shop.example", "SERVER_PORT": "443", "HTTP_X_FORWARDED_FOR": "203.0.113.7, 127.0.0.1"},
		},
		{
			name: "trusted proxy: Forwarded wins", peer: "127.0.0.1:4000",
			headers: map[string]string{"Forwarded": `for="[2001:db8::1]:4711";proto=https;host=a.example`, "X-Forwarded-For": "6.6.6.6"},
			want:    map[string]string{"REMOTE_ADDR": "2001:db8::1", "wsgi.url_scheme": "https", "HTTP_HOST": "a.example"},
		},
		{
			name: "untrusted peer: headers dropped, nothing applied", peer: "198.51.100.9:5000",
			headers: map[string]string{"X-Forwarded-For": "1.2.3.4", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example", "Forwarded": "for=1.2.3.4", "X-Real-Ip": "1.2.3.4"},
			want:    map[string]string{"REMOTE_ADDR": "198.51.100.9", "wsgi.url_scheme": "http", "HTTP_HOST": "example.com"},
			absent:  []string{"HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST", "HTTP_FORWARDED", "HTTP_X_REAL_IP"},
		},
		{
			name: "configured prefix is trusted, loopback no longer", peer: "10.1.2.3:5000", trusted: []string{"10.0.0.0/8"},
			headers: map[string]string{"X-Forwarded-For": "203.0.113.7"},
			want:    map[string]string{"REMOTE_ADDR": "203.0.113.7"},
		},
		{
			name: "a client cannot hide behind a trusted hop it names", peer: "127.0.0.1:1", trusted: []string{"127.0.0.1", "10.0.0.0/8"},
			headers: map[string]string{"X-Forwarded-For": "10.9.9.9, 203.0.113.50, 10.0.0.2"},
			want:    map[string]string{"REMOTE_ADDR": "203.0.113.50"},
		},
		{
			name: "none trusts nobody", peer: "127.0.0.1:1", trusted: []string{"none"},
			headers: map[string]string{"X-Forwarded-Proto": "https"},
			want:    map[string]string{"wsgi.url_scheme": "http", "REMOTE_ADDR": "127.0.0.1"},
			absent:  []string{"HTTP_X_FORWARDED_PROTO"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParseProxies(tc.trusted)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("GET", "http://example.com/", nil)
			r.RemoteAddr = tc.peer
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			e := Environ{Scheme: "http", Proxies: &p}
			b, err := e.AppendEnviron(nil, r)
			if err != nil {
				t.Fatal(err)
			}
			pairs, _ := pyworker.ParseEnviron(b)
			got := map[string]string{}
			for _, kv := range pairs {
				got[kv[0]] = kv[1]
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			for _, k := range tc.absent {
				if _, ok := got[k]; ok {
					t.Errorf("%s passed to the app from an untrusted peer", k)
				}
			}
		})
	}
}

func TestParseProxiesErrors(t *testing.T) {
	for _, bad := range []string{"10.0.0.0/33", "not-an-ip", "1.2.3"} {
		if _, err := ParseProxies([]string{bad}); err == nil {
			t.Errorf("ParseProxies(%q) accepted it", bad)
		}
	}
}
