package gateway

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestAccessFormats(t *testing.T) {
	r := &http.Request{Method: "GET", RequestURI: "/a\"b\n?x=1", Proto: "HTTP/1.1", RemoteAddr: "10.0.0.1:5555",
		URL: &url.URL{Path: "/a\"b\n"}, Header: http.Header{"User-Agent": {"curl \"7\""}}}
	t.Run("json", func(t *testing.T) {
		f, err := AccessFormat("json")
		if err != nil {
			t.Fatal(err)
		}
		line := string(f(nil, r, 404, 12, 1500*time.Microsecond, 42, 3))
		if strings.Contains(line, "\n") {
			t.Fatalf("line has a newline: %q", line)
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		want := map[string]any{"method": "GET", "path": "/a\"b\n?x=1", "status": 404.0, "bytes": 12.0,
			"duration_ms": 1.5, "remote": "10.0.0.1", "pid": 42.0, "generation": 3.0}
		for k, v := range want {
			if rec[k] != v {
				t.Errorf("%s = %v, want %v", k, rec[k], v)
			}
		}
	})
	t.Run("combined", func(t *testing.T) {
		f, _ := AccessFormat("combined")
		line := string(f(nil, r, 200, 0, time.Millisecond, 1, 1))
		if !strings.HasPrefix(line, "10.0.0.1 - - [") || !strings.HasSuffix(line, `200 - "-" "curl \"7\""`) {
			t.Errorf("combined line %q", line)
		}
	})
	t.Run("uwsgi is the default", func(t *testing.T) {
		if f, err := AccessFormat("uwsgi"); f != nil || err != nil {
			t.Errorf("uwsgi: %v %v", f != nil, err)
		}
		if _, err := AccessFormat("apache"); err == nil {
			t.Error("an unknown format was accepted")
		}
	})
}
