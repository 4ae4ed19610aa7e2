package pyworker

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden frame files in testdata/frames")

const framesDir = "../testdata/frames"

type goldenFrame struct {
	Name       string             `json:"name"`
	Type       string             `json:"type"`
	Flags      uint8              `json:"flags"`
	RequestID  uint32             `json:"request_id"`
	PayloadTxt *string            `json:"payload_text"`
	PayloadHex *string            `json:"payload_hex"`
	Environ    [][2]string        `json:"environ"`
	Start      *[]json.RawMessage `json:"start"`
}

// latin1 turns a string of code points below 256 into those bytes, as the
// Python side does with str.encode("latin-1").
func latin1(t *testing.T, s string) string {
	t.Helper()
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 255 {
			t.Fatalf("%q is not latin-1", s)
		}
		b = append(b, byte(r))
	}
	return string(b)
}

func (g goldenFrame) frame(t *testing.T) Frame {
	t.Helper()
	var typ FrameType
	for k, v := range typeNames {
		if v == g.Type {
			typ = k
		}
	}
	if typ == 0 {
		t.Fatalf("%s: unknown type %q", g.Name, g.Type)
	}
	var p []byte
	switch {
	case g.PayloadTxt != nil:
		p = []byte(*g.PayloadTxt)
	case g.PayloadHex != nil:
		var err error
		if p, err = hex.DecodeString(*g.PayloadHex); err != nil {
			t.Fatal(err)
		}
	case g.Environ != nil:
		for _, kv := range g.Environ {
			p = AppendEnviron(p, latin1(t, kv[0]), latin1(t, kv[1]))
		}
	case g.Start != nil:
		var status string
		var headers [][2]string
		if err := json.Unmarshal((*g.Start)[0], &status); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal((*g.Start)[1], &headers); err != nil {
			t.Fatal(err)
		}
		p = []byte(latin1(t, status))
		for _, kv := range headers {
			p = append(p, 0)
			p = append(p, latin1(t, kv[0])...)
			p = append(p, 0)
			p = append(p, latin1(t, kv[1])...)
		}
	}
	return Frame{Header: Header{Type: typ, Flags: g.Flags, RequestID: g.RequestID, Length: uint32(len(p))}, Payload: p}
}

func loadGolden(t *testing.T) []goldenFrame {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(framesDir, "frames.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Frames []goldenFrame `json:"frames"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	// No frame would make every golden test a loop of zero iterations
	// (issue 13, bug 6).
	if len(m.Frames) == 0 {
		t.Fatalf("%s lists no frames", filepath.Join(framesDir, "frames.json"))
	}
	return m.Frames
}

func TestGoldenFrames(t *testing.T) {
	for _, g := range loadGolden(t) {
		t.Run(g.Name, func(t *testing.T) {
			want := g.frame(t)
			enc := AppendFrame(nil, want.Type, want.Flags, want.RequestID, want.Payload)
			path := filepath.Join(framesDir, g.Name+".bin")
			if *update {
				if err := os.WriteFile(path, enc, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			golden, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(enc, golden) {
				t.Fatalf("encoding differs from %s:\n got %x\nwant %x", path, enc, golden)
			}
			got, err := ReadFrame(bytes.NewReader(golden), nil)
			if err != nil {
				t.Fatalf("decoding %s: %v", path, err)
			}
			if got.Header != want.Header || !bytes.Equal(got.Payload, want.Payload) {
				t.Fatalf("decoded %+v %q, want %+v %q", got.Header, got.Payload, want.Header, want.Payload)
			}
			switch got.Type {
			case TypeRequest:
				pairs, err := ParseEnviron(got.Payload)
				if err != nil {
					t.Fatal(err)
				}
				if len(pairs) != len(g.Environ) {
					t.Fatalf("got %d pairs, want %d", len(pairs), len(g.Environ))
				}
				for i, kv := range g.Environ {
					if pairs[i] != [2]string{latin1(t, kv[0]), latin1(t, kv[1])} {
						t.Errorf("pair %d = %q, want %q", i, pairs[i], kv)
					}
				}
			case TypeStart:
				if _, _, err := ParseStart(got.Payload); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestParseHeaderErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"short", []byte{1, 0, 0}, ErrBadFrame},
		{"reserved set", []byte{1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0}, ErrBadFrame},
		{"unknown type", []byte{99, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0}, ErrBadFrame},
		{"too large", []byte{2, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1}, ErrFrameTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseHeader(tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("ParseHeader(%x) = %v, want %v", tc.in, err, tc.want)
			}
		})
	}
}

func FuzzReadFrame(f *testing.F) {
	entries, _ := filepath.Glob(filepath.Join(framesDir, "*.bin"))
	if len(entries) == 0 {
		f.Fatalf("no golden frames in %s to seed the fuzzer with", framesDir)
	}
	for _, e := range entries {
		b, err := os.ReadFile(e)
		if err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		fr, err := ReadFrame(bytes.NewReader(in), make([]byte, 64))
		if err != nil {
			return
		}
		if int(fr.Length) != len(fr.Payload) || fr.Length > MaxPayload {
			t.Fatalf("frame length %d, payload %d", fr.Length, len(fr.Payload))
		}
		// Re-encoding a decoded frame gives back the input's prefix.
		enc := AppendFrame(nil, fr.Type, fr.Flags, fr.RequestID, fr.Payload)
		if !bytes.Equal(enc, in[:len(enc)]) {
			t.Fatalf("round trip: %x != %x", enc, in[:len(enc)])
		}
		switch fr.Type {
		case TypeRequest:
			if pairs, err := ParseEnviron(fr.Payload); err == nil {
				var re []byte
				for _, kv := range pairs {
					re = AppendEnviron(re, kv[0], kv[1])
				}
				if !bytes.Equal(re, fr.Payload) {
					t.Fatalf("environ round trip: %q != %q", re, fr.Payload)
				}
			}
		case TypeStart:
			_, _, _ = ParseStart(fr.Payload)
		}
	})
}

// AppendStart splits as the Python side joins: status, then name and
// value pairs, NUL between each; a pair cut short is an error.
func TestAppendStart(t *testing.T) {
	tests := []struct {
		payload string
		status  string
		headers [][2]string
		bad     bool
	}{
		{payload: "200 OK", status: "200 OK"},
		{payload: "200 OK\x00Content-Type\x00text/plain", status: "200 OK", headers: [][2]string{{"Content-Type", "text/plain"}}},
		{payload: "404 Not Found\x00A\x00\x00B\x00b", status: "404 Not Found", headers: [][2]string{{"A", ""}, {"B", "b"}}},
		{payload: "200 OK\x00\x00", status: "200 OK", headers: [][2]string{{"", ""}}},
		{payload: "200 OK\x00Content-Type", bad: true},
		{payload: "200 OK\x00A\x00a\x00B", bad: true},
	}
	for _, tt := range tests {
		status, headers, err := AppendStart([][2]string{{"kept", "x"}}, []byte(tt.payload))
		if tt.bad {
			if err == nil {
				t.Errorf("%q: no error", tt.payload)
			}
			continue
		}
		if err != nil || status != tt.status || len(headers) != 1+len(tt.headers) || headers[0] != [2]string{"kept", "x"} {
			t.Errorf("%q: %q %q %v", tt.payload, status, headers, err)
			continue
		}
		for i, h := range tt.headers {
			if headers[1+i] != h {
				t.Errorf("%q: header %d = %q, want %q", tt.payload, i, headers[1+i], h)
			}
		}
	}
}
