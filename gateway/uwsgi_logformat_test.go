package gateway

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestUwsgiLogFormat: issue 17: every %(method), %(status) of a uWSGI
// log-format got a "names no key" warning and the line was gowsgi's own.
func TestUwsgiLogFormat(t *testing.T) {
	r := httptest.NewRequest("POST", "/items/?page=2", strings.NewReader("abc"))
	r.RemoteAddr = "10.0.0.7:5555"
	r.Host = "example.org"
	r.Header.Set("User-Agent", "curl/8")
	r.Header.Set("Referer", "http://ref/")
	r.Header.Set("X-Request-Id", "r-1")
	r.SetBasicAuth("alice", "pw")
	tests := []struct{ tmpl, want string }{
		{`%(addr) - %(user) "%(method) %(uri) %(proto)" %(status) %(size) "%(referer)" "%(uagent)"`,
			`10.0.0.7 - alice "POST /items/?page=2 HTTP/1.1" 201 512 "http://ref/" "curl/8"`},
		{"%(host) %(msecs)ms %(micros)us %(cl) pid=%(pid)", "example.org 1500ms 1500000us 3 pid=42"},
		{"%(var.HTTP_X_REQUEST_ID) %(var.QUERY_STRING) %(var.NOPE)", "r-1 page=2 -"},
		{"%(my_logvar) %(wid) %(metric.worker.0.requests)", "- 0 0"},
		{`{"uri":"%(json_uri)"}`, `{"uri":"/items/?page=2"}`},
		{"no variables", "no variables"},
		{"unclosed %(method", "unclosed %(method"},
		{"%(secs)", "1.500000"},
	}
	for _, tc := range tests {
		t.Run(tc.tmpl, func(t *testing.T) {
			f := UwsgiLogFormat(tc.tmpl, LogFormatOptions{})
			if got := string(f(nil, r, 201, 512, 1500*time.Millisecond, 42, 1)); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestAppendStrftime(t *testing.T) {
	at := time.Date(2026, 12, 2, 6, 8, 9, 0, time.UTC)
	tests := []struct{ format, want string }{
		{"%Y-%m-%d %H:%M:%S,000", "2026-12-02 06:08:09,000"},
		{"%a %b %e %H:%M:%S %Y", "Wed Dec  2 06:08:09 2026"},
		{"%d/%b/%Y:%H:%M:%S %z", "02/Dec/2026:06:08:09 +0000"},
		{"100%% %q", "100% %q"},
	}
	for _, tc := range tests {
		if got := string(AppendStrftime(nil, tc.format, at)); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.format, got, tc.want)
		}
	}
}

type startRecorder struct {
	headers [][2]string
}

func (s *startRecorder) Start(status string, h [][2]string) error { s.headers = h; return nil }
func (s *startRecorder) Write(p []byte) error                     { return nil }
func (s *startRecorder) Flush()                                   {}

// TestResponseHeaders: add-header on the uwsgi listener is appended to the
// app's headers; a hop-by-hop one is left to nginx, which drops it.
func TestResponseHeaders(t *testing.T) {
	h, err := ParseResponseHeaders([]string{"X-Frame-Options: DENY", "Connection: close"})
	if err != nil {
		t.Fatal(err)
	}
	rec := &startRecorder{}
	app := [][2]string{{"Content-Type", "text/plain"}}
	if err := h.wrap(rec).Start("200 OK", app); err != nil {
		t.Fatal(err)
	}
	if len(rec.headers) != 2 || rec.headers[1] != [2]string{"X-Frame-Options", "DENY"} || len(app) != 1 {
		t.Errorf("headers = %v (app's: %v)", rec.headers, app)
	}
	if _, err := ParseResponseHeaders([]string{"no colon"}); err == nil {
		t.Error("a header without a colon was accepted")
	}
}
