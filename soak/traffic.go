package main

// This file is the traffic: clients that each loop over the request kinds,
// check every answer byte for byte, and record each request's start, end
// and outcome. The clients speak HTTP/1.1 on their own connections:
// net/http's Transport retries a GET whose idle connection the server
// closed, which would hide exactly what a soak is looking for.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// requestTimeout bounds one request; harakiri (5 s) ends any honest one
// long before.
const requestTimeout = 30 * time.Second

// reqKind is one kind of traffic request.
type reqKind uint8

const (
	kindHello reqKind = iota
	kindEcho
	kindStreaming
	kindBig
	numKinds
)

var kindNames = [numKinds]string{
	kindHello:     "GET /hello/",
	kindEcho:      "POST /echo/",
	kindStreaming: "GET /streaming/?n=5&delay=0.01",
	kindBig:       "GET /big/?mb=1",
}

// kindWeights is the traffic mix, in percent.
var kindWeights = [numKinds]int{kindHello: 40, kindEcho: 30, kindStreaming: 15, kindBig: 15}

var (
	helloWant     = []byte("Hello, World!")
	streamingWant = []byte("chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n")
	bigWant       = func() []byte { // byte i is i % 256
		b := make([]byte, 1<<20)
		for i := range b {
			b[i] = byte(i)
		}
		return b
	}()
)

// outcome is how a request ended.
type outcome uint8

const (
	outOK     outcome = iota // 200 and the exact body
	outStatus                // another status
	outBody                  // 200 with a wrong body
	outConn                  // a connection error: refused, reset, cut mid-body, timeout
)

var outcomeNames = [...]string{outOK: "ok", outStatus: "status", outBody: "body", outConn: "connection"}

// record is one request. Times are nanoseconds since traffic started; the
// struct stays small because a 10-minute soak makes about a million.
type record struct {
	start, end int64
	client     uint16
	kind       reqKind
	keepAlive  bool
	outcome    outcome
	status     int16
}

// failure is a record that did not end with outOK, with what went wrong.
type failure struct {
	record
	detail string
}

// traffic is the set of clients.
type traffic struct {
	clients []*client
	stop    atomic.Bool
	wg      sync.WaitGroup
	sent    atomic.Int64
	failed  atomic.Int64
}

func newTraffic(addr string, n int, clk *clock, seed uint64) *traffic {
	tr := &traffic{}
	for i := range n {
		var s [32]byte
		for j := range 4 {
			v := seed ^ uint64(i)<<32 ^ uint64(j)
			for k := range 8 {
				s[j*8+k] = byte(v >> (8 * k))
			}
		}
		src := rand.NewChaCha8(s)
		tr.clients = append(tr.clients, &client{
			id: i, keepAlive: i%2 == 0, addr: addr, clock: clk, tr: tr,
			src: src, rng: rand.New(src),
			br: bufio.NewReaderSize(nil, 64<<10), bw: bufio.NewWriterSize(nil, 64<<10),
		})
	}
	return tr
}

func (tr *traffic) start() {
	for _, c := range tr.clients {
		tr.wg.Add(1)
		go c.loop()
	}
}

// finish lets each client complete the request it is on, then stops it.
func (tr *traffic) finish() {
	tr.stop.Store(true)
	tr.wg.Wait()
}

// client is one traffic client, on one connection at a time.
type client struct {
	id        int
	keepAlive bool
	addr      string
	clock     *clock
	tr        *traffic
	src       *rand.ChaCha8
	rng       *rand.Rand

	conn   net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	reused int // requests already made on conn

	body []byte // the echo request body
	resp []byte // the answer's body

	records  []record
	failures []failure
}

func (c *client) loop() {
	defer c.tr.wg.Done()
	defer c.drop()
	for !c.tr.stop.Load() {
		c.one()
	}
}

func (c *client) pick() reqKind {
	n := c.rng.IntN(100)
	for k := range numKinds {
		if n < kindWeights[k] {
			return k
		}
		n -= kindWeights[k]
	}
	return kindHello
}

// echoSize is mostly small bodies, sometimes past the 64 KiB the master
// reads before it takes a worker (then the rest streams to the app).
func (c *client) echoSize() int {
	switch n := c.rng.IntN(100); {
	case n < 70:
		return 1 + c.rng.IntN(4096)
	case n < 90:
		return 4096 + c.rng.IntN(60<<10)
	default:
		return 64<<10 + c.rng.IntN(192<<10)
	}
}

func (c *client) one() {
	k := c.pick()
	method, path := "GET", ""
	var body []byte
	switch k {
	case kindHello:
		path = "/hello/"
	case kindEcho:
		method, path = "POST", "/echo/"
		n := c.echoSize()
		if cap(c.body) < n {
			c.body = make([]byte, n, 256<<10)
		}
		c.body = c.body[:n]
		c.src.Read(c.body)
		body = c.body
	case kindStreaming:
		path = "/streaming/?n=5&delay=0.01"
	case kindBig:
		path = "/big/?mb=1"
	}
	reused := c.conn != nil
	n := c.reused
	rec := record{client: uint16(c.id), kind: k, keepAlive: c.keepAlive}
	c.tr.sent.Add(1)
	rec.start = c.clock.now()
	status, got, err := c.roundTrip(method, path, body)
	rec.end = c.clock.now()
	rec.status = int16(status)
	var detail string
	switch {
	case err != nil:
		rec.outcome = outConn
		detail = err.Error()
		if status != 0 {
			detail = fmt.Sprintf("status %d, %s", status, detail)
		}
	case status != 200:
		rec.outcome = outStatus
		detail = fmt.Sprintf("status %d: %q", status, clip(got, 120))
	default:
		if msg := check(k, body, got); msg != "" {
			rec.outcome = outBody
			detail = msg
		}
	}
	c.records = append(c.records, rec)
	if rec.outcome != outOK {
		c.tr.failed.Add(1)
		if reused {
			detail += fmt.Sprintf(" (request %d on a reused connection)", n+1)
		}
		c.failures = append(c.failures, failure{record: rec, detail: detail})
	}
}

// roundTrip makes one request on the client's connection (a new one when
// it has none) and reads the whole answer into c.resp. A status is
// returned with an error when the body broke after the headers.
func (c *client) roundTrip(method, path string, body []byte) (int, []byte, error) {
	if c.conn == nil {
		conn, err := net.DialTimeout("tcp", c.addr, 5*time.Second)
		if err != nil {
			return 0, nil, fmt.Errorf("connecting: %w", err)
		}
		c.conn, c.reused = conn, 0
		c.br.Reset(conn)
		c.bw.Reset(conn)
	}
	c.reused++
	c.conn.SetDeadline(time.Now().Add(requestTimeout))
	fmt.Fprintf(c.bw, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, path, c.addr)
	if !c.keepAlive {
		c.bw.WriteString("Connection: close\r\n")
	}
	if body != nil {
		fmt.Fprintf(c.bw, "Content-Type: application/octet-stream\r\nContent-Length: %d\r\n", len(body))
	}
	c.bw.WriteString("\r\n")
	c.bw.Write(body)
	if err := c.bw.Flush(); err != nil {
		c.drop()
		return 0, nil, fmt.Errorf("sending: %w", err)
	}
	resp, err := http.ReadResponse(c.br, &http.Request{Method: method})
	if err != nil {
		c.drop()
		return 0, nil, fmt.Errorf("reading the answer: %w", err)
	}
	c.resp, err = readAll(c.resp[:0], resp.Body)
	resp.Body.Close()
	if err != nil {
		c.drop()
		return resp.StatusCode, c.resp, fmt.Errorf("reading the body after %d bytes: %w", len(c.resp), err)
	}
	if !c.keepAlive || resp.Close {
		c.drop()
	}
	return resp.StatusCode, c.resp, nil
}

func (c *client) drop() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

// readAll is io.ReadAll into a reused buffer.
func readAll(buf []byte, r io.Reader) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// check compares an answer with what the request must get; "" is right.
func check(k reqKind, sent, got []byte) string {
	var want []byte
	switch k {
	case kindHello:
		want = helloWant
	case kindEcho:
		want = sent
	case kindStreaming:
		want = streamingWant
	case kindBig:
		want = bigWant
	}
	if bytes.Equal(got, want) {
		return ""
	}
	if len(got) < len(want) && bytes.Equal(got, want[:len(got)]) {
		return fmt.Sprintf("body cut short, yet the response ended as if complete: %d of %d bytes", len(got), len(want))
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	return fmt.Sprintf("wrong body: %d bytes, want %d; first difference at byte %d", len(got), len(want), i)
}

func clip(b []byte, n int) string {
	s := string(b)
	if len(s) > n {
		s = s[:n] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}
