package gateway

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gowsgi/gowsgi/pyworker"
)

// The fixtures nginx_get.bin and nginx_post.bin are real packets: Debian's
// nginx 1.22 with `include uwsgi_params; uwsgi_pass ...;` in front of a
// listener that saved the bytes, for
//
//	curl -H 'Host: gowsgi.test' -H 'User-Agent: curl/7.88.1' 'http://127.0.0.1:18080/hello/?x=1'
//	curl -H 'Host: gowsgi.test' -H 'User-Agent: curl/7.88.1' -H 'X-Multi: a' -H 'X-Multi: b' \
//	     -H 'Content-Type: application/x-www-form-urlencoded' --data 'name=gowsgi&x=1' 'http://127.0.0.1:18080/echo/p?q=1'
//
// (server_name gowsgi.test; root /var/www/html; listen 127.0.0.1:18080).
// The POST one ends with its 15-byte body.
const uwsgiFixtures = "testdata/uwsgi"

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(uwsgiFixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// nginxGetVars is what nginx_get.bin holds, in order.
var nginxGetVars = []uwsgiVar{
	{"QUERY_STRING", "x=1"}, {"REQUEST_METHOD", "GET"}, {"CONTENT_TYPE", ""}, {"CONTENT_LENGTH", ""},
	{"REQUEST_URI", "/hello/?x=1"}, {"PATH_INFO", "/hello/"}, {"DOCUMENT_ROOT", "/var/www/html"},
	{"SERVER_PROTOCOL", "HTTP/1.1"}, {"REQUEST_SCHEME", "http"}, {"REMOTE_ADDR", "127.0.0.1"},
	{"REMOTE_PORT", "38596"}, {"SERVER_PORT", "18080"}, {"SERVER_NAME", "gowsgi.test"},
	{"HTTP_HOST", "gowsgi.test"}, {"HTTP_ACCEPT", "*/*"}, {"HTTP_USER_AGENT", "curl/7.88.1"},
}

// packet builds a packet by hand: header fields, then raw vars bytes.
func packet(mod1 byte, size int, mod2 byte, vars []byte) []byte {
	b := []byte{mod1, 0, 0, mod2}
	binary.LittleEndian.PutUint16(b[1:3], uint16(size))
	return append(b, vars...)
}

// kv encodes key/value pairs as a vars block.
func kv(pairs ...string) []byte {
	var b []byte
	for _, s := range pairs {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(s)))
		b = append(b, s...)
	}
	return b
}

func withVars(mod1 byte, vars []byte) []byte { return packet(mod1, len(vars), 0, vars) }

func TestReadUwsgiPacket(t *testing.T) {
	get := readFixture(t, "nginx_get.bin")
	post := readFixture(t, "nginx_post.bin")
	big := kv("REQUEST_METHOD", "GET", "HTTP_COOKIE", strings.Repeat("c", 5000))
	tests := []struct {
		name       string
		in         []byte
		bufferSize int
		wantVars   []uwsgiVar // checked when not nil
		wantMod2   uint8
		wantBody   string // what is left on the reader after the packet
		wantIs     error  // errors.Is target; nil: success
		wantErr    string // substring of the error
	}{
		{name: "nginx GET", in: get, wantVars: nginxGetVars},
		{name: "nginx POST, body follows", in: post, wantBody: "name=gowsgi&x=1"},
		{name: "empty vars", in: packet(0, 0, 0, nil), wantVars: []uwsgiVar{}},
		{name: "modifier2 is kept", in: packet(0, 0, 7, nil), wantMod2: 7, wantVars: []uwsgiVar{}},
		{name: "empty value", in: withVars(0, kv("CONTENT_TYPE", "")), wantVars: []uwsgiVar{{"CONTENT_TYPE", ""}}},
		{name: "repeated HTTP_ var (nginx < 1.23 for a repeated header)", in: withVars(0, kv("HTTP_X", "a", "HTTP_X", "b")),
			wantVars: []uwsgiVar{{"HTTP_X", "a"}, {"HTTP_X", "b"}}},
		{name: "larger than 4096 with buffer size 8192", in: withVars(0, big), bufferSize: 8192,
			wantVars: []uwsgiVar{{"REQUEST_METHOD", "GET"}, {"HTTP_COOKIE", strings.Repeat("c", 5000)}}},

		{name: "nothing", in: nil, wantIs: io.EOF},
		{name: "truncated header", in: get[:3], wantIs: io.ErrUnexpectedEOF},
		{name: "truncated vars", in: get[:100], wantIs: io.ErrUnexpectedEOF, wantErr: "reading 361 bytes of uwsgi vars"},
		{name: "oversized", in: withVars(0, big), wantIs: errUwsgiTooLarge, wantErr: "invalid request block size: 5036 (max 4096)"},
		{name: "oversized, header alone", in: packet(0, 5000, 0, nil), wantIs: errUwsgiTooLarge, wantErr: "5000 (max 4096)"},
		{name: "oversized for a small buffer", in: get, bufferSize: 100, wantIs: errUwsgiTooLarge, wantErr: "361 (max 100)"},
		{name: "modifier1 30 (uwsgi_modifier1 30)", in: packet(30, 0, 0, nil), wantIs: errUwsgiModifier, wantErr: "modifier1 30"},
		{name: "bad modifier before size checked", in: packet(5, 10, 0, make([]byte, 10)), wantIs: errUwsgiModifier},
		{name: "key size past the end", in: withVars(0, []byte{10, 0, 'A', 'B'}), wantIs: errUwsgiMalformed,
			wantErr: "key size 10 at offset 0 runs past the end of the 4-byte block"},
		{name: "value size past the end", in: withVars(0, append(kv("A"), 9, 0, 'x')), wantIs: errUwsgiMalformed,
			wantErr: `A size 9 at offset 3 runs past the end`},
		{name: "key size cut in half", in: withVars(0, append(kv("A", "1"), 3)), wantIs: errUwsgiMalformed,
			wantErr: "key size at offset 6: 1 byte(s) left, want 2"},
		{name: "value size missing", in: withVars(0, kv("A")), wantIs: errUwsgiMalformed,
			wantErr: "A size at offset 3: 0 byte(s) left"},
		{name: "empty key", in: withVars(0, kv("", "x")), wantIs: errUwsgiMalformed, wantErr: "empty key"},
		{name: "NUL in a key", in: withVars(0, kv("A\x00B", "x")), wantIs: errUwsgiMalformed, wantErr: "NUL"},
		{name: "NUL in a value", in: withVars(0, kv("PATH_INFO", "/a\x00b")), wantIs: errUwsgiMalformed, wantErr: `"PATH_INFO" at offset 0 has a NUL`},
		{name: "duplicate key", in: withVars(0, kv("REQUEST_METHOD", "GET", "PATH_INFO", "/", "REQUEST_METHOD", "POST")),
			wantIs: errUwsgiMalformed, wantErr: `"REQUEST_METHOD" appears twice`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := bytes.NewReader(tc.in)
			p, err := readUwsgiPacket(r, tc.bufferSize, nil, nil)
			if tc.wantIs != nil {
				if !errors.Is(err, tc.wantIs) || !strings.Contains(errString(err), tc.wantErr) {
					t.Fatalf("error %v, want one that is %v and says %q", err, tc.wantIs, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("error %v", err)
			}
			if p.modifier1 != uwsgiModifierWSGI || p.modifier2 != tc.wantMod2 {
				t.Errorf("modifiers %d, %d; want 0, %d", p.modifier1, p.modifier2, tc.wantMod2)
			}
			if tc.wantVars != nil && !equalVars(p.vars, tc.wantVars) {
				t.Errorf("vars\n%q\nwant\n%q", p.vars, tc.wantVars)
			}
			rest, _ := io.ReadAll(r)
			if string(rest) != tc.wantBody {
				t.Errorf("left after the packet: %q, want %q", rest, tc.wantBody)
			}
			// And back to the same bytes.
			enc, err := appendUwsgiPacket(nil, p)
			if err != nil || !bytes.Equal(enc, tc.in[:len(tc.in)-len(tc.wantBody)]) {
				t.Errorf("re-encoded (err %v):\n%q\nwant\n%q", err, enc, tc.in)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func equalVars(a, b []uwsgiVar) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestAppendUwsgiPacketLimits(t *testing.T) {
	tests := []struct {
		name string
		vars []uwsgiVar
	}{
		{"value over 65535", []uwsgiVar{{"A", strings.Repeat("x", 1<<16)}}},
		{"block over 65535", []uwsgiVar{{"A", strings.Repeat("x", 40000)}, {"B", strings.Repeat("x", 40000)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := appendUwsgiPacket(nil, &uwsgiPacket{vars: tc.vars}); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

// FuzzUwsgiPacket: the decoder never panics, what it accepts re-encodes to
// the same bytes and respects its limits, and the environ built from it
// never panics and is a valid worker payload.
func FuzzUwsgiPacket(f *testing.F) {
	for _, name := range []string{"nginx_get.bin", "nginx_post.bin"} {
		b := readFixture(f, name)
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add(packet(0, 0, 0, nil))
	f.Add(withVars(0, kv("HTTP_X", "a", "HTTP_X", "b", "HTTP_CONNECTION", "x, Keep-Alive", "HTTP_KEEP_ALIVE", "1")))
	f.Add(withVars(0, kv("REQUEST_METHOD", "GET", "CONTENT_LENGTH", "-1")))
	f.Add(withVars(0, kv("REQUEST_METHOD", "GET", "REQUEST_URI", "http://x/%zz")))
	f.Add(withVars(0, []byte{10, 0, 'A'}))
	f.Add(packet(30, 4, 0, kv("A")))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := readUwsgiPacket(bytes.NewReader(data), MaxUwsgiBufferSize, nil, nil)
		if err != nil {
			return
		}
		size := int(binary.LittleEndian.Uint16(data[1:3]))
		enc, err := appendUwsgiPacket(nil, p)
		if err != nil {
			t.Fatalf("decoded packet does not encode: %v", err)
		}
		if !bytes.Equal(enc, data[:uwsgiHeaderSize+size]) {
			t.Fatalf("re-encoded\n%q\nwant\n%q", enc, data[:uwsgiHeaderSize+size])
		}
		var req uwsgiRequest
		local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9000}
		env, err := (&Environ{ScriptName: "/app"}).appendUwsgiEnviron(nil, p.vars, local, local, &req)
		if err != nil {
			if !errors.Is(err, ErrBadRequest) {
				t.Fatalf("environ error %v is not a bad request", err)
			}
			return
		}
		pairs, err := pyworker.ParseEnviron(env)
		if err != nil {
			t.Fatalf("environ does not parse back: %v", err)
		}
		seen := map[string]bool{}
		for _, kv := range pairs {
			if seen[kv[0]] {
				t.Fatalf("environ has %s twice: %q", kv[0], pairs)
			}
			seen[kv[0]] = true
		}
		for _, k := range []string{"REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "wsgi.url_scheme"} {
			if !seen[k] {
				t.Fatalf("environ lacks %s: %q", k, pairs)
			}
		}
	})
}
