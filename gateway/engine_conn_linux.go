package gateway

// This file is one connection of the engine: what it has received, where
// its framing stands, and the step that runs each complete request through
// the pipeline on the thread that owns the connection (engine_linux.go).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

// engineMaxBuffered is how much of one request the engine keeps in memory
// while it arrives. The body of a larger one goes to an unlinked temporary
// file as it arrives (the spool; TMPDIR, as body.go's), on whichever
// thread takes the connection's event, and the request goes to a thread
// only once all of it is there, as a smaller one does: a slow upload holds
// no Python thread. The thread then reads the body from the file (a
// Content-Length body is handed over as it is, not copied again).
const engineMaxBuffered = 1 << 20

// engineConn is one accepted connection. Its fields belong to the thread
// that holds mu (the one that took its event, or a sweep).
type engineConn struct {
	mu sync.Mutex
	fd int
	l  *engineListener
	fc fdConn

	in      []byte // received and scanned, not yet taken by a request
	spare   []byte // the other buffer, swapped with in after each request
	pos     int    // how much of in the current request's reader took
	g       framing
	refused bool   // the guard refused a request; its reason is in g
	served  uint64 // requests taken off in (the guard counts g.ends)
	headed  uint64 // requests whose head was looked at (100-continue, 413)
	// stream: the current request's body is read from the socket. Only
	// a uwsgi body answered before it arrived (413) is, for drainBody.
	stream bool
	// spool keeps the body of the request being received once it passes
	// engineMaxBuffered: in then holds its head only, spool what follows
	// the head (for uwsgi, the packet), rest what arrived after its end.
	spool     *os.File
	spoolSize int64 // bytes in spool (written and read at offsets: it has no shared position)
	spoolPos  int64 // how much of spool the current request's reader took
	spoolLeft int64 // uwsgi: body bytes still to come into spool
	spoolFull bool  // all of the spooled request has arrived
	overLimit bool  // a chunked body passed limit-post as it arrived: 413
	// drainLeft: the bytes still to come of a uwsgi body answered 413
	// before it arrived, read and dropped as they come by the engine's
	// loop, not by the thread that answered (see drainBody for why), until
	// drainEnd or drainIdle without a byte.
	drainLeft int64
	drainEnd  time.Time
	rest      []byte
	// afterPost: the last request was a POST, after which blank lines are
	// skipped (RFC 9112 2.2, for clients that end a body with CRLF). As
	// net/http does, a blank line anywhere else is a malformed request.
	afterPost bool

	started time.Time // the first byte of the request being received
	lastIO  time.Time
	eof     bool // the peer closed its side

	registered bool
	events     uint32 // what it is registered for
	// armed: with several threads, registered EPOLLONESHOT and its event
	// not taken yet (mu held). Arming it again before a thread takes it
	// would let a second thread take it while the first still serves it.
	armed      bool
	remoteAddr string // the peer as http.Request.RemoteAddr has it
	closeEnds  bool   // the last answer's body ends with the connection
	dead       bool
	flushing   bool // waiting for EPOLLOUT to write the kept answer
	closeAfter bool // close once the kept answer is written

	br *bufio.Reader

	live *liveStream // a held live reload stream (dev mode)
}

func newEngineConn(fd int, l *engineListener, remote net.Addr, now time.Time) *engineConn {
	return &engineConn{fd: fd, l: l, fc: fdConn{fd: fd, local: l.local, remote: remote, outBound: outBound}, lastIO: now}
}

// readerPool holds the request readers of the connections between their
// requests: a connection has one only while it serves a request, so the
// 4 KiB buffer is not allocated again for every connection (nginx opens
// one per request) nor kept by every idle keep-alive one.
var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}

// reader is the connection's request reader, reset to read from the
// bytes received.
func (c *engineConn) reader() *bufio.Reader {
	if c.br == nil {
		c.br = readerPool.Get().(*bufio.Reader)
	}
	c.br.Reset(engineSource{c})
	return c.br
}

// releaseReader gives the reader back once its request is done and what
// it held is back in in.
func (c *engineConn) releaseReader() {
	if c.br != nil {
		c.br.Reset(nil)
		readerPool.Put(c.br)
		c.br = nil
	}
}

// engineSource is what a request's reader reads: the bytes received (the
// spool's after in's), then, for a uwsgi body answered before it arrived,
// the socket.
type engineSource struct{ c *engineConn }

func (s engineSource) Read(p []byte) (int, error) {
	c := s.c
	if c.pos < len(c.in) {
		n := copy(p, c.in[c.pos:])
		c.pos += n
		return n, nil
	}
	if c.spool != nil && c.spoolPos < c.spoolSize {
		n, err := c.spool.ReadAt(p[:min(int64(len(p)), c.spoolSize-c.spoolPos)], c.spoolPos)
		c.spoolPos += int64(n)
		if n > 0 || err != nil {
			return n, err
		}
	}
	if !c.stream {
		return 0, io.ErrUnexpectedEOF // the framing guard said the request was complete
	}
	n, err := c.fc.Read(p)
	if n > 0 {
		c.lastIO = time.Now()
		if c.l.kind != "http" {
			return n, err
		}
		if bad := c.g.scan(p[:n]); bad >= 0 && !c.refused {
			c.refused = true
			return bad, errors.New(c.g.reason)
		}
	}
	return n, err
}

// expired reports whether the connection's time is up (mu held): a
// request that takes longer than the timeout to arrive (its head since its
// first byte, its body since its last), a kept answer the client does not
// read, or an idle keep-alive connection.
func (c *engineConn) expired(now time.Time, timeout time.Duration, graceOver bool) bool {
	switch {
	case c.dead, c.live != nil:
		return false
	case c.drainLeft > 0 && !c.flushing:
		return now.Sub(c.lastIO) > drainIdle || now.After(c.drainEnd) || graceOver
	case c.drainLeft > 0:
		// Its 413 is still going out, while the body it answers may go
		// on arriving (so hasPendingInput would keep it for ever).
		return now.Sub(c.lastIO) > timeout || now.After(c.drainEnd)
	case hasPendingInput(c.fd):
		// It sent something its event has not delivered yet (a busy
		// machine): not silent.
		return false
	case c.flushing:
		return now.Sub(c.lastIO) > timeout
	case len(c.in) == 0:
		return now.Sub(c.lastIO) > timeout || graceOver
	case c.g.heads == c.served && c.l.kind == "http":
		return now.Sub(c.started) > timeout
	}
	return now.Sub(c.lastIO) > timeout
}

// onTimeout answers a body that stopped arriving with 408; a head that
// did (slowloris) or an idle connection is closed unanswered.
func (c *engineConn) onTimeout(e *Engine) {
	if c.live != nil || c.drainLeft > 0 {
		return // a stream that ended: its last event is written; a drain: its 413 is
	}
	if c.l.kind == "uwsgi" && !c.flushing && c.uwsgiVarsIn() {
		// The packet came, its body stopped coming: 408, as the proxy
		// path's body read answers.
		uc := uwsgiConn{c: &c.fc, timeout: timeoutOr(e.s.Timeout)}
		msg := errorPages[http.StatusRequestTimeout]
		uc.writeHead(http.StatusRequestTimeout, "", errorPageHeaders(msg))
		uc.writeBody([]byte(msg))
		uc.flushPending()
		e.logf("uwsgi %s sent nothing of its request body for %s; answered 408", c.fc.remote, timeoutOr(e.s.Timeout))
		return
	}
	if c.l.kind == "http" && c.g.heads > c.served && !c.flushing {
		msg := errorPages[http.StatusRequestTimeout]
		b := appendErrorHead(nil, http.StatusRequestTimeout, msg)
		c.fc.writeNow(append(b, msg...))
		e.logf("http: %s sent nothing of its request body for %s; answered 408", c.fc.remote, timeoutOr(e.s.Timeout))
	}
}

func (c *engineConn) close() {
	c.dead = true
	c.dropSpool()
	c.fc.Close()
}

// onReadable reads what arrived and serves every complete request.
func (c *engineConn) onReadable(e *Engine, be *threadBackend, buf []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.armed = false
	if c.dead {
		return
	}
	if c.live != nil {
		e.drop(c) // the browser closed its stream (or sent what it must not)
		return
	}
	now := be.now
	if c.drainLeft > 0 {
		c.drain(e, buf, now)
		return
	}
	for c.spooling() || c.spool == nil && len(c.in) < engineMaxBuffered && !c.overLimit {
		n, err := c.fc.readNow(buf)
		if n > 0 {
			if len(c.in) == 0 {
				c.started = now
			}
			c.lastIO = now
			if c.spool != nil {
				if serr := c.toSpool(buf[:n]); serr != nil {
					c.spoolFailed(e, serr)
					return
				}
			} else {
				if c.l.kind == "http" && !c.refused {
					if bad := c.g.scan(buf[:n]); bad >= 0 {
						c.refused = true
						n = bad // nothing after the offending byte is kept
					}
				}
				c.in = append(c.in, buf[:n]...)
			}
			c.overLimit = c.passedLimit(e.s.LimitPost)
		}
		if err != nil {
			if !errors.Is(err, errWouldBlock) {
				c.eof = true
			}
			break
		}
		if n < len(buf) {
			break
		}
	}
	c.process(e, be)
}

// drain reads and drops what arrived of a body answered before it did,
// and closes the connection once it is all in (or the peer closed).
func (c *engineConn) drain(e *Engine, buf []byte, now time.Time) {
	for c.drainLeft > 0 {
		n, err := c.fc.readNow(buf[:min(int64(len(buf)), c.drainLeft)])
		c.drainLeft -= int64(n)
		if n > 0 {
			c.lastIO = now
		}
		if errors.Is(err, errWouldBlock) {
			e.register(c, evIn)
			return
		}
		if err != nil {
			break
		}
	}
	c.drainLeft = 0
	e.drop(c)
}

// onWritable writes what is kept of an answer; once it is all out, the
// connection goes on with its next request (or closes).
func (c *engineConn) onWritable(e *Engine, be *threadBackend, buf []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.armed = false
	if c.dead {
		return
	}
	if err := c.fc.flushOut(); err != nil {
		e.drop(c)
		return
	}
	c.lastIO = time.Now()
	if len(c.fc.out) > 0 {
		e.register(c, evOut)
		return
	}
	c.flushing = false
	if c.closeAfter {
		c.closeDone(e)
		return
	}
	c.process(e, be)
}

// process serves the complete requests received, then waits for more.
func (c *engineConn) process(e *Engine, be *threadBackend) {
	for !c.dead {
		var next bool
		if c.l.kind == "uwsgi" {
			next = c.stepUwsgi(e, be)
		} else {
			next = c.stepHTTP(e, be)
		}
		// Closed, or waiting already: for its answer to go out, or
		// for the rest of a body to drop (closeDone armed it).
		if c.dead || c.flushing || c.drainLeft > 0 {
			return
		}
		if !next {
			break
		}
	}
	if c.dead {
		return
	}
	if c.eof {
		e.drop(c)
		return
	}
	// A stopping engine keeps a connection whose last answer said
	// keep-alive: its client may be sending the next request already, and
	// closing under it would reset that request. It is answered with
	// Connection: close, or closed once idle past stopIdleGrace.
	e.register(c, evIn)
}

// stepHTTP serves the next complete HTTP request, if there is one, and
// reports whether to look for another.
func (c *engineConn) stepHTTP(e *Engine, be *threadBackend) bool {
	if c.afterPost {
		skipBlankLines(c)
	} else if len(c.in) > 0 && (c.in[0] == '\r' || c.in[0] == '\n') && c.g.ends <= c.served {
		e.logf("http: refused a request from %s: an empty request line; answered 400", c.fc.remote)
		c.answerAndClose(e, http.StatusBadRequest)
		return false
	}
	if c.g.heads > c.served {
		if end := bytes.Index(c.in, []byte("\r\n\r\n")); end+4 > maxHeaderBytesOf(e.s) || end < 0 && len(c.in) > maxHeaderBytesOf(e.s) {
			e.logf("http: refused a request from %s: its request line and headers are larger than %d bytes; answered 431", c.fc.remote, maxHeaderBytesOf(e.s))
			c.answerAndClose(e, http.StatusRequestHeaderFieldsTooLarge)
			return false
		}
	}
	switch {
	case c.g.ends > c.served:
		c.serveHTTP(e, be, 0)
		return true
	case c.overLimit || c.passedLimit(e.s.LimitPost):
		// As the pipeline's limitedBody answers a chunked body once it
		// passes the limit, without the rest.
		c.serveHTTP(e, be, http.StatusRequestEntityTooLarge)
		return true
	case c.refused:
		code := http.StatusBadRequest
		if c.g.status != 0 {
			code = c.g.status // 501: a transfer coding gowsgi does not implement
		}
		e.logf("http: refused a request from %s: %s; answered %d", c.fc.remote, c.g.reason, code)
		c.answerAndClose(e, code)
		return false
	case c.eof && c.g.heads > c.served:
		e.logf("http: refused a request from %s: the connection closed before the end of its body; answered 400", c.fc.remote)
		c.answerAndClose(e, http.StatusBadRequest)
		return false
	case c.g.heads > c.served:
		// The head is here, the body is not (all of it).
		if c.headed <= c.served {
			c.headed = c.served + 1
			if c.lookAtHead(e) {
				c.serveHTTP(e, be, 0) // 413 from the pipeline, the body unread
				return true
			}
		}
		if c.spool == nil && len(c.in) >= engineMaxBuffered {
			// The body goes on arriving into the spool; the request is
			// served once it has all arrived.
			if err := c.startSpool(bytes.Index(c.in, []byte("\r\n\r\n"))+4, 0); err != nil {
				c.spoolFailed(e, err)
			}
		}
		return false
	case len(c.in) > maxHeaderBytesOf(e.s):
		e.logf("http: refused a request from %s: its request line and headers are larger than %d bytes; answered 431", c.fc.remote, maxHeaderBytesOf(e.s))
		c.answerAndClose(e, http.StatusRequestHeaderFieldsTooLarge)
		return false
	}
	return false
}

// lookAtHead acts on a head whose body has not all arrived: a declared
// length over limit-post is answered at once (413, the body unread), and
// "Expect: 100-continue" is answered "100 Continue" so the client sends
// the body. It returns true to serve the request now.
func (c *engineConn) lookAtHead(e *Engine) bool {
	br := bufio.NewReader(&headReader{b: c.in})
	req, err := http.ReadRequest(br)
	if err != nil {
		return false // served once complete, and refused then
	}
	if lp := e.s.LimitPost; lp > 0 && req.ContentLength > lp {
		return true
	}
	if req.ProtoAtLeast(1, 1) && hasToken(req.Header["Expect"], "100-continue") {
		c.fc.writeNow([]byte("HTTP/1.1 100 Continue\r\n\r\n"))
	}
	return false
}

type headReader struct {
	b []byte
	i int
}

func (r *headReader) Read(p []byte) (int, error) {
	if r.i >= len(r.b) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.i:])
	r.i += n
	return n, nil
}

// skipBlankLines drops the CR and LF bytes before a request line (RFC 9112
// 2.2); the framing guard skips them too.
func skipBlankLines(c *engineConn) {
	i := 0
	for i < len(c.in) && (c.in[i] == '\r' || c.in[i] == '\n') {
		i++
	}
	if i > 0 {
		c.in = c.in[:copy(c.in, c.in[i:])]
	}
}

// serveHTTP runs the request at the start of in (and spool) through the
// pipeline. refuse, when not 0, is the answer the engine chose before all
// of its body arrived (413).
func (c *engineConn) serveHTTP(e *Engine, be *threadBackend, refuse int) {
	start := c.started
	if start.IsZero() {
		start = time.Now()
	}
	c.pos, c.spoolPos = 0, 0
	hosts := hostLines(c.in)
	req, err := http.ReadRequest(c.reader())
	if err != nil {
		code := http.StatusBadRequest
		if errors.Is(err, errUnsupportedVersion) {
			code = http.StatusHTTPVersionNotSupported
		}
		e.logf("http: refused a request from %s: %v; answered %d", c.fc.remote, err, code)
		c.answerAndClose(e, code)
		return
	}
	if c.remoteAddr == "" {
		c.remoteAddr = c.fc.remote.String() // once per connection, not per request
	}
	req.RemoteAddr = c.remoteAddr
	if e.s.LiveReload && req.Method == http.MethodGet && req.ContentLength == 0 && c.serveLiveReload(e, req) {
		return
	}
	p := c.l.pipeline
	p.backend = be
	hw := engineHTTPWire{c: &c.fc, r: req, timeout: p.timeout, env: &c.l.environ, keepAlive: wantsKeepAlive(req), stopping: &e.stopping,
		envBuf: be.envBuf[:0], head: be.head[:0], body: be.body[:0]}
	defer be.keep(&hw)
	x := exchange{w: &hw, r: req, path: req.URL.Path}
	hasBody := req.ContentLength != 0 && req.Body != nil && req.Body != http.NoBody
	if hasBody {
		x.contentLength, x.body = req.ContentLength, req.Body
		if c.spool != nil && c.spoolFull && req.ContentLength > 0 {
			x.spool = c.spool // the body as it is; a chunked one is decoded, through body
		}
	}
	x.refuse, x.refuseErr = checkEngineRequest(req, hosts)
	if x.refuse == 0 && refuse != 0 {
		x.refuse, x.refuseErr = refuse, nil
	}
	if e.s.LiveReload && wantsDocument(req) {
		version, _ := e.liveState()
		iw := newInjectWire(x.w, version)
		x.w, x.finish = iw, iw.finish
	}
	cut := p.serve(context.Background(), &x, start)
	c.fc.SetReadDeadline(time.Time{})
	if cut || !hw.finish() {
		e.closeConn(c, closeReset)
		return
	}
	if hasBody && !x.bodyDone {
		if c.g.ends <= c.served {
			hw.keepAlive = false
		} else if _, err := io.Copy(io.Discard, req.Body); err != nil {
			hw.keepAlive = false // all of it is here: skip it and go on
		}
	}
	c.closeEnds = hw.closeEnds
	c.endRequest()
	c.afterPost = req.Method == http.MethodPost
	if !hw.keepAlive {
		c.closeAfter = true
	}
	c.afterAnswer(e)
}

// endRequest takes the request just served off in: what its reader took
// but did not use goes back in front of what it did not take.
func (c *engineConn) endRequest() {
	tail, _ := c.br.Peek(c.br.Buffered())
	next := append(c.spare[:0], tail...)
	next = append(next, c.in[c.pos:]...)
	if c.spool != nil {
		// The body was read to its end, or skipped (the spool held all of
		// it); what followed it is in rest.
		c.dropSpool()
		next = append(next, c.rest...)
		c.rest = c.rest[:0]
	}
	c.spare, c.in = c.in[:0], next
	c.pos, c.stream, c.overLimit = 0, false, false
	c.releaseReader()
	c.served++
	if c.served > c.g.ends {
		// Answered before its body arrived (413): the connection closes.
		c.served = c.g.ends
	}
	c.started = time.Time{}
	if len(c.in) > 0 {
		c.started = time.Now()
	}
}

// afterAnswer waits for a kept answer to go out, or closes a connection
// that must not serve another request.
func (c *engineConn) afterAnswer(e *Engine) {
	if len(c.fc.out) > 0 {
		c.flushing = true
		c.lastIO = time.Now()
		e.register(c, evOut)
		return
	}
	if c.closeAfter {
		c.closeDone(e)
	}
}

// closeDone closes a connection whose last answer is out. Where the close
// is what ends the answer (the uwsgi protocol, an HTTP/1.0 body without a
// length) and the app may have forked, it shuts the sending side first: a
// close sends the FIN only with the last copy of the socket, and a child
// holds one, so nginx would wait for the end of the answer until the child
// exits. An answer framed by its length or chunks needs no FIN to be
// complete, and is spared the syscall (a client that sent Connection:
// close), as is every answer of a worker that never forked.
func (c *engineConn) closeDone(e *Engine) {
	if c.drainLeft > 0 {
		// The answer ends here; the body goes on arriving (drain).
		c.fc.closeWrite()
		c.lastIO = time.Now()
		e.register(c, evIn)
		return
	}
	how := closePlain
	if c.l.kind == "uwsgi" || c.closeEnds {
		how = closeFin
	}
	e.closeConn(c, how)
}

// answerAndClose answers with an error page before there is a request to
// run, and closes.
func (c *engineConn) answerAndClose(e *Engine, code int) {
	msg := errorPages[code]
	b := appendErrorHead(nil, code, msg)
	c.fc.Write(append(b, msg...))
	c.closeAfter = true
	c.in = c.in[:0]
	c.afterAnswer(e)
}

// appendErrorHead is the head of one of the pipeline's error pages, on a
// connection that closes after it.
func appendErrorHead(b []byte, code int, msg string) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(code)...)
	b = append(b, "\r\n"...)
	for _, kv := range errorPageHeaders(msg) {
		b = append(b, kv[0]...)
		b = append(b, ": "...)
		b = append(b, kv[1]...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "Connection: close\r\n\r\n"...)
	return b
}

// maxHeaderBytesOf is the most a request line and headers may take, with
// the 4 KiB net/http reads past MaxHeaderBytes before it answers 431: the
// HTTP server's limit (buffer-size, else 64 KiB, NewServer).
func maxHeaderBytesOf(s *EngineSettings) int {
	n := defaultMaxHeaderBytes + 4096
	if s.MaxHeaderBytes > 0 {
		n = s.MaxHeaderBytes + 4096
	}
	// Never past what onReadable keeps of a request in memory: a head that
	// reached it unfinished would be neither read further nor refused,
	// its descriptor readable at every wait until the timeout.
	return min(n, engineMaxBuffered)
}

// stepUwsgi serves the one request of a uwsgi connection once its packet
// and body have arrived (nginx sends the body right behind the packet), as
// UwsgiServer.serveConn does; the connection then closes.
func (c *engineConn) stepUwsgi(e *Engine, be *threadBackend) bool {
	if c.served > 0 || c.dead {
		return false
	}
	if len(c.in) < uwsgiHeaderSize {
		return false
	}
	max := min(e.s.BufferSize, MaxUwsgiBufferSize)
	if max <= 0 {
		max = DefaultUwsgiBufferSize
	}
	size := int(binary.LittleEndian.Uint16(c.in[1:3]))
	if size <= max && c.in[0] == byte(uwsgiModifierWSGI) && len(c.in) < uwsgiHeaderSize+size {
		return false // the vars are on their way
	}
	c.pos, c.spoolPos = 0, 0
	// The connection and the exchange are the thread's, reused: they
	// escape (the pipeline holds them in interfaces), and were two
	// allocations for every nginx request.
	uc := &be.uc
	*uc = uwsgiConn{c: &c.fc, br: c.reader(), timeout: timeoutOr(e.s.Timeout), noWatch: true, pending: be.head[:0]}
	defer c.releaseReader()
	defer func() {
		be.head = keepable(uc.pending)
		if cap(be.pkt.vars) > 4*uwsgiScanVars {
			be.pkt.vars = nil // a packet of many headers is not kept
		}
	}()
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	pkt, err := readUwsgiPacket(c.br, max, (*bp)[:0], &be.pkt)
	if err != nil {
		refuseUwsgi(e.logf, uc, err)
		c.closeAfter = true
		c.afterAnswer(e)
		return false
	}
	var declared int64
	for _, v := range pkt.vars {
		if v.key == "CONTENT_LENGTH" {
			declared, _ = strconv.ParseInt(v.value, 10, 64)
		}
	}
	have := int64(len(c.in) - uwsgiHeaderSize - size)
	if c.spool != nil {
		have = c.spoolSize
	}
	over := e.s.LimitPost > 0 && declared > e.s.LimitPost
	switch {
	case declared <= have || over || c.eof:
	case c.spool == nil && len(c.in) >= engineMaxBuffered:
		// The rest of the body goes to the spool as it arrives.
		if err := c.startSpool(uwsgiHeaderSize+size, declared-have); err != nil {
			c.spoolFailed(e, err)
		}
		return false
	default:
		return false // the body is on its way
	}
	c.stream = declared > have && c.spool == nil // answered before it arrived: 413
	start := c.started
	p := c.l.pipeline
	p.backend = be
	x := &be.x
	uwsgiExchange(&c.l.environ, x, uc, pkt, bp, &be.uwsgi)
	if c.spool != nil && c.spoolFull && x.body != nil {
		x.spool = c.spool
	}
	if p.serve(context.Background(), x, start) || x.appStarted && !uc.complete() {
		e.closeConn(c, closeReset)
		return false
	}
	uc.flushPending()
	if uc.body != nil && uc.body.N > 0 && x.spool == nil {
		if c.stream {
			// What has arrived of the body is dropped with in, the rest
			// once the answer is out (closeDone).
			if left := uc.body.N - int64(c.br.Buffered()) - int64(len(c.in)-c.pos); left > 0 {
				c.drainLeft = left
			}
			c.drainEnd = time.Now().Add(drainFor)
		} else {
			uc.drainBody() // all of it is in memory
		}
	}
	c.served++
	c.stream = false
	c.in = c.in[:0]
	c.dropSpool()
	c.closeAfter = true
	c.afterAnswer(e)
	return false
}

// uwsgiVarsIn reports whether a uwsgi packet's header and vars have all
// arrived.
func (c *engineConn) uwsgiVarsIn() bool {
	return len(c.in) >= uwsgiHeaderSize && len(c.in) >= uwsgiHeaderSize+int(binary.LittleEndian.Uint16(c.in[1:3]))
}
