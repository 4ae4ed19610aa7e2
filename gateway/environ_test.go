package gateway

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gowsgi/gowsgi/pyworker"
)

func TestAppendEnviron(t *testing.T) {
	tests := []struct {
		name    string
		req     func() *http.Request
		env     Environ
		want    map[string]string
		absent  []string
		wantErr error
	}{
		{
			name: "get with query and repeated headers",
			req: func() *http.Request {
				r := httptest.NewRequest("GET", "http://example.com:8080/caf%C3%A9/x?a=1&b=%20", nil)
				r.Header.Add("X-Multi", "a")
				r.Header.Add("X-Multi", "b")
				r.Header.Add("Cookie", "a=1")
				r.Header.Add("Cookie", "b=2")
				r.RemoteAddr = "10.1.2.3:5555"
				return r
			},
			env: Environ{Scheme: "http"},
			want: map[string]string{
				"REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": "/caf\xc3\xa9/x",
				"QUERY_STRING": "a=1&b=%20", "SERVER_NAME": "example.com", "SERVER_PORT": "8080",
				"REMOTE_ADDR": "10.1.2.3", "REMOTE_PORT": "5555", "HTTP_HOST": "example.com:8080",
				"HTTP_X_MULTI": "a, b", "HTTP_COOKIE": "a=1; b=2", "wsgi.url_scheme": "http",
				"SERVER_PROTOCOL": "HTTP/1.1",
			},
			absent: []string{"CONTENT_TYPE", "CONTENT_LENGTH"},
		},
		{
			name: "post with body headers",
			req: func() *http.Request {
				r := httptest.NewRequest("POST", "/form/", nil)
				r.ContentLength = 7
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.Header.Set("Content-Length", "7")
				return r
			},
			env:    Environ{Scheme: "https"},
			want:   map[string]string{"CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": "7", "SERVER_PORT": "443", "wsgi.url_scheme": "https"},
			absent: []string{"HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"},
		},
		{
			name: "hop-by-hop and underscore headers are dropped",
			req: func() *http.Request {
				r := httptest.NewRequest("GET", "/", nil)
				r.Header.Set("Connection", "keep-alive, X-Private")
				r.Header.Set("X-Private", "1")
				r.Header.Set("Keep-Alive", "timeout=5")
				r.Header.Set("Te", "trailers")
				r.Header.Set("Upgrade", "h2c")
				r.Header.Set("Proxy-Authorization", "x")
				r.Header["X_Forwarded_For"] = []string{"6.6.6.6"}
				r.Header.Set("X-Kept", "yes")
				return r
			},
			env:    Environ{Scheme: "http"},
			want:   map[string]string{"HTTP_X_KEPT": "yes"},
			absent: []string{"HTTP_CONNECTION", "HTTP_X_PRIVATE", "HTTP_KEEP_ALIVE", "HTTP_TE", "HTTP_UPGRADE", "HTTP_PROXY_AUTHORIZATION", "HTTP_X_FORWARDED_FOR"},
		},
		{
			name: "script name is stripped from the path",
			req:  func() *http.Request { return httptest.NewRequest("GET", "/app/x/y", nil) },
			env:  Environ{Scheme: "http", ScriptName: "/app"},
			want: map[string]string{"SCRIPT_NAME": "/app", "PATH_INFO": "/x/y"},
		},
		{
			name:    "NUL in the path",
			req:     func() *http.Request { return httptest.NewRequest("GET", "/a%00b", nil) },
			env:     Environ{Scheme: "http"},
			wantErr: ErrBadRequest,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.env.AppendEnviron(nil, tc.req())
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			pairs, err := pyworker.ParseEnviron(b)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, kv := range pairs {
				if _, dup := got[kv[0]]; dup {
					t.Errorf("key %s twice", kv[0])
				}
				got[kv[0]] = kv[1]
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			for _, k := range tc.absent {
				if v, ok := got[k]; ok {
					t.Errorf("%s = %q, want absent", k, v)
				}
			}
		})
	}
}
