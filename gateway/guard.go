package gateway

// This file is the framing guard: a net.Conn wrapper that checks
// the bytes that frame each request (the request line, the header block,
// chunk-size lines and trailers) as net/http reads them, and counts the
// body bytes in between without copying them.
//
// net/http parses every request itself; the guard only refuses what
// net/http accepts but a proxy in front of gowsgi may frame differently,
// which is how one client's bytes become a second, smuggled request:
//
//   - Content-Length and Transfer-Encoding together (net/http drops the
//     Content-Length and serves the request);
//   - Content-Length twice, even with one value (net/http merges them),
//     and Content-Type twice (net/http keeps both; the environ would join
//     them into one CONTENT_TYPE no client sent);
//   - Transfer-Encoding twice, or in an HTTP/1.0 request (net/http
//     ignores it there and frames the body by Content-Length), or a
//     Transfer-Encoding list with chunked before another coding (RFC 9112
//     6.3: the length of the body cannot be known);
//   - a trailer field that frames or routes the request: Content-Length,
//     Transfer-Encoding, Trailer, Host (net/http keeps trailers apart, but
//     a peer that merges them into the header section would frame or route
//     the request again after its body; RFC 9110 6.5.1. The framing three
//     are those net/http refuses to see announced in Trailer);
//   - obs-fold, a header continued on a line that starts with a space or
//     a tab (net/http joins the lines);
//   - a line that ends with a bare LF instead of CRLF (net/http accepts
//     it in the request line and headers), or a CR not followed by LF.
//
// It also checks what net/http already refuses (token characters in the
// method and header names, control characters, the version, chunk sizes),
// so the framing it tracks is never one net/http would read otherwise.
//
// A refused request gets net/http's own "400 Bad Request" and a closed
// connection: the guard delivers the bytes before the offending one, then
// a line with a NUL byte, which net/http refuses wherever it lands (request
// line, header name or value, chunk-size line, chunk end, trailer), and
// nothing of what the client sent after it. It returns no error, on
// purpose: an error from a read would also end a request still in flight
// on the connection (net/http's background read treats it as the client
// going away), while the poisoned line is only parsed when net/http gets
// to it.
//
// One refusal is 501 Not Implemented instead (framing.status): a
// well-formed Transfer-Encoding with a coding other than chunked, and
// chunked last or absent ("gzip", "gzip, chunked", "identity", an unknown
// token). RFC 9112 6.1: "A server that receives a request message with a
// transfer coding it does not understand SHOULD respond with 501". gowsgi
// implements chunked only, so gzip, deflate, compress and identity get 501
// too, even alone, where RFC 9112 6.3 would have 400 since chunked is not
// last: either way the request is refused and the connection closed. The
// guard decides at the end of the header block, so that a later field
// that earns a 400 (Content-Length, Transfer-Encoding again) wins, and
// delivers the blank line there: net/http reads a head whose
// Transfer-Encoding is not exactly "chunked" and answers 501 itself.

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// guardPoison is what a refused connection reads in place of the
// offending bytes: a NUL where net/http expects a token, a value byte or a
// chunk size, an LF that ends the line (a bare LF, which net/http refuses
// in a chunk-size line), and a blank line that ends a header block or
// trailer so that net/http parses it at once instead of waiting for more.
const guardPoison = "\x00\n\r\n\r\n"

// guardPoison501 is what a connection refused with 501 reads in place of
// the blank line that ends the request's header block (the guard refuses
// at its CR): the same blank line, and no more.
const guardPoison501 = "\r\n"

// guardListener wraps each accepted connection in a guardConn, and an
// https one (a *tls.Conn) in a guardTLSConn (server.go).
type guardListener struct {
	net.Listener
	logf func(format string, a ...any)
	// handshakeTimeout bounds a TLS handshake, as net/http's own
	// handshake is bounded by the header timeout.
	handshakeTimeout time.Duration
}

func (l guardListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return c, err
	}
	gc := &guardConn{Conn: c, logf: l.logf}
	if tc, ok := c.(*tls.Conn); ok {
		// The guard reads what tc decrypts; guardTLSConn does the
		// handshake and hands net/http the TLS state.
		return &guardTLSConn{guardConn: gc, tls: tc, timeout: l.handshakeTimeout}, nil
	}
	return gc, nil
}

// guardConn is one guarded connection.
type guardConn struct {
	net.Conn
	g       framing
	poison  string // what is left to deliver of guardPoison or guardPoison501
	refused bool
	logf    func(format string, a ...any)
}

func (c *guardConn) Read(p []byte) (int, error) {
	if c.poison != "" {
		n := copy(p, c.poison)
		c.poison = c.poison[n:]
		return n, nil
	}
	n, err := c.Conn.Read(p)
	if c.refused || n == 0 {
		// After the poison nothing is checked: net/http never parses past
		// it. Reads still go to the socket, so that a read waiting for a
		// client's next request ends as it would (deadline, close).
		return n, err
	}
	bad := c.g.scan(p[:n])
	if bad < 0 {
		return n, err
	}
	c.refused = true
	poison, status := guardPoison, http.StatusBadRequest
	if c.g.status == http.StatusNotImplemented {
		poison, status = guardPoison501, http.StatusNotImplemented
	}
	if c.logf != nil {
		c.logf("refused a request from %s: %s; answered %d", c.RemoteAddr(), c.g.reason, status)
	}
	m := copy(p[bad:], poison)
	c.poison = poison[m:]
	return bad + m, nil
}

// framingState is where a framing is in the byte stream.
type framingState uint8

const (
	fsStart       framingState = iota // before a request line: CR and LF are skipped (RFC 9112 2.2)
	fsMethod                          // in the method
	fsTarget                          // in the request target
	fsVersion                         // in the version
	fsRequestLF                       // the LF after the request line's CR
	fsFieldStart                      // at the start of a header (or trailer) line
	fsName                            // in a field name
	fsValue                           // in a field value
	fsFieldLF                         // the LF after a field's CR
	fsEndLF                           // the LF of the blank line that ends the block
	fsBody                            // in a Content-Length body
	fsChunkSize                       // in a chunk-size
	fsChunkExt                        // in a chunk extension
	fsChunkSizeLF                     // the LF after a chunk-size line's CR
	fsChunkData                       // in chunk data
	fsChunkDataCR                     // the CR after chunk data
	fsChunkDataLF                     // the LF after chunk data
)

// fieldKind is what a header field means for framing.
type fieldKind uint8

const (
	fieldOther            fieldKind = iota
	fieldContentType                // once per request; its value is not kept
	fieldInTrailer                  // a field a trailer must not have
	fieldContentLength              // its value is kept (framing.value): it frames the body
	fieldTransferEncoding           // its value is kept: it frames the body
)

// keepsValue reports whether scan keeps the value of a field of kind k.
func (k fieldKind) keepsValue() bool { return k >= fieldContentLength }

// framing follows the framing of the requests on one connection: where
// each header block and body begins and ends. See guardConn.
type framing struct {
	state   framingState
	trailer bool // the field lines are a chunked body's trailer

	targetLen  int
	version    [8]byte // "HTTP/1.1"
	versionLen int
	name       [len("transfer-encoding")]byte // lower-cased; only the framing fields matter
	nameLen    int                            // may pass len(name): then it is no framing field
	kind       fieldKind
	value      [24]byte // a framing field's value (longer ones are refused)
	valueLen   int
	http11     bool // HTTP/1.1 or later: Transfer-Encoding is allowed
	sawLength  bool
	sawTE      bool // a Transfer-Encoding field
	sawChunked bool // a Transfer-Encoding of exactly chunked: the body is chunked
	sawType    bool
	remaining  uint64 // body or chunk bytes left
	digits     int    // hex digits of the chunk size so far
	chunkData  uint64 // the chunked body's data bytes so far (limit-post, as they arrive)

	// unimplemented is why the request gets 501 at the end of its header
	// block, unless a later field earns it a 400 first.
	unimplemented string

	reason string // why scan refused, for the log
	// status is the answer to the refused request: 0 is 400 Bad Request,
	// http.StatusNotImplemented a transfer coding gowsgi does not
	// implement. (guardConn makes net/http answer it; see the top of the
	// file.)
	status int

	// heads and ends count the header blocks and the whole requests
	// (head and body) scanned so far on the connection: the engine
	// (engine_conn.go) hands a request to the app once ends says all of
	// it has arrived, and answers 100-continue or 413 once heads says
	// its head has.
	heads, ends uint64
}

// scan follows p, the next bytes of the stream, and returns the index of
// the first byte that makes the request invalid, or -1.
func (f *framing) scan(p []byte) int {
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch f.state {
		case fsStart:
			switch {
			case c == '\r' || c == '\n':
			case tokenBytes[c]:
				*f = framing{state: fsMethod, heads: f.heads, ends: f.ends}
			default:
				return f.refuse(i, "a request line starts with a byte that is not a method's")
			}
		case fsMethod:
			switch {
			case tokenBytes[c]:
				i = skip(p, i, &tokenBytes)
			case c == ' ':
				f.state = fsTarget
			default:
				return f.refuse(i, "the method has a byte that is not a token's")
			}
		case fsTarget:
			switch {
			case targetBytes[c]:
				j := skip(p, i, &targetBytes)
				f.targetLen += j + 1 - i
				i = j
			case c == ' ' && f.targetLen == 0:
				return f.refuse(i, "two spaces after the method")
			case c == ' ':
				f.state = fsVersion
			default:
				return f.refuse(i, "a control character in the request target")
			}
		case fsVersion:
			switch {
			case c == '\r':
				if !f.validVersion() {
					return f.refuse(i, "the request line does not end with HTTP/d.d")
				}
				f.state = fsRequestLF
			case c == '\n':
				return f.refuse(i, "the request line ends with a bare LF, not CRLF")
			case f.versionLen == len(f.version):
				return f.refuse(i, "the request line does not end with HTTP/d.d")
			default:
				f.version[f.versionLen] = c
				f.versionLen++
			}
		case fsRequestLF, fsFieldLF, fsChunkSizeLF, fsChunkDataLF, fsEndLF:
			if c != '\n' {
				return f.refuse(i, "a CR not followed by LF")
			}
			f.lineEnd()
		case fsFieldStart:
			switch {
			case c == '\r' && f.unimplemented != "":
				// The whole head is read and nothing in it earned a 400.
				return f.refuseWith(i, http.StatusNotImplemented, f.unimplemented)
			case c == '\r':
				f.state = fsEndLF
			case c == '\n':
				return f.refuse(i, "a header line ends with a bare LF, not CRLF")
			case c == ' ' || c == '\t':
				return f.refuse(i, "a header line starts with whitespace (obs-fold, RFC 9112 5.2)")
			case tokenBytes[c]:
				f.state, f.nameLen, f.kind, f.valueLen = fsName, 0, fieldOther, 0
				f.addNameByte(c)
			default:
				return f.refuse(i, "a header name has a byte that is not a token's")
			}
		case fsName:
			switch {
			case c == ':':
				f.state = fsValue
				f.kind = f.fieldKind()
			case c == ' ' || c == '\t':
				return f.refuse(i, "whitespace between a header name and its colon")
			case tokenBytes[c]:
				f.addNameByte(c)
			default:
				return f.refuse(i, "a header name has a byte that is not a token's")
			}
		case fsValue:
			switch {
			case !f.kind.keepsValue() && textBytes[c]:
				i = skip(p, i, &textBytes)
			case c == '\r':
				// Checked here, before the line ends, so that the poison
				// lands in this field's value.
				if why := f.fieldEnd(); why != "" {
					return f.refuse(i, why)
				}
				f.state = fsFieldLF
			case c == '\n':
				return f.refuse(i, "a header line ends with a bare LF, not CRLF")
			case !textBytes[c]:
				return f.refuse(i, "a control character in a header value")
			default: // a framing field's value
				if f.valueLen == len(f.value) {
					return f.refuse(i, "a Content-Length or Transfer-Encoding value longer than gowsgi reads (24 bytes)")
				}
				f.value[f.valueLen] = c
				f.valueLen++
			}
		case fsBody:
			// Body bytes are counted, not looked at.
			n := uint64(len(p) - i)
			if n > f.remaining {
				n = f.remaining
			}
			f.remaining -= n
			i += int(n) - 1
			if f.remaining == 0 {
				f.state = fsStart
				f.ends++
			}
		case fsChunkSize:
			switch d := unhex(c); {
			case d >= 0:
				if f.digits == 16 {
					return f.refuse(i, "a chunk size larger than 64 bits")
				}
				f.remaining = f.remaining<<4 | uint64(d)
				f.digits++
			case f.digits == 0:
				return f.refuse(i, "a chunk size that is not hex")
			case c == ';':
				f.state = fsChunkExt
			case c == '\r':
				f.state = fsChunkSizeLF
			default:
				return f.refuse(i, "a chunk size that is not hex")
			}
		case fsChunkExt:
			switch {
			case textBytes[c]:
				i = skip(p, i, &textBytes)
			case c == '\r':
				f.state = fsChunkSizeLF
			default:
				return f.refuse(i, "a control character in a chunk extension")
			}
		case fsChunkData:
			n := uint64(len(p) - i)
			if n > f.remaining {
				n = f.remaining
			}
			f.remaining -= n
			f.chunkData += n
			i += int(n) - 1
			if f.remaining == 0 {
				f.state = fsChunkDataCR
			}
		case fsChunkDataCR:
			if c != '\r' {
				return f.refuse(i, "chunk data not followed by CRLF")
			}
			f.state = fsChunkDataLF
		}
	}
	return -1
}

// scanRequest is scan for the bytes of a request whose body is being
// received (heads is one past ends): it stops at the end of that request
// and returns how many bytes of p are its, and bad as scan does. Body and
// chunk data are scanned in one piece each, the few framing bytes around
// them one by one.
func (f *framing) scanRequest(p []byte) (n, bad int) {
	ends := f.ends
	for n < len(p) && f.ends == ends {
		k := 1
		if f.state == fsBody || f.state == fsChunkData {
			k = int(min(f.remaining, uint64(len(p)-n)))
		}
		if b := f.scan(p[n : n+k]); b >= 0 {
			return n + b, n + b
		}
		n += k
	}
	return n, -1
}

// lineEnd moves on after the LF that ends a line.
func (f *framing) lineEnd() {
	switch f.state {
	case fsRequestLF, fsFieldLF:
		f.state = fsFieldStart
	case fsEndLF:
		if f.trailer {
			f.state = fsStart
			f.ends++
			return
		}
		f.heads++
		switch {
		case f.sawChunked:
			f.state, f.remaining, f.digits = fsChunkSize, 0, 0
		case f.sawLength && f.remaining > 0:
			f.state = fsBody
		default:
			f.state = fsStart
			f.ends++
		}
	case fsChunkSizeLF:
		if f.remaining == 0 {
			f.state, f.trailer = fsFieldStart, true
		} else {
			f.state = fsChunkData
		}
	case fsChunkDataLF:
		f.state, f.remaining, f.digits = fsChunkSize, 0, 0
	}
}

// fieldEnd checks a complete header field and returns why it is refused,
// or "".
func (f *framing) fieldEnd() string {
	switch f.kind {
	case fieldOther:
		return ""
	case fieldInTrailer:
		return textproto.CanonicalMIMEHeaderKey(string(f.name[:f.nameLen])) +
			" in the trailer of a chunked body (RFC 9110 6.5.1: it frames or routes the request)"
	case fieldContentType:
		if f.sawType {
			return "Content-Type appears twice"
		}
		f.sawType = true
		return ""
	}
	v := strings.Trim(string(f.value[:f.valueLen]), " \t")
	switch f.kind {
	case fieldContentLength:
		switch {
		case f.sawLength:
			return "Content-Length appears twice"
		case f.sawTE:
			return "both Transfer-Encoding and Content-Length (request smuggling?)"
		}
		n, err := strconv.ParseUint(v, 10, 63)
		if err != nil {
			return "a Content-Length that is not a number"
		}
		f.sawLength, f.remaining = true, n
	case fieldTransferEncoding:
		switch {
		case f.sawTE:
			return "Transfer-Encoding appears twice"
		case f.sawLength:
			return "both Content-Length and Transfer-Encoding (request smuggling?)"
		case !f.http11:
			return "Transfer-Encoding in an HTTP/1.0 request"
		}
		f.sawTE = true
		switch transferCodings(v) {
		case codingsChunked:
			f.sawChunked = true
		case codingsUnimplemented:
			// v is tokens and list separators: safe to log.
			f.unimplemented = "a transfer coding other than chunked (Transfer-Encoding: " + v + ")"
		case codingsChunkedNotLast:
			return "chunked is not the last transfer coding (RFC 9112 6.3)"
		default:
			return "a Transfer-Encoding that is not a list of transfer codings"
		}
	}
	return ""
}

// codings is what a Transfer-Encoding value says of a request's body.
type codings uint8

const (
	codingsMalformed      codings = iota // not a comma-separated list of tokens
	codingsChunked                       // exactly chunked: the one coding gowsgi reads
	codingsChunkedNotLast                // chunked, and another coding (or chunked) after it
	codingsUnimplemented                 // other codings, with chunked last or not at all
)

// transferCodings classifies a Transfer-Encoding value (RFC 9112 6.1).
// Parameters (";q=...") and empty list elements, which no client sends
// on a request, are malformed here: the guard accepts exactly what
// net/http accepts ("chunked", ignoring case) and would rather refuse
// than read a list differently from it.
func transferCodings(v string) codings {
	n, chunkedAt := 0, -1
	for coding := range strings.SplitSeq(v, ",") {
		coding = strings.Trim(coding, " \t")
		if !isToken(coding) {
			return codingsMalformed
		}
		// A token is ASCII, so EqualFold folds ASCII only, as net/http's
		// check does (strings.EqualFold alone takes the Kelvin sign for k).
		if strings.EqualFold(coding, "chunked") {
			if chunkedAt >= 0 {
				return codingsChunkedNotLast
			}
			chunkedAt = n
		}
		n++
	}
	switch {
	case chunkedAt >= 0 && chunkedAt < n-1:
		return codingsChunkedNotLast
	case chunkedAt == 0 && n == 1:
		return codingsChunked
	}
	return codingsUnimplemented
}

// isToken reports whether s is a token (RFC 9110 5.6.2).
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if !tokenBytes[s[i]] {
			return false
		}
	}
	return s != ""
}

// refuse refuses the request at p[i] with 400.
func (f *framing) refuse(i int, why string) int { return f.refuseWith(i, 0, why) }

func (f *framing) refuseWith(i, status int, why string) int {
	f.reason, f.status = why, status
	return i
}

func (f *framing) addNameByte(c byte) {
	if f.nameLen < len(f.name) {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		f.name[f.nameLen] = c
	}
	f.nameLen++
}

func (f *framing) fieldKind() fieldKind {
	if f.nameLen > len(f.name) {
		return fieldOther
	}
	if f.trailer {
		switch string(f.name[:f.nameLen]) {
		case "content-length", "transfer-encoding", "trailer", "host":
			return fieldInTrailer
		}
		return fieldOther
	}
	switch string(f.name[:f.nameLen]) {
	case "content-length":
		return fieldContentLength
	case "transfer-encoding":
		return fieldTransferEncoding
	case "content-type":
		return fieldContentType
	}
	return fieldOther
}

// validVersion reports whether the version is HTTP/d.d, and notes whether
// it allows Transfer-Encoding.
func (f *framing) validVersion() bool {
	v := f.version[:f.versionLen]
	if len(v) != 8 || string(v[:5]) != "HTTP/" || v[6] != '.' || !isDigit(v[5]) || !isDigit(v[7]) {
		return false
	}
	f.http11 = v[5] > '1' || v[5] == '1' && v[7] >= '1'
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// skip returns the index of the last byte of the run of class bytes that
// starts at p[i]: the hot loops of scan go through a header value or a
// target a byte at a time only where it matters.
func skip(p []byte, i int, class *[256]bool) int {
	for i+1 < len(p) && class[p[i+1]] {
		i++
	}
	return i
}

// Byte classes (RFC 9110 5.5, 5.6.2; RFC 9112 3.2).
var (
	// tokenBytes may appear in a method or a header name.
	tokenBytes = byteClass(func(c byte) bool {
		return c > ' ' && c < 0x7f && strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) < 0
	})
	// textBytes may appear in a header value or a chunk extension: HTAB,
	// SP, VCHAR and obs-text.
	textBytes = byteClass(func(c byte) bool { return c == '\t' || c >= ' ' && c != 0x7f })
	// targetBytes may appear in a request target: VCHAR and obs-text
	// (net/http's URL parsing judges the rest).
	targetBytes = byteClass(func(c byte) bool { return c > ' ' && c != 0x7f })
)

func byteClass(in func(c byte) bool) (class [256]bool) {
	for c := range 256 {
		class[c] = in(byte(c))
	}
	return class
}
