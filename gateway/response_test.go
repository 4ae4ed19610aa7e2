package gateway

import "testing"

// TestCheckAppResponse: an app's header names are tokens, its values hold
// no CR, LF or NUL, and no hop-by-hop header passes, in whatever case it
// is spelled.
func TestCheckAppResponse(t *testing.T) {
	ok := [][2]string{
		{"Content-Type", "text/html"}, {"X-Frame-Options", "DENY"}, {"Set-Cookie", "a=b; Path=/"},
		{"Connectiox", "1"}, {"Upgrades", "1"}, {"Tx", "1"}, {"Transfer-Encodinx", "1"},
		{"!#$%&'*+-.^_`|~09azAZ", "1"},
	}
	for _, h := range ok {
		if code, err := checkAppResponse("200 OK", [][2]string{h}); err != nil || code != 200 {
			t.Errorf("%q: %d, %v, want 200 and no error", h, code, err)
		}
	}
	bad := [][2]string{
		{"Connection", "close"}, {"connection", "close"}, {"KEEP-ALIVE", "1"}, {"te", "trailers"},
		{"Trailer", "X"}, {"transfer-encoding", "chunked"}, {"Upgrade", "h2c"}, {"proxy-connection", "1"},
		{"", "x"}, {"Bad Name", "x"}, {"Bad:Name", "x"}, {"Bad\x7fName", "x"}, {"Bäd", "x"}, {"Bad(", "x"},
		{"X-Ok", "a\r\nInjected: 1"}, {"X-Ok", "a\x00"},
	}
	for _, h := range bad {
		if _, err := checkAppResponse("200 OK", [][2]string{h}); err == nil {
			t.Errorf("%q: no error, want one", h)
		}
	}
}
