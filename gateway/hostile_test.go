package gateway

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/hostile"
	"github.com/gowsgi/gowsgi/pyworker"
)

// These tests run the hostile-request corpus of testdata/hostile (see
// make_corpus.py there) against the gateway alone: no worker, so a
// request that would reach the app gets 503 from a backend that counts
// it. cmd/gowsgi/hostile_test.go runs the same corpus against real gowsgi
// processes and real Python workers.

// loadCorpus loads the corpus of testdata/hostile/dir (see internal/hostile).
func loadCorpus(t *testing.T, dir, ext string) []hostile.Case {
	t.Helper()
	cases, err := hostile.Load(filepath.Join("..", "testdata", "hostile"), dir, ext)
	if err != nil {
		t.Fatal(err)
	}
	return cases
}

// countingBackend counts the requests that got as far as taking a worker
// and refuses them all with 503.
type countingBackend struct{ n atomic.Int32 }

func (b *countingBackend) Acquire(ctx context.Context, _ *pyworker.Request) (Slot, error) {
	b.n.Add(1)
	return nil, pyworker.ErrStopping
}

func (b *countingBackend) Release(Slot) {}

// sendRaw sends raw on a new connection and reads every response until
// the server closes it. closed is false when the server kept it open (the
// read timed out).
func sendRaw(t *testing.T, addr string, raw []byte, halfClose bool) (statuses []int, first http.Header, closed bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return exchangeOn(t, c, raw, halfClose)
}

// sendRawTLS is sendRaw over TLS: raw is what the handshake's connection
// carries.
func sendRawTLS(t *testing.T, addr string, conf *tls.Config, raw []byte, halfClose bool) (statuses []int, first http.Header, closed bool) {
	t.Helper()
	c, err := tls.Dial("tcp", addr, conf)
	if err != nil {
		t.Fatal(err)
	}
	return exchangeOn(t, c, raw, halfClose)
}

// exchangeOn is sendRaw on c, which it closes.
func exchangeOn(t *testing.T, c net.Conn, raw []byte, halfClose bool) (statuses []int, first http.Header, closed bool) {
	t.Helper()
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(raw); err != nil {
		t.Fatal(err)
	}
	if halfClose {
		// *net.TCPConn, or *tls.Conn: close_notify, then the TCP half-close.
		c.(interface{ CloseWrite() error }).CloseWrite()
	}
	br := bufio.NewReader(c)
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			var ne net.Error
			return statuses, first, !(errors.As(err, &ne) && ne.Timeout())
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if first == nil {
			first = resp.Header
		}
		statuses = append(statuses, resp.StatusCode)
	}
}

// TestHostileHTTPCorpus runs testdata/hostile/http against the HTTP
// listener alone, on plain HTTP and on HTTPS: the framing guard reads what
// TLS decrypts, so every case gets the same answer on both.
// sender sends raw on a new connection (sendRaw, or over TLS) and reads
// every answer until the connection closes.
type sender func(t *testing.T, raw []byte, halfClose bool) ([]int, http.Header, bool)

// sendTo is the sender of a plain TCP address.
func sendTo(addr string) sender {
	return func(t *testing.T, raw []byte, halfClose bool) ([]int, http.Header, bool) {
		return sendRaw(t, addr, raw, halfClose)
	}
}

// checkCorpusCase sends tc and checks the answers (200 stands for the
// 503 the tests' backends and apps answer), the close, how many requests
// reached the app and the log. mustClose: every case ends its connection
// (the uwsgi protocol: one request per connection).
func checkCorpusCase(t *testing.T, send sender, tc hostile.Case, reached func() int32, logs *lockedBuffer, mustClose bool) {
	t.Helper()
	before := reached()
	statuses, _, closed := send(t, tc.Raw, tc.HalfClose)
	want := make([]int, len(tc.Responses))
	for i, s := range tc.Responses {
		if s == http.StatusOK {
			s = http.StatusServiceUnavailable
		}
		want[i] = s
	}
	if fmt.Sprint(statuses) != fmt.Sprint(want) {
		t.Errorf("responses %v, want %v", statuses, want)
	}
	if (tc.Closed || mustClose) && !closed {
		t.Errorf("the connection is still open")
	}
	if n := int(reached() - before); n != tc.App {
		t.Errorf("%d request(s) reached the app, want %d", n, tc.App)
	}
	for _, re := range tc.Logs {
		if !re.MatchString(logs.String()) {
			t.Errorf("log does not match %q:\n%s", re, logs)
		}
	}
}

func TestHostileHTTPCorpus(t *testing.T) {
	serverTLS, clientTLS := testTLSConfigs(t)
	for _, listener := range []struct {
		name string
		tls  bool
	}{{"http", false}, {"https", true}} {
		t.Run(listener.name, func(t *testing.T) { testHostileHTTPCorpus(t, listener.tls, serverTLS, clientTLS) })
	}
}

func testHostileHTTPCorpus(t *testing.T, useTLS bool, serverTLS, clientTLS *tls.Config) {
	be := &countingBackend{}
	logs := &lockedBuffer{}
	srv := NewServer(&Handler{Backend: be, QueueTimeout: time.Second, LimitPost: 1 << 20}, log.New(logs, "", 0), 0, 5*time.Second)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	send := sendTo(addr)
	if useTLS {
		ln = tls.NewListener(ln, serverTLS) // as master/tls.go serves https
		send = func(t *testing.T, raw []byte, halfClose bool) ([]int, http.Header, bool) {
			return sendRawTLS(t, addr, clientTLS, raw, halfClose)
		}
	}
	srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	for _, tc := range loadCorpus(t, "http", ".req") {
		t.Run(tc.Name, func(t *testing.T) {
			checkCorpusCase(t, send, tc, be.n.Load, logs, false)
		})
	}
}

// TestHostileUwsgiCorpus runs testdata/hostile/uwsgi against the uwsgi
// listener alone, as TestHostileHTTPCorpus does for HTTP: the answers come
// from the pipeline both listeners share.
func TestHostileUwsgiCorpus(t *testing.T) {
	be := &countingBackend{}
	logs := &lockedBuffer{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// LimitPost as in cmd/gowsgi's corpus test, which the .expect files assume.
	srv := &UwsgiServer{Backend: be, QueueTimeout: time.Second, HeaderTimeout: 2 * time.Second, LimitPost: 1 << 20,
		Logf: func(f string, a ...any) { fmt.Fprintf(logs, f+"\n", a...) }}
	srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	for _, tc := range loadCorpus(t, "uwsgi", ".pkt") {
		t.Run(tc.Name, func(t *testing.T) {
			checkCorpusCase(t, sendTo(ln.Addr().String()), tc, be.n.Load, logs, true)
		})
	}
}

// TestFramingSplitReads feeds every corpus request to the framing guard in
// two reads, split at each offset: the guard must refuse at the same byte
// as when it reads everything at once (net/http's reads split requests
// anywhere).
func TestFramingSplitReads(t *testing.T) {
	refused := 0
	for _, tc := range loadCorpus(t, "http", ".req") {
		t.Run(tc.Name, func(t *testing.T) {
			var whole framing
			want := whole.scan(tc.Raw)
			if want >= 0 {
				refused++
			}
			for i := 0; i <= len(tc.Raw); i++ {
				if got := scanSplit(tc.Raw, i); got != want {
					t.Fatalf("split at %d: refused at %d, want %d", i, got, want)
				}
			}
		})
	}
	// A guard that refused nothing would agree with itself at every split
	// (issue 13, bug 6): the corpus has requests it must refuse.
	if refused == 0 {
		t.Fatal("the framing guard refused no request of the corpus")
	}
}

func scanSplit(raw []byte, at int) int {
	var f framing
	if bad := f.scan(raw[:at]); bad >= 0 {
		return bad
	}
	if bad := f.scan(raw[at:]); bad >= 0 {
		return at + bad
	}
	return -1
}

// TestTransferCodings pins how the guard reads a Transfer-Encoding value:
// exactly chunked is read, chunked before another coding is a framing
// error (400), other well-formed lists get 501, and anything net/http
// would read differently is malformed (400).
func TestTransferCodings(t *testing.T) {
	tests := []struct {
		v    string
		want codings
	}{
		{"chunked", codingsChunked},
		{"Chunked", codingsChunked},
		{"gzip", codingsUnimplemented},
		{"identity", codingsUnimplemented},
		{"xchunked", codingsUnimplemented},
		{"gzip, chunked", codingsUnimplemented},
		{"gzip,deflate,\tchunked", codingsUnimplemented},
		{"gzip, deflate", codingsUnimplemented},
		{"chunked, gzip", codingsChunkedNotLast},
		{"chunked, chunked", codingsChunkedNotLast},
		{"gzip, chunked, chunked", codingsChunkedNotLast},
		{"", codingsMalformed},
		{"gzip,,chunked", codingsMalformed},
		{", chunked", codingsMalformed},
		{"chunked;q=1", codingsMalformed},
		{"chunked chunked", codingsMalformed},
		{"chun\u212aed", codingsMalformed}, // a Kelvin sign: strings.EqualFold alone would call it chunked
	}
	for _, tc := range tests {
		if got := transferCodings(tc.v); got != tc.want {
			t.Errorf("transferCodings(%q) = %d, want %d", tc.v, got, tc.want)
		}
	}
}

// FuzzFraming: whatever the bytes, the guard never panics and refuses at
// the same byte however the bytes are split into reads.
func FuzzFraming(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "hostile", "http", "*.req"))
	for _, file := range files {
		raw, _ := os.ReadFile(file)
		f.Add(raw, uint16(len(raw)/2))
	}
	f.Fuzz(func(t *testing.T, raw []byte, at uint16) {
		var whole framing
		want := whole.scan(raw)
		split := int(at) % (len(raw) + 1)
		if got := scanSplit(raw, split); got != want {
			t.Fatalf("split at %d: refused at %d, want %d", split, got, want)
		}
	})
}

// TestGuardPoisonIsRefused: the bytes a refused connection reads are a
// request net/http refuses with 400, whatever it was parsing when the guard
// cut in, or with 501 after an unimplemented transfer coding. Each case
// cuts where the guard would (the offending byte).
func TestGuardPoisonIsRefused(t *testing.T) {
	tests := []struct {
		name, prefix string
		status       int // 0: 400, with guardPoison
	}{
		{name: "at the start", prefix: ""},
		{name: "in the method", prefix: "GE"},
		{name: "in the target", prefix: "GET /he"},
		{name: "in the version", prefix: "GET / HTTP/1."},
		{name: "after the version's CR", prefix: "GET / HTTP/1.1\r"},
		{name: "at a header line's start", prefix: "GET / HTTP/1.1\r\nHost: x\r\n"},
		{name: "in a header name", prefix: "GET / HTTP/1.1\r\nHost: x\r\nX-Fo"},
		{name: "in a Transfer-Encoding value", prefix: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip"},
		{name: "in a Content-Length value", prefix: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5"},
		{name: "after a value's CR", prefix: "GET / HTTP/1.1\r\nHost: x\r\nX-Foo: a\r"},
		{name: "in a chunk size", prefix: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5"},
		{name: "in a chunk extension", prefix: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b"},
		{name: "after chunk data", prefix: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello"},
		{name: "at a trailer line", prefix: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"},
		{name: "in a trailer value", prefix: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1"},
		{name: "a gzip request's blank line", prefix: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n", status: http.StatusNotImplemented},
		{name: "a gzip, chunked request's blank line", prefix: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\nContent-Type: text/plain\r\n", status: http.StatusNotImplemented},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var bodyErr error
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, bodyErr = io.ReadAll(r.Body)
				if bodyErr != nil {
					w.WriteHeader(http.StatusBadRequest)
				}
			})
			srv := &http.Server{Handler: h}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go srv.Serve(ln)
			defer srv.Close()
			poison, want := guardPoison, http.StatusBadRequest
			if tc.status != 0 {
				poison, want = guardPoison501, tc.status
			}
			statuses, _, _ := sendRaw(t, ln.Addr().String(), []byte(tc.prefix+poison), true)
			if len(statuses) != 1 || statuses[0] != want {
				t.Fatalf("net/http answered %v to %q, want [%d]", statuses, tc.prefix+poison, want)
			}
		})
	}
}

// TestReadBody pins what the app is handed, or why not.
func TestReadBody(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 10000) // 160000 bytes: spooled
	tests := []struct {
		name    string
		body    io.Reader
		cl      int64
		want    []byte
		wantErr error
	}{
		{"small, with length", strings.NewReader("hello"), 5, []byte("hello"), nil},
		{"small, chunked", strings.NewReader("hello"), -1, []byte("hello"), nil},
		{"large, with length", bytes.NewReader(big), int64(len(big)), big, nil},
		{"large, chunked", bytes.NewReader(big), -1, big, nil},
		{"shorter than its length", strings.NewReader("hel"), 5, nil, io.ErrUnexpectedEOF},
		{"large, shorter than its length", bytes.NewReader(big), int64(len(big)) + 1, nil, io.ErrUnexpectedEOF},
		// Regression: io.ReadFull reported a chunked body cut by the client
		// as complete, and the app got the part that had arrived.
		{"chunked, cut short", io.MultiReader(strings.NewReader("hel"), errReader{io.ErrUnexpectedEOF}), -1, nil, io.ErrUnexpectedEOF},
		{"large chunked, cut short", io.MultiReader(bytes.NewReader(big), errReader{io.ErrUnexpectedEOF}), -1, nil, io.ErrUnexpectedEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := &pyworker.Request{}
			size, err := readBody(req, tc.body, tc.cl)
			defer closeSpool(req)
			if !errors.Is(err, tc.wantErr) || (err != nil) != (tc.wantErr != nil) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			got := append([]byte(nil), req.First...)
			if !req.FirstEOF {
				rest, err := io.ReadAll(req.Body)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, rest...)
			}
			if size != int64(len(tc.want)) || !bytes.Equal(got, tc.want) {
				t.Fatalf("size %d, %d bytes handed on; want %d", size, len(got), len(tc.want))
			}
		})
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestCheckRequest(t *testing.T) {
	many := "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-A: 1\r\n", MaxHeaders+1) + "\r\n"
	enough := "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-A: 1\r\n", MaxHeaders) + "\r\n"
	tests := []struct {
		raw  string
		want int
	}{
		{"GET /a HTTP/1.1\r\nHost: x\r\n\r\n", 0},
		{"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 0},
		{"GET http://x HTTP/1.1\r\nHost: x\r\n\r\n", 0},
		{"GET * HTTP/1.1\r\nHost: x\r\n\r\n", http.StatusBadRequest},
		{"CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n", http.StatusBadRequest},
		{enough, 0},
		{many, http.StatusRequestHeaderFieldsTooLarge},
	}
	for _, tc := range tests {
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(tc.raw)))
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := checkRequest(r); got != tc.want {
			t.Errorf("%q: %d, want %d", trunc(tc.raw), got, tc.want)
		}
	}
}

func trunc(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}
