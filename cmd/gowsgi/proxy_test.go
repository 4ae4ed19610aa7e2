package main

import (
	"encoding/json"
	"net/http"
	"testing"
)

// TestTrustedProxies: forwarding headers set REMOTE_ADDR, the scheme and
// the host only when the peer is a trusted proxy; otherwise the app never
// sees them.
func TestTrustedProxies(t *testing.T) {
	tests := []struct {
		name  string
		flags []string
		want  map[string]any
	}{
		{"loopback is trusted by default", nil,
			map[string]any{"REMOTE_ADDR": "203.0.113.7", "wsgi.url_scheme": "https", "HTTP_HOST": "shop.example", "HTTP_X_FORWARDED_FOR": "203.0.113.7"}},
		{"a peer outside trusted-proxies is not", []string{"--trusted-proxies", "10.0.0.0/8"},
			map[string]any{"REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http", "HTTP_X_FORWARDED_FOR": nil, "HTTP_X_FORWARDED_PROTO": nil}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"serve", "--http", "127.0.0.1:0", "--chdir", "testdata/apps", "--wsgi-file", "environ.py", "--python", testPython(t)}, tc.flags...)
			p := startGowsgi(t, repoRoot(t), nil, args...)
			req, _ := http.NewRequest("GET", p.url+"/", nil)
			req.Header.Set("X-Forwarded-For", "203.0.113.7")
			req.Header.Set("X-Forwarded-Proto", "https")
			req.Header.Set("X-Forwarded-Host", "shop.example")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var env map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.want {
				if env[k] != v {
					t.Errorf("%s = %v, want %v", k, env[k], v)
				}
			}
		})
	}
}
