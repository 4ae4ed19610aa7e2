package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/master"
)

// writeTestCertificate writes a self-signed certificate for 127.0.0.1 and
// localhost into dir and returns the files and a client that trusts it.
func writeTestCertificate(t *testing.T, dir, prefix string) (certFile, keyFile string, client *http.Client) {
	t.Helper()
	certPEM, keyPEM, err := master.SelfSignedCertificate([]string{"localhost", "127.0.0.1"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, prefix+"cert.pem"), filepath.Join(dir, prefix+"key.pem")
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, trustingClient(t, certPEM)
}

func trustingClient(t *testing.T, certPEM []byte) *http.Client {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(certPEM) {
		t.Fatal("bad test certificate")
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

var httpsListeningRE = regexp.MustCompile(`listening on https://(\S+)`)

// waitHTTPS waits until gowsgi says where it serves HTTPS.
func waitHTTPS(t *testing.T, p *proc) string {
	t.Helper()
	go func() {
		<-p.done
		p.out.Write(nil)
	}()
	m, ok := p.out.waitFor(httpsListeningRE, 90*time.Second, p.done)
	if !ok {
		t.Fatalf("gowsgi did not serve HTTPS; output:\n%s", p.out)
	}
	return "https://" + m[1]
}

// TestHTTPS: https = addr,cert,key serves the app over TLS 1.2+ with
// wsgi.url_scheme "https", next to a plain HTTP listener that stays "http";
// a HUP's new master takes the socket over and reads the certificate again.
func TestHTTPS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, client := writeTestCertificate(t, dir, "")
	pidfile := filepath.Join(dir, "gowsgi.pid")
	p := launch(t, repoRoot(t), nil, "serve", "--https", "127.0.0.1:0,"+certFile+","+keyFile, "--http", fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		"--chdir", "testdata/apps", "--wsgi-file", "all.py", "--python", testPython(t), "--pidfile", pidfile)
	t.Cleanup(func() { killByPidfile(t, pidfile) })
	url := waitHTTPS(t, p)
	m, _ := p.out.waitFor(listeningRE, time.Second)
	plain := "http://" + m[1]

	resp, err := client.Get(url + "/hello/")
	if err != nil {
		t.Fatalf("GET over TLS: %v\n%s", err, p.out)
	}
	resp.Body.Close()
	if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 || resp.Proto != "HTTP/1.1" {
		t.Fatalf("TLS %+v, proto %s; want TLS 1.2+ and HTTP/1.1", resp.TLS, resp.Proto)
	}
	if code, _, body := get(t, client, url+"/hello/"); code != 200 || body != "Hello, World!" {
		t.Fatalf("GET /hello/ over TLS: %d %q", code, body)
	}
	scheme := func(c *http.Client, u string) string {
		t.Helper()
		code, _, body := get(t, c, u+"/environ/")
		var env map[string]any
		if err := json.Unmarshal([]byte(body), &env); code != 200 || err != nil {
			t.Fatalf("GET %s/environ/: %d %v %q", u, code, err, body)
		}
		return env["wsgi.url_scheme"].(string)
	}
	if s := scheme(client, url); s != "https" {
		t.Errorf("wsgi.url_scheme over TLS = %q, want https", s)
	}
	if s := scheme(nil, plain); s != "http" {
		t.Errorf("wsgi.url_scheme over plain HTTP = %q, want http", s)
	}

	// A renewed certificate takes effect with a HUP, on the same socket.
	newCert, newKey, newClient := writeTestCertificate(t, dir, "new-")
	os.Rename(newCert, certFile)
	os.Rename(newKey, keyFile)
	old := p.cmd.Process.Pid
	syscall.Kill(old, syscall.SIGHUP)
	waitNewMaster(t, pidfile, old)
	newClient.Transport.(*http.Transport).DisableKeepAlives = true
	if code, _, body := get(t, newClient, url+"/hello/"); code != 200 || body != "Hello, World!" {
		t.Fatalf("after the HUP, with the renewed certificate: %d %q", code, body)
	}
	client.Transport.(*http.Transport).CloseIdleConnections()
	if _, err := client.Get(url + "/hello/"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("after the HUP the old certificate still serves (err %v)", err)
	}
}

// TestHTTPSBadCertificate: a missing or unusable certificate or key stops
// the start with exit 2 and the file's name.
func TestHTTPSBadCertificate(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, _ := writeTestCertificate(t, dir, "")
	_, otherKey, _ := writeTestCertificate(t, dir, "other-")
	garbage := filepath.Join(dir, "garbage.pem")
	os.WriteFile(garbage, []byte("not a certificate\n"), 0o644)
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name, cert, key, want string
	}{
		{"missing certificate", missing, keyFile, "reading the certificate: open " + missing + ": no such file or directory"},
		{"missing key", certFile, missing, "reading the key: open " + missing + ": no such file or directory"},
		{"not PEM", garbage, keyFile, "the certificate file " + garbage + " does not start with a PEM CERTIFICATE block"},
		{"key of another certificate", certFile, otherKey, "certificate " + certFile + " and key " + otherKey + ": tls: private key does not match public key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out := runGowsgi(t, repoRoot(t), 30*time.Second, "serve", "--https", "127.0.0.1:0,"+tc.cert+","+tc.key,
				"--chdir", "testdata/apps", "--wsgi-file", "hello.py", "--python", testPython(t))
			if code != exitUsage {
				t.Fatalf("exit %d, want %d; output:\n%s", code, exitUsage, out)
			}
			if !strings.Contains(out, tc.want) || !strings.Contains(out, "hint: ") {
				t.Fatalf("output lacks %q and a hint:\n%s", tc.want, out)
			}
		})
	}
}

// TestDevHTTPS: gowsgi dev --https serves with the generated certificate,
// which a client that trusts the file in the cache accepts.
func TestDevHTTPS(t *testing.T) {
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	app, _ := os.ReadFile(filepath.Join(repoRoot(t), "testdata/apps/hello.py"))
	os.WriteFile(filepath.Join(dir, "app.py"), app, 0o644)
	p := launch(t, dir, []string{"GOWSGI_CACHE_DIR=" + cache}, "dev", ".", "127.0.0.1:0", "--wsgi-file", "app.py",
		"--https", "--noreload", "--no-livereload", "--python", testPython(t))
	url := waitHTTPS(t, p)
	certPEM, err := os.ReadFile(filepath.Join(cache, "dev-cert.pem"))
	if err != nil {
		t.Fatalf("no dev certificate in the cache: %v\n%s", err, p.out)
	}
	if !strings.Contains(p.out.String(), "development server at https://") {
		t.Errorf("the banner does not show the https URL:\n%s", p.out)
	}
	if code, _, body := get(t, trustingClient(t, certPEM), url+"/"); code != 200 || body != "Hello, World!" {
		t.Fatalf("GET over TLS: %d %q", code, body)
	}
}
