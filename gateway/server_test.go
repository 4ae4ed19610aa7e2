package gateway

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// testTLSConfigs returns an https listener's configuration as master/tls.go
// makes it (TLS 1.2 or later, http/1.1 only), with a certificate for
// 127.0.0.1 made for the test, and a client configuration that trusts it.
// (master.SelfSignedCertificate makes the real one; master imports gateway.)
func testTLSConfigs(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	server = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"http/1.1"},
	}
	return server, &tls.Config{RootCAs: pool}
}

// TestHTTPSThroughTheGuard: on an https listener the framing guard reads
// what TLS decrypts (TestHostileHTTPCorpus runs the whole corpus there),
// and net/http still sees a TLS connection.
func TestHTTPSThroughTheGuard(t *testing.T) {
	serverTLS, clientTLS := testTLSConfigs(t)
	logs := &lockedBuffer{}
	var seen *tls.ConnectionState
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.TLS
		io.WriteString(w, "hello")
	})
	srv := NewServer(h, log.New(logs, "", 0), 0, 500*time.Millisecond)
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := tcp.Addr().String()
	srv.Serve(tls.NewListener(tcp, serverTLS))
	t.Cleanup(func() { srv.Close() })

	t.Run("Request.TLS is set, HTTP/1.1", func(t *testing.T) {
		// A client that offers h2 too gets HTTP/1.1: the listener offers
		// only that, and net/http serves HTTP/1.x through the guard.
		tr := &http.Transport{TLSClientConfig: clientTLS.Clone(), ForceAttemptHTTP2: true}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Get("https://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "hello" || resp.Proto != "HTTP/1.1" {
			t.Fatalf("%s %d %q, want HTTP/1.1 200 hello", resp.Proto, resp.StatusCode, body)
		}
		if seen == nil || !seen.HandshakeComplete || seen.Version < tls.VersionTLS12 || seen.NegotiatedProtocol != "http/1.1" {
			t.Fatalf("Request.TLS = %+v, want a completed TLS 1.2+ handshake that chose http/1.1", seen)
		}
	})

	t.Run("a smuggling attempt is refused", func(t *testing.T) {
		raw := "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /?smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
		statuses, _, closed := sendRawTLS(t, addr, clientTLS, []byte(raw), false)
		if len(statuses) != 1 || statuses[0] != http.StatusBadRequest || !closed {
			t.Fatalf("responses %v (closed %v), want [400] and a closed connection", statuses, closed)
		}
		if !strings.Contains(logs.String(), "both Content-Length and Transfer-Encoding (request smuggling?); answered 400") {
			t.Fatalf("log:\n%s", logs)
		}
	})

	t.Run("plain HTTP gets a plain 400, and a log line", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		got, _ := io.ReadAll(c)
		if !strings.HasPrefix(string(got), "HTTP/1.0 400 Bad Request\r\n") {
			t.Fatalf("got %q, want net/http's answer to plain HTTP on https", got)
		}
		re := regexp.MustCompile(`TLS handshake error from 127\.0\.0\.1:\d+: client sent an HTTP request to an HTTPS server`)
		if !re.MatchString(logs.String()) {
			t.Fatalf("log does not match %q:\n%s", re, logs)
		}
	})

	// The handshake happens where net/http asks for the TLS state, before
	// it sets the header timeout: without a deadline of its own, a client
	// that never sends a ClientHello would hold the connection forever.
	t.Run("a client that never handshakes is cut off", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		t0 := time.Now()
		_, err = c.Read(make([]byte, 1))
		if d := time.Since(t0); err == nil || d > 5*time.Second || d < 300*time.Millisecond {
			t.Fatalf("after %s: %v; want the connection closed after the 500ms header timeout", d, err)
		}
	})
}
