package gateway

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/pyworker"
)

// These tests cover what the server does without a worker: refusals,
// errors before a slot, timeouts and shutdown. Requests that reach real
// Python workers through real nginx are in cmd/gowsgi/uwsgi_nginx_test.go.

// fakeBackend never hands out a slot: Acquire fails with err, or, when err
// is nil, blocks until its context ends (a full queue).
type fakeBackend struct {
	err     error
	waiting chan struct{} // closed by the first Acquire
	once    sync.Once
	gaveUp  chan error // receives the context's error when a blocked Acquire ends
}

func newFakeBackend(err error) *fakeBackend {
	return &fakeBackend{err: err, waiting: make(chan struct{}), gaveUp: make(chan error, 16)}
}

func (b *fakeBackend) Acquire(ctx context.Context, _ *pyworker.Request) (Slot, error) {
	b.once.Do(func() { close(b.waiting) })
	if b.err != nil {
		return nil, b.err
	}
	<-ctx.Done()
	b.gaveUp <- ctx.Err()
	return nil, ctx.Err()
}

func (b *fakeBackend) Release(Slot) {}

// lockedBuffer collects log output from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type uwsgiTestServer struct {
	*UwsgiServer
	addr   string
	logs   *lockedBuffer
	access *lockedBuffer
	alog   *AccessLog
}

func startUwsgiServer(t *testing.T, be Backend, configure func(*UwsgiServer)) *uwsgiTestServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &uwsgiTestServer{logs: &lockedBuffer{}, access: &lockedBuffer{}, addr: ln.Addr().String()}
	ts.alog = NewAccessLog(ts.access)
	ts.UwsgiServer = &UwsgiServer{
		Backend:      be,
		Log:          ts.alog,
		Logf:         func(f string, a ...any) { fmt.Fprintf(ts.logs, f+"\n", a...) },
		QueueTimeout: 10 * time.Second,
	}
	if configure != nil {
		configure(ts.UwsgiServer)
	}
	ts.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := ts.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		ts.alog.Close()
	})
	return ts
}

// exchange sends raw bytes and returns everything the server answers
// before it closes the connection.
func (ts *uwsgiTestServer) exchange(t *testing.T, raw []byte) string {
	t.Helper()
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(raw); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading the answer: %v (got %q)", err, got)
	}
	return string(got)
}

func getPacket(t *testing.T, extra ...string) []byte {
	t.Helper()
	vars := []uwsgiVar{{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "/x/?a=1"}, {"PATH_INFO", "/x/"},
		{"QUERY_STRING", "a=1"}, {"SERVER_PROTOCOL", "HTTP/1.1"}, {"REMOTE_ADDR", "10.0.0.7"}, {"REMOTE_PORT", "4242"}}
	for i := 0; i+1 < len(extra); i += 2 {
		vars = append(vars, uwsgiVar{extra[i], extra[i+1]})
	}
	b, err := appendUwsgiPacket(nil, &uwsgiPacket{vars: vars})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func errorResponse(code int) string {
	msg := errorPages[code]
	return fmt.Sprintf("HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n\r\n%s",
		code, http.StatusText(code), len(msg), msg)
}

func TestUwsgiServerAnswers(t *testing.T) {
	tests := []struct {
		name      string
		backend   error
		raw       func(t *testing.T) []byte
		want      string // the whole answer
		wantLog   string // a substring of the server log; "" means the log stays empty
		wantLine  string // a substring of the access log; "" means no line
		bufferSiz int
		halfClose bool // shut the write side after raw, as nginx does not
	}{
		{
			name:    "packet larger than the buffer: logged, unanswered",
			raw:     func(t *testing.T) []byte { return packet(0, 5000, 0, make([]byte, 5000)) },
			wantLog: "invalid request block size: 5000 (max 4096)...skip; the request headers are too large for --buffer-size 4096",
		},
		{
			name:      "a larger buffer size takes it",
			bufferSiz: 8192,
			backend:   pyworker.ErrStopping,
			raw: func(t *testing.T) []byte {
				return getPacket(t, "HTTP_COOKIE", strings.Repeat("c", 5000))
			},
			want:     errorResponse(503),
			wantLog:  "gowsgi is shutting down",
			wantLine: `10.0.0.7 - [`,
		},
		{
			name:    "modifier other than WSGI: logged, unanswered",
			raw:     func(t *testing.T) []byte { return packet(30, 0, 0, nil) },
			wantLog: "unavailable modifier requested: modifier1 30",
		},
		{
			name:    "malformed vars: 400",
			raw:     func(t *testing.T) []byte { return withVars(0, kv("REQUEST_METHOD", "GET", "PATH_INFO", "/a\x00")) },
			want:    errorResponse(400),
			wantLog: "has a NUL byte; answered 400",
		},
		{
			name:     "no REQUEST_METHOD: 400",
			raw:      func(t *testing.T) []byte { return withVars(0, kv("PATH_INFO", "/")) },
			want:     errorResponse(400),
			wantLine: `"  HTTP/1.1" 400 `,
		},
		{
			name:     "backend stopping: 503",
			backend:  pyworker.ErrStopping,
			raw:      func(t *testing.T) []byte { return getPacket(t) },
			want:     errorResponse(503),
			wantLog:  "gowsgi is shutting down",
			wantLine: `10.0.0.7 - [`,
		},
		{
			name:     "HEAD gets the error headers only",
			backend:  pyworker.ErrStopping,
			raw:      func(t *testing.T) []byte { return withVars(0, kv("REQUEST_METHOD", "HEAD")) },
			want:     strings.TrimSuffix(errorResponse(503), errorPages[503]),
			wantLog:  "gowsgi is shutting down",
			wantLine: `127.0.0.1 - [`, // REMOTE_ADDR from the connection
		},
		{
			// The body is not read past the first chunk: the close must still
			// let the client read the whole answer, not a reset.
			name:    "503 before a large body is read",
			backend: pyworker.ErrStopping,
			raw: func(t *testing.T) []byte {
				return append(getPacket(t, "CONTENT_LENGTH", "16777216"), make([]byte, 16<<20)...)
			},
			want:     errorResponse(503),
			wantLog:  "gowsgi is shutting down",
			wantLine: `"GET /x/?a=1 HTTP/1.1" 503 60 `,
		},
		{
			name:      "connection closed before a packet: nothing",
			raw:       func(t *testing.T) []byte { return nil },
			wantLog:   "",
			halfClose: true,
		},
		{
			name:      "body shorter than CONTENT_LENGTH: 499, nothing answered",
			backend:   pyworker.ErrStopping,
			raw:       func(t *testing.T) []byte { return append(getPacket(t, "CONTENT_LENGTH", "10"), "short"...) },
			wantLine:  `"GET /x/?a=1 HTTP/1.1" 499 0`,
			halfClose: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := startUwsgiServer(t, newFakeBackend(tc.backend), func(s *UwsgiServer) { s.BufferSize = tc.bufferSiz })
			raw := tc.raw(t)
			var got string
			if tc.halfClose {
				got = ts.exchangeHalfClosed(t, raw)
			} else {
				got = ts.exchange(t, raw)
			}
			if got != tc.want {
				t.Errorf("answer\n%q\nwant\n%q", got, tc.want)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			ts.Shutdown(ctx)
			ts.alog.Close()
			logs := ts.logs.String()
			if tc.wantLog == "" && logs != "" || !strings.Contains(logs, tc.wantLog) {
				t.Errorf("log %q, want %q", logs, tc.wantLog)
			}
			access := ts.access.String()
			if tc.wantLine == "" && access != "" || !strings.Contains(access, tc.wantLine) {
				t.Errorf("access log %q, want %q", access, tc.wantLine)
			}
		})
	}
}

// exchangeHalfClosed sends raw, shuts the write side (nginx's body ends
// early) and returns the answer.
func (ts *uwsgiTestServer) exchangeHalfClosed(t *testing.T, raw []byte) string {
	t.Helper()
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write(raw)
	c.(*net.TCPConn).CloseWrite()
	got, _ := io.ReadAll(c)
	return string(got)
}

func TestUwsgiServerHeaderTimeout(t *testing.T) {
	ts := startUwsgiServer(t, newFakeBackend(nil), func(s *UwsgiServer) { s.HeaderTimeout = 200 * time.Millisecond })
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte{0, 10}) // half a header, then silence
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	n, err := c.Read(make([]byte, 1))
	var ne net.Error
	if n != 0 || err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("read %d bytes, err %v: want the server to close the connection", n, err)
	}
	// Not before the timeout either: an earlier close is not the timeout's
	// (issue 13, bug 6).
	if d := time.Since(start); d > 5*time.Second || d < 100*time.Millisecond {
		t.Fatalf("closed after %s, want after the 200ms header timeout", d)
	}
}

// TestUwsgiServerPeerGoneWhileQueued: nginx closes the connection while the
// request waits for a worker (its client went away); the wait ends at once
// instead of after the queue timeout.
func TestUwsgiServerPeerGoneWhileQueued(t *testing.T) {
	be := newFakeBackend(nil)
	ts := startUwsgiServer(t, be, func(s *UwsgiServer) { s.QueueTimeout = time.Minute })
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Write(getPacket(t))
	<-be.waiting
	c.Close()
	select {
	case err := <-be.gaveUp:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("the wait ended with %v, want a cancellation", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the request still waits for a worker after nginx closed the connection")
	}
}

// TestUwsgiServerShutdown: Shutdown stops accepting, waits for the request
// in flight until its context ends, then closes it.
func TestUwsgiServerShutdown(t *testing.T) {
	be := newFakeBackend(nil)
	ts := startUwsgiServer(t, be, nil)
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(getPacket(t))
	<-be.waiting

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := ts.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want the context's deadline", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("Shutdown returned after %s, before its context ended", d)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := bufio.NewReader(c).ReadByte(); err == nil {
		t.Fatal("the in-flight connection is still open")
	}
	if _, err := net.DialTimeout("tcp", ts.addr, time.Second); err == nil {
		t.Fatal("still accepting after Shutdown")
	}
}
