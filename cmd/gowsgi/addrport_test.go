package main

import "testing"

func TestParseAddrPort(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "8001", want: "127.0.0.1:8001"},
		{in: "0.0.0.0:8001", want: "0.0.0.0:8001"},
		{in: "0:8001", want: "0.0.0.0:8001"},
		{in: "[::1]:8001", want: "[::1]:8001"},
		{in: "localhost:8001", want: "localhost:8001"},
		{in: ":8001", want: "127.0.0.1:8001"},
		{in: "127.0.0.1:0", want: "127.0.0.1:0"},
		{in: "", wantErr: true},
		{in: "80x", wantErr: true},
		{in: "host:99999", wantErr: true},
		{in: "::1", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseAddrPort(tc.in)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("parseAddrPort(%q) = %q, %v; want %q (error %v)", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func FuzzParseAddrPort(f *testing.F) {
	for _, s := range []string{"8000", "0:80", "[::1]:1", "a:b:c", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseAddrPort(s)
		if err != nil {
			return
		}
		// What it returns is itself a valid address that parses the same.
		again, err := parseAddrPort(got)
		if err != nil || again != got {
			t.Fatalf("parseAddrPort(%q) = %q, which reparses as %q, %v", s, got, again, err)
		}
	})
}
