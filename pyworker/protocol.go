package pyworker

// This file declares the wire format between the Go master and the Python
// workers. It is the only place the format is defined; the Python mirror is
// pyworker/python/_gowsgi/protocol.py and both are tested against the golden
// bytes in testdata/frames/.
//
// Every message is one frame: a fixed 12-byte header followed by the payload.
//
//	 0        1        2        3        4        5        6        7        8        9       10       11
//	+--------+--------+--------+--------+--------+--------+--------+--------+--------+--------+--------+--------+
//	|  type  | flags  |  reserved (0)   |     request id (uint32, BE)       |    payload length (uint32, BE)    |
//	+--------+--------+--------+--------+--------+--------+--------+--------+--------+--------+--------+--------+
//	|  payload (length bytes) ...
//	+--------
//
// Python reads the header with struct.Struct("!BBHII").
//
// Limits: a payload is at most MaxPayload bytes; a decoder rejects a larger
// length before allocating. Request ids are chosen by Go, never 0 for a
// request, and echoed by Python on every frame that belongs to that request.
//
// Connections. Every worker process opens one control connection and one
// connection per thread to the master's unix socket. Each connection starts
// with a Hello frame (JSON). A thread connection carries one request at a
// time, so a request never hops between Python threads:
//
//	Go -> Python   Request(flags: FlagBody?) [Body...]
//	Python -> Go   [Read -> Go answers Body]... Start Body... End
//	          or   AppError                      (the app failed before Start)
//
// Python serves a connection's requests in order, but Go may write the
// Request frame of the next one (a GET or HEAD without body, see pool.go)
// while the current one runs: a Request frame that arrives while Python
// waits for a Body or looks for an Abort is kept for after the current
// request's End.
//
// With the engine, the Ready of the process that imported the app (the
// zygote for Preload "app", else the worker) names in "go_runtime" an
// object built with Go it found mapped; such a worker has not loaded the
// engine and serves nothing (see GoRuntimeError).
//
// The control connection carries Ready or BootError once, then Log, Stop,
// Dump/Stack, Notify, Retire (a worker that serves through the engine and
// reached max-requests), and for a zygote Fork/Forked/Exited.
//
// Payload encodings:
//   - Request: the CGI environ as latin-1 "key\x00value\x00key\x00value"
//     (no trailing NUL, an even number of fields). Python decodes it with one
//     bytes.decode and one str.split. Values never contain NUL: the gateway
//     answers 400 to a request that would need one.
//   - Start: "200 OK\x00Name\x00Value\x00Name\x00Value" in latin-1.
//   - Read: a uint32 (BE), the number of bytes Python would like at most.
//   - Hello, Ready, BootError, Fork, Forked, Exited, Dump, Stack, Notify: JSON objects.
//   - Body, Log, AppError: raw bytes (Log and AppError are UTF-8 text).

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// HeaderSize is the size of a frame header in bytes.
const HeaderSize = 12

// MaxPayload is the largest payload a frame may carry (16 MiB). Larger
// response chunks are split by the sender.
const MaxPayload = 16 << 20

// FrameType says what a frame carries.
type FrameType uint8

// Frame types sent by Go.
const (
	TypeRequest FrameType = 1 // environ of a new request
	TypeBody    FrameType = 2 // a chunk of the request body; FlagEOF on the last
	TypeAbort   FrameType = 3 // the client went away: stop, close the iterable, send End
	TypeStop    FrameType = 5 // control: finish current requests, then exit 0
	TypeDump    FrameType = 6 // control: send the Python stack of a thread (JSON {"thread": n})
	TypeFork    FrameType = 8 // zygote control: fork a worker (JSON)
	TypeNotify  FrameType = 9 // control: files changed (JSON {"changed": [abs paths]}); Django resets its template caches
)

// Frame types sent by Python.
const (
	TypeHello     FrameType = 16 // first frame on every connection (JSON)
	TypeReady     FrameType = 17 // control: the app imported; thread connections are open (JSON)
	TypeBootError FrameType = 18 // control: the app failed to import (JSON, see BootError)
	TypeStart     FrameType = 19 // status and headers
	TypeRespBody  FrameType = 20 // a chunk of the response body
	TypeEnd       FrameType = 21 // the response is complete; FlagError if it broke after Start
	TypeAppError  FrameType = 22 // the app failed before Start (traceback text); ends the request
	TypeRead      FrameType = 23 // Python wants more request body
	TypeLog       FrameType = 24 // text written to wsgi.errors or the worker's stderr
	TypeStack     FrameType = 25 // control: answer to Dump (JSON)
	TypeForked    FrameType = 26 // zygote control: a worker was forked (JSON {"worker", "pid"})
	TypeExited    FrameType = 27 // zygote control: a forked worker exited (JSON {"pid", "code", "signal"})
	TypeRetire    FrameType = 28 // control: an engine worker reached max-requests and stopped accepting (JSON {"reason"})
)

// Frame flags.
const (
	FlagBody  uint8 = 0x01 // Request: the request has a body; Python may send Read
	FlagEOF   uint8 = 0x02 // Body: this is the last chunk of the request body
	FlagError uint8 = 0x04 // End: the response broke after Start; cut the client connection
)

var typeNames = map[FrameType]string{
	TypeRequest: "Request", TypeBody: "Body", TypeAbort: "Abort", TypeStop: "Stop",
	TypeDump: "Dump", TypeFork: "Fork", TypeNotify: "Notify", TypeHello: "Hello", TypeReady: "Ready",
	TypeBootError: "BootError", TypeStart: "Start", TypeRespBody: "RespBody",
	TypeEnd: "End", TypeAppError: "AppError", TypeRead: "Read", TypeLog: "Log",
	TypeStack: "Stack", TypeForked: "Forked", TypeExited: "Exited", TypeRetire: "Retire",
}

// String returns the frame type's name, as used in logs and golden files.
func (t FrameType) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("FrameType(%d)", uint8(t))
}

// Known reports whether t is a frame type this version of the protocol defines.
func (t FrameType) Known() bool {
	_, ok := typeNames[t]
	return ok
}

// Header is a decoded frame header.
type Header struct {
	Type      FrameType
	Flags     uint8
	RequestID uint32
	Length    uint32
}

// Frame is a header with its payload.
type Frame struct {
	Header
	Payload []byte
}

// ErrFrameTooLarge is returned for a header announcing more than MaxPayload bytes.
var ErrFrameTooLarge = errors.New("frame payload larger than 16 MiB")

// ErrBadFrame is returned for a header that is not a frame of this protocol.
var ErrBadFrame = errors.New("malformed frame header")

// PutHeader writes h into b, which must be at least HeaderSize bytes long.
func PutHeader(b []byte, h Header) {
	b[0] = byte(h.Type)
	b[1] = h.Flags
	b[2], b[3] = 0, 0
	binary.BigEndian.PutUint32(b[4:8], h.RequestID)
	binary.BigEndian.PutUint32(b[8:12], h.Length)
}

// ParseHeader decodes and checks a frame header.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("%w: %d bytes, want %d", ErrBadFrame, len(b), HeaderSize)
	}
	h := Header{
		Type:      FrameType(b[0]),
		Flags:     b[1],
		RequestID: binary.BigEndian.Uint32(b[4:8]),
		Length:    binary.BigEndian.Uint32(b[8:12]),
	}
	if b[2] != 0 || b[3] != 0 {
		return h, fmt.Errorf("%w: reserved bytes are %#x %#x", ErrBadFrame, b[2], b[3])
	}
	if !h.Type.Known() {
		return h, fmt.Errorf("%w: unknown type %d", ErrBadFrame, b[0])
	}
	if h.Length > MaxPayload {
		return h, fmt.Errorf("%w: %d bytes", ErrFrameTooLarge, h.Length)
	}
	return h, nil
}

// AppendFrame appends the encoding of one frame to dst and returns it.
func AppendFrame(dst []byte, t FrameType, flags uint8, id uint32, payload []byte) []byte {
	var h [HeaderSize]byte
	PutHeader(h[:], Header{Type: t, Flags: flags, RequestID: id, Length: uint32(len(payload))})
	dst = append(dst, h[:]...)
	return append(dst, payload...)
}

// ReadFrame reads one frame from r. The payload is read into buf when it is
// large enough (buf is reused by the caller between frames), else into a new
// slice.
func ReadFrame(r io.Reader, buf []byte) (Frame, error) {
	var hb [HeaderSize]byte
	if _, err := io.ReadFull(r, hb[:]); err != nil {
		return Frame{}, err
	}
	h, err := ParseHeader(hb[:])
	if err != nil {
		return Frame{}, err
	}
	var p []byte
	if int(h.Length) <= cap(buf) {
		p = buf[:h.Length]
	} else {
		p = make([]byte, h.Length)
	}
	if _, err := io.ReadFull(r, p); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, fmt.Errorf("reading %s payload of %d bytes: %w", h.Type, h.Length, err)
	}
	return Frame{Header: h, Payload: p}, nil
}

// ErrNULInEnviron is returned when an environ key or value contains a NUL
// byte, which the encoding cannot carry.
var ErrNULInEnviron = errors.New("NUL byte in environ")

// AppendEnviron appends one key/value pair to an environ payload under
// construction, separating it from earlier pairs with NUL.
func AppendEnviron(dst []byte, key, value string) []byte {
	if len(dst) > 0 {
		dst = append(dst, 0)
	}
	dst = append(dst, key...)
	dst = append(dst, 0)
	return append(dst, value...)
}

// ParseEnviron splits an environ payload into key/value pairs, in order.
func ParseEnviron(p []byte) ([][2]string, error) {
	if len(p) == 0 {
		return nil, nil
	}
	var out [][2]string
	fields := splitNUL(p)
	if len(fields)%2 != 0 {
		return nil, fmt.Errorf("environ has %d fields, want an even number", len(fields))
	}
	for i := 0; i < len(fields); i += 2 {
		out = append(out, [2]string{fields[i], fields[i+1]})
	}
	return out, nil
}

func splitNUL(p []byte) []string {
	var out []string
	start := 0
	for i, c := range p {
		if c == 0 {
			out = append(out, string(p[start:i]))
			start = i + 1
		}
	}
	return append(out, string(p[start:]))
}

// ParseStart splits a Start payload into the status line and header pairs.
func ParseStart(p []byte) (status string, headers [][2]string, err error) {
	return AppendStart(nil, p)
}

// AppendStart is ParseStart appending the header pairs to headers (an
// engine thread reuses one slice for its requests). The status and the
// headers are pieces of one copy of p: a string per field was most of the
// allocations of a hello request's answer.
func AppendStart(headers [][2]string, p []byte) (status string, _ [][2]string, err error) {
	s := string(p)
	if n := strings.Count(s, "\x00"); n%2 != 0 {
		return "", headers, fmt.Errorf("start frame has %d fields, want status and pairs", n+1)
	}
	status, s, more := strings.Cut(s, "\x00")
	for more {
		var name, value string
		name, s, _ = strings.Cut(s, "\x00")
		value, s, more = strings.Cut(s, "\x00")
		headers = append(headers, [2]string{name, value})
	}
	return status, headers, nil
}
