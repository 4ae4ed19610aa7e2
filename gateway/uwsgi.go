package gateway

// This file declares the uwsgi wire format, the binary protocol nginx speaks
// with `uwsgi_pass` (and uWSGI's own routers and tools). It is the only place
// the format is defined; uwsgi_server.go serves requests with it.
//
// A request is one packet: a 4-byte header, then the vars block, then the
// request body (CONTENT_LENGTH bytes, not counted in the header):
//
//	 0          1          2          3
//	+----------+----------+----------+----------+
//	| modifier1|   datasize (uint16, LE) | modifier2|
//	+----------+----------+----------+----------+
//	| vars (datasize bytes) ...
//	+----------
//	| body (CONTENT_LENGTH bytes) ...
//	+----------
//
// The vars block is a sequence of key/value pairs, the CGI variables of
// nginx's `include uwsgi_params` plus one HTTP_* per request header:
//
//	+----------+----------+-----------+----------+----------+-------------+
//	| keysize (uint16, LE) | key ...   | valsize (uint16, LE) | value ...   |  ...
//	+----------+----------+-----------+----------+----------+-------------+
//
// modifier1 selects uWSGI's request handler: 0 is WSGI, the only one gowsgi
// serves (nginx sends 0 unless configured with `uwsgi_modifier1`).
// modifier2 is a sub-selector that WSGI ignores; it is kept as received.
//
// Limits: datasize is at most the server's buffer size (uWSGI's
// `buffer-size`, default 4096, at most 65535 since datasize is 16 bits); a
// decoder refuses a larger packet from its header alone, before reading or
// allocating the vars. Keys are never empty; keys and values never hold NUL
// (the worker protocol cannot carry it, see pyworker.AppendEnviron); a key
// appears once, except HTTP_* keys, which nginx before 1.23 repeats for a
// repeated request header (the environ joins them as HTTP does).
//
// The response is not framed: the server writes an HTTP/1.1 status line,
// headers and the body, and closes the connection to end it.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// uwsgiHeaderSize is the size of a packet header in bytes.
const uwsgiHeaderSize = 4

// DefaultUwsgiBufferSize is the largest vars block accepted when
// UwsgiServer.BufferSize is 0: uWSGI's default buffer-size.
const DefaultUwsgiBufferSize = 4096

// MaxUwsgiBufferSize is the largest vars block the format can describe.
const MaxUwsgiBufferSize = 1<<16 - 1

// uwsgiModifier is a packet's modifier1: which kind of request it carries.
type uwsgiModifier uint8

// uwsgiModifierWSGI is the modifier1 of a WSGI request.
const uwsgiModifierWSGI uwsgiModifier = 0

// uwsgiVar is one key/value pair of a vars block.
type uwsgiVar struct{ key, value string }

// uwsgiPacket is a decoded request packet without its body.
type uwsgiPacket struct {
	modifier1 uwsgiModifier
	modifier2 uint8
	vars      []uwsgiVar // in wire order
}

// Errors of readUwsgiPacket that the server branches on.
var (
	// errUwsgiTooLarge: the vars block is larger than the buffer size.
	errUwsgiTooLarge = errors.New("invalid request block size")
	// errUwsgiModifier: modifier1 names a handler other than WSGI.
	errUwsgiModifier = errors.New("unavailable modifier requested")
	// errUwsgiMalformed: the vars block cannot be decoded.
	errUwsgiMalformed = errors.New("malformed uwsgi vars")
)

// uwsgiTooLargeError says by how much a packet exceeds the buffer size.
type uwsgiTooLargeError struct{ size, max int }

func (e *uwsgiTooLargeError) Error() string {
	return fmt.Sprintf("%v: %d (max %d)", errUwsgiTooLarge, e.size, e.max)
}

func (e *uwsgiTooLargeError) Unwrap() error { return errUwsgiTooLarge }

// readUwsgiPacket reads one packet's header and vars from r (not the body,
// which follows on r). bufferSize caps the vars block; 0 means
// DefaultUwsgiBufferSize. buf is reused for the vars block when it is
// large enough. into, when not nil, is the packet decoded into, its vars
// slice reused (the engine's thread keeps one: the slice was a third of
// the bytes it allocated per nginx request); nil: a new packet.
//
// The errors are io.EOF for a connection closed before any byte,
// io.ErrUnexpectedEOF for a truncated packet, r's own read errors, and
// errors wrapping errUwsgiTooLarge, errUwsgiModifier or errUwsgiMalformed.
func readUwsgiPacket(r io.Reader, bufferSize int, buf []byte, into *uwsgiPacket) (*uwsgiPacket, error) {
	if bufferSize <= 0 {
		bufferSize = DefaultUwsgiBufferSize
	}
	var hb [uwsgiHeaderSize]byte
	if _, err := io.ReadFull(r, hb[:]); err != nil {
		return nil, err
	}
	mod1, size, mod2 := uwsgiModifier(hb[0]), int(binary.LittleEndian.Uint16(hb[1:3])), hb[3]
	// Size first, as uWSGI does: a packet too large for the buffer is
	// refused whatever it claims to be.
	if size > bufferSize {
		return nil, &uwsgiTooLargeError{size: size, max: bufferSize}
	}
	if mod1 != uwsgiModifierWSGI {
		return nil, fmt.Errorf("%w: modifier1 %d (gowsgi serves WSGI, modifier1 0; remove uwsgi_modifier1 from the nginx config)", errUwsgiModifier, mod1)
	}
	if size > cap(buf) {
		buf = make([]byte, size)
	}
	buf = buf[:size]
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("reading %d bytes of uwsgi vars: %w", size, err)
	}
	if into == nil {
		into = new(uwsgiPacket)
	}
	vars, err := parseUwsgiVars(buf, into.vars[:0])
	if err != nil {
		return nil, err
	}
	*into = uwsgiPacket{modifier1: mod1, modifier2: mod2, vars: vars}
	return into, nil
}

// parseUwsgiVars decodes a vars block. Its keys and values are pieces of
// one copy of the block: a string per key and per value was 28 of the 65
// allocations of an nginx request (BenchmarkEngineUwsgiRequest).
//
// The vars are appended to vars (nil: a new slice).
func parseUwsgiVars(b []byte, vars []uwsgiVar) ([]uwsgiVar, error) {
	if vars == nil {
		vars = make([]uwsgiVar, 0, 32)
	}
	var seen map[string]bool
	block := string(b)
	for off := 0; off < len(b); {
		key, n, err := uwsgiString(block, off, "key")
		if err != nil {
			return nil, err
		}
		if key == "" {
			return nil, fmt.Errorf("%w: var %d at offset %d has an empty key", errUwsgiMalformed, len(vars), off)
		}
		vo := off + n
		value, m, err := uwsgiString(block, vo, key)
		if err != nil {
			return nil, err
		}
		if strings.IndexByte(key, 0) >= 0 || strings.IndexByte(value, 0) >= 0 {
			return nil, fmt.Errorf("%w: var %q at offset %d has a NUL byte", errUwsgiMalformed, key, off)
		}
		if !strings.HasPrefix(key, "HTTP_") {
			// The keys seen so far are looked up in vars while there are
			// few (nginx sends about 15 that are not headers): a map for
			// every request was a third of the bytes the engine allocated
			// per nginx request.
			if seen == nil && len(vars) >= uwsgiScanVars {
				seen = make(map[string]bool, 2*len(vars))
				for _, v := range vars {
					if !strings.HasPrefix(v.key, "HTTP_") {
						seen[v.key] = true
					}
				}
			}
			if seen != nil && seen[key] || seen == nil && uwsgiHasKey(vars, key) {
				return nil, fmt.Errorf("%w: var %q appears twice", errUwsgiMalformed, key)
			}
			if seen != nil {
				seen[key] = true
			}
		}
		vars = append(vars, uwsgiVar{key, value})
		off = vo + m
	}
	return vars, nil
}

// uwsgiScanVars is how many vars parseUwsgiVars looks through for a
// repeated key before it keeps them in a map.
const uwsgiScanVars = 32

func uwsgiHasKey(vars []uwsgiVar, key string) bool {
	for _, v := range vars {
		if v.key == key {
			return true
		}
	}
	return false
}

// uwsgiString decodes one length-prefixed string at b[off:] and returns it
// with the bytes it took. what names it in errors.
func uwsgiString(b string, off int, what string) (string, int, error) {
	if len(b)-off < 2 {
		return "", 0, fmt.Errorf("%w: %s size at offset %d: %d byte(s) left, want 2", errUwsgiMalformed, what, off, len(b)-off)
	}
	n := int(b[off]) | int(b[off+1])<<8
	if n > len(b)-off-2 {
		return "", 0, fmt.Errorf("%w: %s size %d at offset %d runs past the end of the %d-byte block", errUwsgiMalformed, what, n, off, len(b))
	}
	return b[off+2 : off+2+n], 2 + n, nil
}

// appendUwsgiPacket appends the encoding of p (header and vars) to dst. It
// fails when the vars do not fit in the 16-bit sizes of the format.
func appendUwsgiPacket(dst []byte, p *uwsgiPacket) ([]byte, error) {
	size := 0
	for _, v := range p.vars {
		if len(v.key) > MaxUwsgiBufferSize || len(v.value) > MaxUwsgiBufferSize {
			return dst, fmt.Errorf("uwsgi var %q: %d+%d bytes, more than a 16-bit size", v.key, len(v.key), len(v.value))
		}
		size += 4 + len(v.key) + len(v.value)
	}
	if size > MaxUwsgiBufferSize {
		return dst, fmt.Errorf("uwsgi vars: %d bytes, more than a 16-bit size", size)
	}
	dst = append(dst, byte(p.modifier1))
	dst = binary.LittleEndian.AppendUint16(dst, uint16(size))
	dst = append(dst, p.modifier2)
	for _, v := range p.vars {
		dst = binary.LittleEndian.AppendUint16(dst, uint16(len(v.key)))
		dst = append(dst, v.key...)
		dst = binary.LittleEndian.AppendUint16(dst, uint16(len(v.value)))
		dst = append(dst, v.value...)
	}
	return dst, nil
}
