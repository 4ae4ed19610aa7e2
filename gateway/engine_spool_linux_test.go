package gateway

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/pyworker"
)

// These tests are about the engine's spool: a body larger than
// engineMaxBuffered goes to a temporary file as it arrives, in epoll, and
// the request reaches a thread only once all of it has (issue 14: a slow
// client holds no Python thread). Each test sets its own TMPDIR and counts
// the spool files this process holds open there (they are unlinked at
// once, so /proc/self/fd is where they show).

// hashApp answers each request with its body's length and SHA-256, and
// how many spool files were open while it ran.
type hashApp struct {
	dir string
	n   atomic.Int32
}

func (a *hashApp) Run(req *pyworker.Request, out pyworker.Responder) error {
	a.n.Add(1)
	h := sha256.New()
	n, _ := h.Write(req.First)
	size := int64(n)
	if req.Body != nil {
		m, err := io.Copy(h, req.Body)
		if err != nil {
			return &pyworker.AppError{Traceback: err.Error()}
		}
		size += m
	}
	msg := fmt.Sprintf("%d %s %d", size, hex.EncodeToString(h.Sum(nil)), spoolFiles(a.dir))
	if err := out.Start("200 OK", [][2]string{{"Content-Length", fmt.Sprint(len(msg))}}); err != nil {
		return &pyworker.BadResponseError{Err: err}
	}
	if err := out.Write([]byte(msg)); err != nil {
		return pyworker.ErrClientGone
	}
	return nil
}

// spoolFiles counts the request body files under dir this process holds
// open.
func spoolFiles(dir string) int {
	fds, _ := os.ReadDir("/proc/self/fd")
	n := 0
	for _, fd := range fds {
		if target, err := os.Readlink("/proc/self/fd/" + fd.Name()); err == nil && strings.HasPrefix(target, filepath.Join(dir, "gowsgi-body-")) {
			n++
		}
	}
	return n
}

// waitSpoolFiles waits until n spool files are open under dir, and no
// file is there by name (a spool is unlinked just after its creation).
func waitSpoolFiles(t *testing.T, dir string, n int, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		left, _ := os.ReadDir(dir)
		open := spoolFiles(dir)
		if open == n && len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d request body files open under TMPDIR, want %d; %d there by name, want none", what, open, n, len(left))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// spoolTmp gives the test its own TMPDIR.
func spoolTmp(t *testing.T) string {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	return dir
}

func bodyPattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

func wantHash(body []byte) string {
	sum := sha256.Sum256(body)
	return fmt.Sprintf("%d %s", len(body), hex.EncodeToString(sum[:]))
}

// uploader writes one POST in pieces, as a slow client does.
type uploader struct {
	c       net.Conn
	chunked bool
}

func (u uploader) head(size int, extra string) error {
	framing := fmt.Sprintf("Content-Length: %d", size)
	if u.chunked {
		framing = "Transfer-Encoding: chunked"
	}
	_, err := fmt.Fprintf(u.c, "POST /up HTTP/1.1\r\nHost: x\r\n%s\r\n%s\r\n", framing, extra)
	return err
}

func (u uploader) piece(p []byte) error {
	if u.chunked {
		p = append(append([]byte(fmt.Sprintf("%x\r\n", len(p))), p...), "\r\n"...)
	}
	_, err := u.c.Write(p)
	return err
}

func (u uploader) end() error {
	if !u.chunked {
		return nil
	}
	_, err := io.WriteString(u.c, "0\r\n\r\n")
	return err
}

func framingName(chunked bool) string {
	if chunked {
		return "chunked"
	}
	return "Content-Length"
}

// getWithin asks addr for / on a new connection and returns the status.
func getWithin(addr string, d time.Duration) (int, error) {
	c, err := net.DialTimeout("tcp", addr, d)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(d))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func readAnswer(t *testing.T, br *bufio.Reader) (int, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the answer's body: %v", err)
	}
	return resp.StatusCode, string(b)
}

// TestEngineSpoolSlowUpload: a 5 MiB upload sent slowly, to a worker with
// one thread, leaves that thread free: a GET on another connection is
// answered in the middle of it (before the spool, the thread read the
// body from the socket and the GET waited for the upload's end). The body
// reaches the app whole, a Content-Length one from the spool itself (one
// file open while the app runs, not two), and no file is left behind.
func TestEngineSpoolSlowUpload(t *testing.T) {
	for _, chunked := range []bool{false, true} {
		t.Run(framingName(chunked), func(t *testing.T) {
			dir, _, te, c := spoolSetup(t, "http", EngineSettings{Timeout: 10 * time.Second}, 30*time.Second)
			body := bodyPattern(5 << 20)
			u := uploader{c: c, chunked: chunked}
			if err := u.head(len(body), ""); err != nil {
				t.Fatal(err)
			}
			const piece = 64 << 10
			for sent := 0; sent < len(body); sent += piece {
				if err := u.piece(body[sent : sent+piece]); err != nil {
					t.Fatal(err)
				}
				if sent == 2<<20 {
					// Well past engineMaxBuffered: the engine spools, and
					// its only thread serves others meanwhile.
					waitSpoolFiles(t, dir, 1, "mid-upload")
					if code, err := getWithin(te.addr, 3*time.Second); err != nil || code != 200 {
						t.Fatalf("a GET in the middle of the upload: status %d, %v: the upload holds the engine's only thread\n%s", code, err, te.logs)
					}
				}
				time.Sleep(2 * time.Millisecond) // a slow client
			}
			if err := u.end(); err != nil {
				t.Fatal(err)
			}
			code, got := readAnswer(t, bufio.NewReader(c))
			files := 1 // the spool, handed over as the request's body
			if chunked {
				files = 2 // and the pipeline's decoded copy (body.go)
			}
			if want := fmt.Sprintf("%s %d", wantHash(body), files); code != 200 || got != want {
				t.Fatalf("answer %d %q, want 200 %q\n%s", code, got, want, te.logs)
			}
			waitSpoolFiles(t, dir, 0, "after the upload")
		})
	}
}

// TestEngineSpoolPipelined: requests pipelined behind a spooled one, in
// the same writes as its body's end, are served after it.
func TestEngineSpoolPipelined(t *testing.T) {
	for _, chunked := range []bool{false, true} {
		t.Run(framingName(chunked), func(t *testing.T) {
			dir, _, te, c := spoolSetup(t, "http", EngineSettings{Timeout: 10 * time.Second}, 30*time.Second)
			body := bodyPattern(3<<20 + 17)
			small := []byte("the next one")
			var all bytes.Buffer
			u := uploader{c: &bufConn{Conn: c, w: &all}, chunked: chunked}
			u.head(len(body), "")
			u.piece(body)
			u.end()
			fmt.Fprintf(&all, "POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%sGET /three HTTP/1.1\r\nHost: x\r\n\r\n", len(small), small)
			go func() {
				// In pieces that straddle the ends of the requests.
				b := all.Bytes()
				for len(b) > 0 {
					k := min(len(b), 100000)
					if _, err := c.Write(b[:k]); err != nil {
						return
					}
					b = b[k:]
				}
			}()
			br := bufio.NewReader(c)
			for i, want := range []string{wantHash(body), wantHash(small), wantHash(nil)} {
				code, got := readAnswer(t, br)
				if code != 200 || !strings.HasPrefix(got, want+" ") {
					t.Fatalf("answer %d: %d %q, want 200 %q\n%s", i, code, got, want, te.logs)
				}
			}
			waitSpoolFiles(t, dir, 0, "after the requests")
		})
	}
}

// bufConn collects what an uploader writes.
type bufConn struct {
	net.Conn
	w io.Writer
}

func (c *bufConn) Write(p []byte) (int, error) { return c.w.Write(p) }

// TestEngineSpoolLimitPostChunked: a chunked body that passes limit-post
// is answered 413 as soon as it does, in memory or spooled, before its
// end arrives and without the app (before, one under engineMaxBuffered
// waited for its end, here for the 408).
func TestEngineSpoolLimitPostChunked(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit int64
	}{
		{"in memory", 100 << 10},
		{"spooled", 2 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, app, te, c := spoolSetup(t, "http", EngineSettings{LimitPost: tc.limit, Timeout: 10 * time.Second}, 5*time.Second)
			answered := make(chan int, 1)
			go func() {
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					answered <- 0
					return
				}
				answered <- resp.StatusCode
			}()
			u := uploader{c: c, chunked: true}
			u.head(0, "")
			// One byte past the limit, and no last chunk.
			body := bodyPattern(int(tc.limit) + 1)
			for sent := 0; sent < len(body); sent += 32 << 10 {
				if err := u.piece(body[sent:min(len(body), sent+32<<10)]); err != nil {
					break // answered and closed
				}
			}
			if code := <-answered; code != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d, want 413 before the body's end\n%s", code, te.logs)
			}
			if n := app.n.Load(); n != 0 {
				t.Fatalf("the app ran %d times", n)
			}
			waitSpoolFiles(t, dir, 0, "after the 413")
		})
	}
}

// TestEngineSpoolStalled: an upload that stops in the middle of its
// spooled body is answered 408 after socket-timeout, and its spool is
// closed.
func TestEngineSpoolStalled(t *testing.T) {
	for _, chunked := range []bool{false, true} {
		t.Run(framingName(chunked), func(t *testing.T) {
			dir, app, te, c := spoolSetup(t, "http", EngineSettings{Timeout: time.Second}, 10*time.Second)
			u := uploader{c: c, chunked: chunked}
			body := bodyPattern(2 << 20)
			u.head(5<<20, "")
			for sent := 0; sent < len(body); sent += 64 << 10 {
				u.piece(body[sent : sent+64<<10])
			}
			waitSpoolFiles(t, dir, 1, "while it stalls")
			start := time.Now()
			code, _ := readAnswer(t, bufio.NewReader(c))
			if code != http.StatusRequestTimeout {
				t.Fatalf("status %d, want 408\n%s", code, te.logs)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("answered after %s, socket-timeout is 1s", d)
			}
			waitSpoolFiles(t, dir, 0, "after the 408")
			if n := app.n.Load(); n != 0 {
				t.Fatalf("the app ran %d times", n)
			}
		})
	}
}

// spoolSetup is a spool test's engine (one thread, a hashApp, the test's
// own TMPDIR) and a connection to it that gives up after within.
func spoolSetup(t *testing.T, kind string, s EngineSettings, within time.Duration) (string, *hashApp, *testEngine, net.Conn) {
	t.Helper()
	dir := spoolTmp(t)
	app := &hashApp{dir: dir}
	te := startEngine(t, kind, s, app, 1)
	c, err := net.Dial("tcp", te.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(within))
	return dir, app, te, c
}

// TestEngineSpoolUwsgi: a uwsgi body larger than engineMaxBuffered, sent
// slowly, is spooled and reaches the app whole.
func TestEngineSpoolUwsgi(t *testing.T) {
	dir, _, te, c := spoolSetup(t, "uwsgi", EngineSettings{Timeout: 10 * time.Second}, 30*time.Second)
	body := bodyPattern(3 << 20)
	var vars []byte
	for _, kv := range [][2]string{{"REQUEST_METHOD", "POST"}, {"REQUEST_URI", "/up"}, {"PATH_INFO", "/up"},
		{"SERVER_PROTOCOL", "HTTP/1.1"}, {"HTTP_HOST", "x"}, {"CONTENT_LENGTH", fmt.Sprint(len(body))}} {
		vars = binary.LittleEndian.AppendUint16(vars, uint16(len(kv[0])))
		vars = append(vars, kv[0]...)
		vars = binary.LittleEndian.AppendUint16(vars, uint16(len(kv[1])))
		vars = append(vars, kv[1]...)
	}
	pkt := append([]byte{0}, binary.LittleEndian.AppendUint16(nil, uint16(len(vars)))...)
	pkt = append(append(pkt, 0), vars...)
	if _, err := c.Write(pkt); err != nil {
		t.Fatal(err)
	}
	for sent := 0; sent < len(body); sent += 64 << 10 {
		if _, err := c.Write(body[sent : sent+64<<10]); err != nil {
			t.Fatal(err)
		}
		if sent == 2<<20 {
			waitSpoolFiles(t, dir, 1, "mid-upload")
		}
		time.Sleep(2 * time.Millisecond)
	}
	code, got := readAnswer(t, bufio.NewReader(c))
	if want := wantHash(body) + " 1"; code != 200 || got != want {
		t.Fatalf("answer %d %q, want 200 %q\n%s", code, got, want, te.logs)
	}
	waitSpoolFiles(t, dir, 0, "after the upload")
}

// TestEngineSpoolRefused: a chunked body whose framing breaks after it
// was spooled is refused 400 by the framing guard, as one in memory is,
// without the app, and its spool is closed.
func TestEngineSpoolRefused(t *testing.T) {
	dir, app, te, c := spoolSetup(t, "http", EngineSettings{Timeout: 10 * time.Second}, 10*time.Second)
	u := uploader{c: c, chunked: true}
	u.head(0, "")
	body := bodyPattern(2 << 20)
	for sent := 0; sent < len(body); sent += 64 << 10 {
		u.piece(body[sent : sent+64<<10])
	}
	waitSpoolFiles(t, dir, 1, "before the bad chunk")
	io.WriteString(c, "zz\r\n")
	code, _ := readAnswer(t, bufio.NewReader(c))
	if code != http.StatusBadRequest || !strings.Contains(te.logs.String(), "a chunk size that is not hex") {
		t.Fatalf("status %d, want 400 for a chunk size that is not hex\n%s", code, te.logs)
	}
	waitSpoolFiles(t, dir, 0, "after the 400")
	if n := app.n.Load(); n != 0 {
		t.Fatalf("the app ran %d times", n)
	}
}

// TestEngineSpoolExpectContinue: "Expect: 100-continue" on a body that is
// then spooled is still answered at the head.
func TestEngineSpoolExpectContinue(t *testing.T) {
	dir, _, te, c := spoolSetup(t, "http", EngineSettings{Timeout: 10 * time.Second}, 10*time.Second)
	body := bodyPattern(3 << 20)
	u := uploader{c: c}
	u.head(len(body), "Expect: 100-continue\r\n")
	br := bufio.NewReader(c)
	if line, err := br.ReadString('\n'); err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("first line %q, %v; want 100 Continue", line, err)
	}
	br.ReadString('\n')
	u.piece(body)
	if code, got := readAnswer(t, br); code != 200 || got != wantHash(body)+" 1" {
		t.Fatalf("answer %d %q\n%s", code, got, te.logs)
	}
	waitSpoolFiles(t, dir, 0, "after the upload")
}

// FuzzScanRequest: scanRequest, which the engine scans a spooled body
// with, stops exactly where scan counts the request's end, and refuses at
// the byte scan does.
func FuzzScanRequest(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "hostile", "http", "*.req"))
	for _, file := range files {
		raw, _ := os.ReadFile(file)
		f.Add(raw)
	}
	f.Add([]byte("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Add([]byte("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nX-T: 1\r\n\r\nPOST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nz"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var whole framing
		want := whole.scan(raw)
		var g framing
		got := -1
		for i := 0; i < len(raw) && got < 0; {
			if g.heads == g.ends {
				// Outside a body: a byte at a time, so that a body is
				// scanned by scanRequest from its first byte.
				if g.scan(raw[i:i+1]) >= 0 {
					got = i
				}
				i++
				continue
			}
			ends := g.ends
			n, bad := g.scanRequest(raw[i:])
			if bad >= 0 {
				if n != bad {
					t.Fatalf("scanRequest returned n %d with bad %d", n, bad)
				}
				got = i + bad
				break
			}
			if i+n < len(raw) && g.ends != ends+1 {
				t.Fatalf("scanRequest stopped at %d of %d with the request not ended", i+n, len(raw))
			}
			if g.ends == ends+1 {
				var before framing
				before.scan(raw[:i+n-1])
				if before.ends != ends {
					t.Fatalf("the request ended before byte %d, where scanRequest stopped", i+n)
				}
			}
			i += n
		}
		if got != want || got < 0 && (g.heads != whole.heads || g.ends != whole.ends) {
			t.Fatalf("refused at %d, heads %d, ends %d; scan whole: %d, %d, %d", got, g.heads, g.ends, want, whole.heads, whole.ends)
		}
	})
}

// TestEngineSpoolCannotCreate: a body the spool cannot keep (here TMPDIR
// does not exist; in life a full disk) is answered 503, and the log names
// the file error.
func TestEngineSpoolCannotCreate(t *testing.T) {
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "missing"))
	app := &hashApp{}
	te := startEngine(t, "http", EngineSettings{Timeout: 10 * time.Second}, app, 1)
	c, err := net.Dial("tcp", te.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	u := uploader{c: c}
	u.head(3<<20, "")
	u.piece(bodyPattern(3 << 20))
	code, _ := readAnswer(t, bufio.NewReader(c))
	if code != http.StatusServiceUnavailable || !strings.Contains(te.logs.String(), "keeping the request body in a temporary file: open ") {
		t.Fatalf("status %d, want 503 with the file error logged\n%s", code, te.logs)
	}
}

// TestEngineUwsgiOverLimitDrains: a uwsgi request whose CONTENT_LENGTH is
// over limit-post is answered 413 before its body arrives, and the body
// that goes on coming is read and dropped by the engine's loop, not by
// the one thread that answered: a request on another connection is
// served while the body still arrives (before, the thread drained it
// until it stopped for 5 s). The body is read to its end, so the sender
// sees no reset (nginx would turn one into a 502), and the connection
// closes once it is in. With two threads the connection is armed once
// for the rest of its body, not again by the request's loop (the engine's
// cleanup counts a second arming: a second thread could take the event).
func TestEngineUwsgiOverLimitDrains(t *testing.T) {
	for _, threads := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d thread(s)", threads), func(t *testing.T) { overLimitDrains(t, threads) })
	}
}

func overLimitDrains(t *testing.T, threads int) {
	app := &helloApp{}
	te := startEngine(t, "uwsgi", EngineSettings{LimitPost: 1000, Timeout: 10 * time.Second}, app, threads)
	c, err := net.Dial("tcp", te.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	const size = 4 << 20
	post, err := appendUwsgiPacket(nil, &uwsgiPacket{vars: []uwsgiVar{{"REQUEST_METHOD", "POST"}, {"PATH_INFO", "/up/"},
		{"SERVER_PROTOCOL", "HTTP/1.1"}, {"CONTENT_LENGTH", strconv.Itoa(size)}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(post); err != nil {
		t.Fatal(err)
	}
	// The upload goes on, a piece every 20 ms, until the GET is answered
	// (or half the body, 5 s of it, is sent: the GET waited for it), then
	// the rest all at once.
	answered := make(chan struct{})
	uploaded := make(chan error, 1)
	var gotAnswerFirst atomic.Bool
	go func() {
		piece := bodyPattern(8 << 10)
		sent := 0
	slow:
		for sent < size/2 {
			select {
			case <-answered:
				gotAnswerFirst.Store(true)
				break slow
			case <-time.After(20 * time.Millisecond):
			}
			if _, err := c.Write(piece); err != nil {
				uploaded <- err
				return
			}
			sent += len(piece)
		}
		_, err := c.Write(bodyPattern(size - sent))
		uploaded <- err
	}()
	br := bufio.NewReader(c)
	if code, _ := readAnswer(t, br); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413\n%s", code, te.logs)
	}
	// The uwsgi answer ends with the connection's sending side.
	if b, err := io.ReadAll(br); err != nil || len(b) != 0 {
		t.Fatalf("after the 413: %q, %v", b, err)
	}
	g, err := net.Dial("tcp", te.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	g.SetDeadline(time.Now().Add(20 * time.Second))
	g.Write(getPacket(t))
	if code, body := readAnswer(t, bufio.NewReader(g)); code != 200 || body != "hello" {
		t.Fatalf("the GET: %d %q", code, body)
	}
	close(answered)
	if err := <-uploaded; err != nil {
		t.Fatalf("sending the rest of the body: %v (the engine stopped reading it)\n%s", err, te.logs)
	}
	if !gotAnswerFirst.Load() {
		t.Fatalf("the GET on another connection was answered only once the slow half of the upload was in:\n%s", te.logs)
	}
	if n := app.n.Load(); n != 1 {
		t.Fatalf("the app ran %d times, want 1 (the GET)", n)
	}
	// The whole body read, the engine closes the connection.
	deadline := time.Now().Add(10 * time.Second)
	for !te.e.idle() {
		if time.Now().After(deadline) {
			t.Fatalf("the drained connection is still open\n%s", te.logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
