package main

// This file sends the hostile requests, on raw TCP: malformed headers,
// request smuggling, an oversize header block, a slowloris, and clients
// that leave in the middle of a request or a response. They are not
// traffic; each must get a 4xx or a closed connection, and must not
// disturb the traffic (which the traffic's own accounting shows).

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// hostileTimeout is how long a hostile request waits for an answer or a
// close before it counts as a hang.
const hostileTimeout = 10 * time.Second

// slowlorisFor is how long the slowloris trickles its header before it
// leaves (gowsgi's header timeout is 30 s).
const slowlorisFor = 15 * time.Second

// hostileKind is one kind of hostile request.
type hostileKind struct {
	name string
	send func(h *hostile, ctx context.Context) hostileResult
}

// hostileKinds, in the order they take turns: quick ones between the
// slow ones.
var hostileKinds = []hostileKind{
	{"header-without-colon", rawRequest("GET /hello/ HTTP/1.1\r\nHost: {host}\r\nBad Header\r\n\r\n")},
	{"smuggle-cl-te", rawRequest(smuggleCLTE)},
	{"oversize-header-block", rawRequest("GET /hello/ HTTP/1.1\r\nHost: {host}\r\n" +
		strings.Repeat("X-Pad: "+strings.Repeat("a", 1000)+"\r\n", 100) + "\r\n")},
	{"slowloris", (*hostile).slowloris},
	{"nul-in-path", rawRequest("GET /hello/%00x HTTP/1.1\r\nHost: {host}\r\n\r\n")},
	{"smuggle-te-cl", rawRequest("POST /echo/ HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n" +
		"8\r\nSMUGGLED\r\n0\r\n\r\n")},
	{"disconnect-mid-response", (*hostile).leaveMidResponse},
	{"conflicting-content-lengths", rawRequest("POST /echo/ HTTP/1.1\r\nHost: {host}\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")},
	{"bad-chunk-size", rawRequest("POST /echo/ HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n")},
	{"obfuscated-transfer-encoding", rawRequest("POST /echo/ HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n")},
	{"disconnect-mid-body", (*hostile).leaveMidBody},
	{"space-before-colon", rawRequest("POST /echo/ HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding : chunked\r\nContent-Length: 3\r\n\r\nabc")},
	{"tls-handshake", rawRequest("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + strings.Repeat("\x00", 32) + "\r\n\r\n")},
}

// smuggleCLTE is a request whose Content-Length covers a second request
// that its chunked encoding leaves outside the body: a server that reads
// Transfer-Encoding and keeps the connection open answers the smuggled one
// too. RFC 9112 section 6.1: a server MAY reject such a request or process
// it by its Transfer-Encoding, and either way MUST close the connection
// after responding.
var smuggleCLTE = func() string {
	body := "0\r\n\r\nGET /hello/?smuggled=1 HTTP/1.1\r\nHost: smuggled\r\n\r\n"
	return fmt.Sprintf("POST /echo/ HTTP/1.1\r\nHost: {host}\r\nContent-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n%s",
		len(body), body)
}()

// hostileResult is what came of a hostile request. cut marks a failure
// that looks like a dead worker's (a 502, a body cut short), which a worker
// kill under way excuses.
type hostileResult struct {
	pass    bool
	outcome string
	cut     bool
}

func passed(outcome string) hostileResult { return hostileResult{pass: true, outcome: outcome} }
func failed(outcome string) hostileResult { return hostileResult{outcome: outcome} }

// hostileEvent is one hostile request and what came of it.
type hostileEvent struct {
	Kind    string  `json:"kind"`
	At      float64 `json:"at_s"`
	End     float64 `json:"end_s"`
	Pass    bool    `json:"pass"`
	Outcome string  `json:"outcome"`
	// Excused: it failed the way a dead worker fails a request while a
	// worker kill was under way (filled in by the accounting).
	Excused bool `json:"excused_by_worker_kill,omitempty"`

	start, end int64
	cut        bool // its failure is a 502 or a cut connection
}

// hostile sends one hostile request every period, taking turns over the
// kinds.
type hostile struct {
	addr  string
	clock *clock

	wg     sync.WaitGroup
	mu     sync.Mutex
	events []*hostileEvent
}

func (h *hostile) run(ctx context.Context, every time.Duration) {
	if every <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		k := hostileKinds[i%len(hostileKinds)]
		h.wg.Add(1)
		go h.one(ctx, k)
	}
}

// wait waits for the hostile requests still under way (they stop early
// once ctx ended).
func (h *hostile) wait() { h.wg.Wait() }

func (h *hostile) one(ctx context.Context, k hostileKind) {
	defer h.wg.Done()
	ev := &hostileEvent{Kind: k.name, start: h.clock.now()}
	res := k.send(h, ctx)
	ev.end = h.clock.now()
	ev.Pass, ev.Outcome, ev.cut = res.pass, res.outcome, res.cut
	ev.At, ev.End = seconds(ev.start), seconds(ev.end)
	verdict := "ok"
	if !ev.Pass {
		verdict = "FAIL"
	}
	h.clock.logf("hostile %s: %s: %s", k.name, verdict, ev.Outcome)
	h.mu.Lock()
	h.events = append(h.events, ev)
	h.mu.Unlock()
}

// dial connects, and arranges for the connection to be cut short when ctx
// ends.
func (h *hostile) dial(ctx context.Context) (net.Conn, func(), error) {
	c, err := net.DialTimeout("tcp", h.addr, 5*time.Second)
	if err != nil {
		return nil, nil, err
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	return c, func() { stop(); c.Close() }, nil
}

// rawRequest sends raw ({host} replaced) and judges the answer: a 4xx
// passes; so does a closed connection, unless a second answer (to a
// smuggled request) came first; anything else on a connection left open
// fails, as does silence.
func rawRequest(raw string) func(h *hostile, ctx context.Context) hostileResult {
	return func(h *hostile, ctx context.Context) hostileResult {
		c, done, err := h.dial(ctx)
		if err != nil {
			return failed("could not connect: " + err.Error())
		}
		defer done()
		c.SetDeadline(time.Now().Add(hostileTimeout))
		// The server may close before it has read everything (an oversize
		// header block): the answer is still there to read.
		_, werr := io.WriteString(c, strings.ReplaceAll(raw, "{host}", h.addr))
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			switch {
			case isTimeout(err):
				return failed(fmt.Sprintf("no answer and no close within %s", hostileTimeout))
			case isClosed(err):
				return passed("closed without an answer")
			}
			if werr != nil {
				return passed(fmt.Sprintf("closed while the request was sent (%v)", werr))
			}
			return failed(fmt.Sprintf("unreadable answer: %v", err))
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		status := resp.Status
		after, second := afterAnswer(c, br)
		outcome := fmt.Sprintf("%s, then %s", status, after)
		switch {
		case second:
			return failed(outcome)
		case resp.StatusCode == http.StatusBadGateway:
			return hostileResult{outcome: outcome, cut: true}
		case resp.StatusCode >= 400 && resp.StatusCode < 500:
			return passed(outcome)
		case after == "closed":
			return passed(outcome)
		}
		return failed(outcome)
	}
}

// afterAnswer tells what the connection does after an answer: "closed",
// "kept open", or a second answer (second is true).
func afterAnswer(c net.Conn, br *bufio.Reader) (string, bool) {
	c.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := br.Peek(1); err != nil {
		if isTimeout(err) {
			return "kept the connection open", false
		}
		return "closed", false
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return fmt.Sprintf("sent bytes that are not an answer (%v)", err), true
	}
	resp.Body.Close()
	return fmt.Sprintf("answered a second (smuggled) request: %s", resp.Status), true
}

// slowloris sends a header one byte a second, then leaves. It passes
// unless the server answers something other than a 4xx.
func (h *hostile) slowloris(ctx context.Context) hostileResult {
	c, done, err := h.dial(ctx)
	if err != nil {
		return failed("could not connect: " + err.Error())
	}
	defer done()
	answer := make(chan string, 1)
	go readAnswer(c, answer)
	if _, err := io.WriteString(c, "GET /hello/ HTTP/1.1\r\nHost: "+h.addr+"\r\nX-Slowloris: "); err != nil {
		return failed("could not send: " + err.Error())
	}
	start := time.Now()
	for time.Since(start) < slowlorisFor {
		select {
		case a := <-answer:
			return judgeEarly(a, time.Since(start))
		case <-ctx.Done():
			return passed(fmt.Sprintf("stopped after %s (end of the soak); nothing answered", time.Since(start).Round(time.Second)))
		case <-time.After(time.Second):
		}
		if _, err := c.Write([]byte("a")); err != nil {
			return passed(fmt.Sprintf("closed by the server after %s", time.Since(start).Round(time.Second)))
		}
	}
	select {
	case a := <-answer:
		return judgeEarly(a, time.Since(start))
	default:
	}
	return passed(fmt.Sprintf("left after %s; nothing answered", slowlorisFor))
}

// readAnswer reads what the server sends on c, until it closes: "" when
// it closed without a byte.
func readAnswer(c net.Conn, out chan<- string) {
	b := make([]byte, 512)
	n, err := io.ReadAtLeast(c, b, 12) // "HTTP/1.1 400"
	if n == 0 && err != nil {
		out <- ""
		return
	}
	out <- string(b[:n])
}

// judgeEarly judges what a server sent before a request was complete: a
// close or a 4xx is right.
func judgeEarly(answer string, after time.Duration) hostileResult {
	if answer == "" {
		return passed(fmt.Sprintf("closed by the server after %s", after.Round(time.Second)))
	}
	line, _, _ := strings.Cut(answer, "\r\n")
	var code int
	fmt.Sscanf(line, "HTTP/1.1 %d", &code)
	if code >= 400 && code < 500 {
		return passed(fmt.Sprintf("%q after %s", line, after.Round(time.Second)))
	}
	return failed(fmt.Sprintf("answered %q to an incomplete request after %s", line, after.Round(time.Second)))
}

// leaveMidResponse asks for 50 MiB and leaves after the first MiB.
func (h *hostile) leaveMidResponse(ctx context.Context) hostileResult {
	c, done, err := h.dial(ctx)
	if err != nil {
		return failed("could not connect: " + err.Error())
	}
	defer done()
	c.SetDeadline(time.Now().Add(hostileTimeout))
	fmt.Fprintf(c, "GET /big/?mb=50 HTTP/1.1\r\nHost: %s\r\n\r\n", h.addr)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return failed(fmt.Sprintf("no answer: %v", err))
	}
	if resp.StatusCode != 200 {
		return hostileResult{outcome: fmt.Sprintf("%s to GET /big/?mb=50", resp.Status), cut: resp.StatusCode == http.StatusBadGateway}
	}
	n, err := io.CopyN(io.Discard, resp.Body, 1<<20)
	if err != nil {
		return hostileResult{outcome: fmt.Sprintf("200, but the body broke after %d bytes: %v", n, err), cut: true}
	}
	return passed("200, read 1 MiB of 50, then left")
}

// leaveMidBody announces a 1 MiB body, sends 128 KiB of it (past the
// 64 KiB the master reads before it takes a worker), waits half a second
// and leaves. Nothing may be answered but a 4xx: the body is incomplete.
func (h *hostile) leaveMidBody(ctx context.Context) hostileResult {
	c, done, err := h.dial(ctx)
	if err != nil {
		return failed("could not connect: " + err.Error())
	}
	defer done()
	answer := make(chan string, 1)
	go readAnswer(c, answer)
	fmt.Fprintf(c, "POST /echo/ HTTP/1.1\r\nHost: %s\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", h.addr, 1<<20)
	if _, err := c.Write(make([]byte, 128<<10)); err != nil {
		return failed("could not send: " + err.Error())
	}
	select {
	case a := <-answer:
		return judgeEarly(a, 0)
	case <-time.After(500 * time.Millisecond):
	}
	return passed("sent 128 KiB of 1 MiB, then left; nothing answered")
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, os.ErrClosed)
}
