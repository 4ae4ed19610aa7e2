package gateway

import (
	"bufio"
	"bytes"
	"context"
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
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(raw); err != nil {
		t.Fatal(err)
	}
	if halfClose {
		c.(*net.TCPConn).CloseWrite()
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

func TestHostileHTTPCorpus(t *testing.T) {
	be := &countingBackend{}
	logs := &lockedBuffer{}
	srv := NewServer(&Handler{Backend: be, QueueTimeout: time.Second, LimitPost: 1 << 20}, log.New(logs, "", 0), 0, 5*time.Second)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	for _, tc := range loadCorpus(t, "http", ".req") {
		t.Run(tc.Name, func(t *testing.T) {
			before := be.n.Load()
			statuses, _, closed := sendRaw(t, ln.Addr().String(), tc.Raw, tc.HalfClose)
			want := make([]int, len(tc.Responses))
			for i, s := range tc.Responses {
				if s == http.StatusOK {
					s = http.StatusServiceUnavailable // what the counting backend answers
				}
				want[i] = s
			}
			if fmt.Sprint(statuses) != fmt.Sprint(want) {
				t.Errorf("responses %v, want %v", statuses, want)
			}
			if tc.Closed && !closed {
				t.Errorf("the connection is still open")
			}
			if n := int(be.n.Load() - before); n != tc.App {
				t.Errorf("%d request(s) reached the backend, want %d", n, tc.App)
			}
			for _, re := range tc.Logs {
				if !re.MatchString(logs.String()) {
					t.Errorf("log does not match %q:\n%s", re, logs)
				}
			}
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
			before := be.n.Load()
			statuses, _, closed := sendRaw(t, ln.Addr().String(), tc.Raw, tc.HalfClose)
			want := make([]int, len(tc.Responses))
			for i, s := range tc.Responses {
				if s == http.StatusOK {
					s = http.StatusServiceUnavailable // what the counting backend answers
				}
				want[i] = s
			}
			if fmt.Sprint(statuses) != fmt.Sprint(want) {
				t.Errorf("responses %v, want %v", statuses, want)
			}
			if !closed {
				t.Errorf("the connection is still open")
			}
			if n := int(be.n.Load() - before); n != tc.App {
				t.Errorf("%d request(s) reached the backend, want %d", n, tc.App)
			}
			for _, re := range tc.Logs {
				if !re.MatchString(logs.String()) {
					t.Errorf("log does not match %q:\n%s", re, logs)
				}
			}
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
// cut in. Each case cuts where the guard would (the offending byte).
func TestGuardPoisonIsRefused(t *testing.T) {
	tests := []struct{ name, prefix string }{
		{"at the start", ""},
		{"in the method", "GE"},
		{"in the target", "GET /he"},
		{"in the version", "GET / HTTP/1."},
		{"after the version's CR", "GET / HTTP/1.1\r"},
		{"at a header line's start", "GET / HTTP/1.1\r\nHost: x\r\n"},
		{"in a header name", "GET / HTTP/1.1\r\nHost: x\r\nX-Fo"},
		{"in a Transfer-Encoding value", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip"},
		{"in a Content-Length value", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5"},
		{"after a value's CR", "GET / HTTP/1.1\r\nHost: x\r\nX-Foo: a\r"},
		{"in a chunk size", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5"},
		{"in a chunk extension", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b"},
		{"after chunk data", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello"},
		{"at a trailer line", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"},
		{"in a trailer value", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1"},
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
			statuses, _, _ := sendRaw(t, ln.Addr().String(), []byte(tc.prefix+guardPoison), true)
			if len(statuses) != 1 || statuses[0] != http.StatusBadRequest {
				t.Fatalf("net/http answered %v to %q, want [400]", statuses, tc.prefix+guardPoison)
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
