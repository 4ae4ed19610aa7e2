package gateway

import (
	"testing"
)

// TestUwsgiLogFormat: issue 17: every %(method), %(status) of a uWSGI

// headWire records what is written through it; only the methods
// headerWire calls are implemented.
type headWire struct {
	wire
	headers [][2]string
	closed  bool
}

func (w *headWire) writeHead(code int, status string, h [][2]string) error { w.headers = h; return nil }
func (w *headWire) closeAfter()                                            { w.closed = true }

// TestResponseHeaders: add-header is appended to every answer's headers on
// both wire formats; a hop-by-hop one is not written, but Connection:
// close still closes the connection.
func TestResponseHeaders(t *testing.T) {
	h, err := ParseResponseHeaders([]string{"X-Frame-Options: DENY", "Connection: close"})
	if err != nil {
		t.Fatal(err)
	}
	rec := &headWire{}
	app := [][2]string{{"Content-Type", "text/plain"}}
	if err := (&headerWire{wire: rec, extra: h}).writeHead(200, "200 OK", app); err != nil {
		t.Fatal(err)
	}
	if len(rec.headers) != 2 || rec.headers[1] != [2]string{"X-Frame-Options", "DENY"} || len(app) != 1 || !rec.closed {
		t.Errorf("headers = %v (app's: %v), closed %v", rec.headers, app, rec.closed)
	}
	if _, err := ParseResponseHeaders([]string{"no colon"}); err == nil {
		t.Error("a header without a colon was accepted")
	}
}
