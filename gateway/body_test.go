package gateway

import (
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// TestLimitedBody: a body whose length only its end tells is refused past
// limit-post, and one of exactly limit-post bytes is not.
func TestLimitedBody(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		limit   int64
		tooBig  bool
		oneByte bool // the reader hands out one byte per Read
	}{
		{name: "shorter", body: "abc", limit: 5},
		{name: "exactly the limit", body: "abcde", limit: 5},
		{name: "exactly the limit, byte by byte", body: "abcde", limit: 5, oneByte: true},
		{name: "one byte more", body: "abcdef", limit: 5, tooBig: true},
		{name: "one byte more, byte by byte", body: "abcdef", limit: 5, tooBig: true, oneByte: true},
		{name: "much more", body: strings.Repeat("x", 1<<20), limit: 5, tooBig: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r io.Reader = strings.NewReader(tc.body)
			if tc.oneByte {
				r = iotest.OneByteReader(r)
			}
			got, err := io.ReadAll(&limitedBody{r: r, left: tc.limit, limit: tc.limit})
			var mbe *http.MaxBytesError
			if tc.tooBig != errors.As(err, &mbe) || !tc.tooBig && err != nil {
				t.Fatalf("err %v, want too big: %v", err, tc.tooBig)
			}
			if int64(len(got)) > tc.limit {
				t.Errorf("%d bytes handed on, more than the limit %d", len(got), tc.limit)
			}
			if !tc.tooBig && string(got) != tc.body {
				t.Errorf("got %q, want %q", got, tc.body)
			}
		})
	}
}

// TestLimitPostOnHTTP: limit-post refuses a body by its Content-Length
// before reading it, and a chunked one once it runs past the limit; the
// app never runs and the connection is closed.
func TestLimitPostOnHTTP(t *testing.T) {
	tests := []struct {
		name, raw string
		status    int
		app       int32
	}{
		{"declared, too large", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world", 413, 0},
		{"declared, at the limit", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\nhelloworld", 503, 1},
		{"chunked, too large", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n", 413, 0},
		{"chunked, at the limit", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", 503, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			be := &countingBackend{}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			srv := NewServer(&Handler{Backend: be, LimitPost: 10}, log.New(io.Discard, "", 0), 0, 5*time.Second)
			srv.Serve(ln)
			defer srv.Close()
			statuses, _, closed := sendRaw(t, ln.Addr().String(), []byte(tc.raw), false)
			if len(statuses) != 1 || statuses[0] != tc.status || !closed {
				t.Errorf("answers %v (closed %v), want [%d] and a closed connection", statuses, closed, tc.status)
			}
			if n := be.n.Load(); n != tc.app {
				t.Errorf("%d request(s) reached the backend, want %d", n, tc.app)
			}
		})
	}
}
