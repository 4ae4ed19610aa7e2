package master

// This file is HTTPS: uWSGI's "https = addr,cert,key[,ciphers[,client-ca]]"
// served with crypto/tls, and the self-signed certificate of
// `gowsgi dev --https`. The TCP socket is bound (or inherited after a HUP,
// or passed by systemd) like any other listener; TLS is layered on top in
// each master, so a HUP's new master reads the certificate files again.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gowsgi/gowsgi/config"
	"github.com/gowsgi/gowsgi/pyworker"
)

// tlsListener is an https listener: Accept returns *tls.Conn, which the
// gateway's framing guard handshakes and reads the decrypted requests of
// for net/http, which fills in Request.TLS (gateway/server.go).
type tlsListener struct{ net.Listener }

// serveTLS layers TLS over ln when conf is set.
func serveTLS(ln net.Listener, conf *tls.Config) net.Listener {
	if conf == nil {
		return ln
	}
	return tlsListener{tls.NewListener(ln, conf)}
}

// ListenerScheme is wsgi.url_scheme for requests from ln, and its URL's
// scheme.
func ListenerScheme(ln net.Listener) string {
	if _, ok := ln.(tlsListener); ok {
		return "https"
	}
	return "http"
}

// newTLSConfig is the server configuration for one certificate: TLS 1.2 or
// later, HTTP/1.1 only. (HTTP/2 is left out on purpose: a HUP's drain asks
// each keep-alive client to reconnect with "Connection: close", which is an
// HTTP/1.1 mechanism; and the framing guard that every request passes,
// https ones included, reads HTTP/1.1.)
func newTLSConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"http/1.1"},
	}
}

// HTTPSListener reads one https listener's certificate, key and client CA,
// so a missing or bad file stops the start with its name.
func HTTPSListener(h config.HTTPSAddr, mode os.FileMode, warn io.Writer) (Listen, error) {
	l := Listen{Addr: ListenAddr(h.Addr), Flag: "--https", Mode: mode}
	cert, err := loadCertificate(h.Cert, h.Key)
	if err != nil {
		return l, &ConfigError{
			Msg:  fmt.Sprintf("https = %s: %v", h, err),
			Hint: "https = ADDR,CERT,KEY takes PEM files: the certificate chain (server first) and its private key; relative paths are taken from the directory gowsgi starts in.",
		}
	}
	conf := newTLSConfig(cert)
	if h.Ciphers != "" {
		fmt.Fprintf(warn, "gowsgi: warning: https = %s: the OpenSSL cipher list %q is ignored; Go's crypto/tls chooses its own suites (TLS 1.2 and later only)\n", h, h.Ciphers)
	}
	if ca := h.ClientCA; ca != "" {
		// uWSGI: "!ca.pem" requires a client certificate, "ca.pem"
		// verifies one when the client sends it.
		conf.ClientAuth = tls.VerifyClientCertIfGiven
		if strings.HasPrefix(ca, "!") {
			ca, conf.ClientAuth = ca[1:], tls.RequireAndVerifyClientCert
		}
		pemBytes, err := os.ReadFile(ca)
		if err != nil {
			return l, &ConfigError{Msg: fmt.Sprintf("https = %s: reading the client CA file: %v", h, err), Hint: "the fifth field of https is a PEM file of the CAs that sign client certificates; leave it out to not ask for one."}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			return l, &ConfigError{Msg: fmt.Sprintf("https = %s: the client CA file %s has no PEM certificate", h, ca), Hint: "the fifth field of https is a PEM file of the CAs that sign client certificates."}
		}
		conf.ClientCAs = pool
	}
	l.TLS = conf
	return l, nil
}

// loadCertificate reads a PEM certificate chain and its key; its errors
// name the file at fault.
func loadCertificate(certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("reading the certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("reading the key: %w", err)
	}
	if b, _ := pem.Decode(certPEM); b == nil || b.Type != "CERTIFICATE" {
		return tls.Certificate{}, fmt.Errorf("the certificate file %s does not start with a PEM CERTIFICATE block", certFile)
	}
	if b, _ := pem.Decode(keyPEM); b == nil || !strings.HasSuffix(b.Type, "PRIVATE KEY") {
		return tls.Certificate{}, fmt.Errorf("the key file %s does not start with a PEM PRIVATE KEY block", keyFile)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("certificate %s and key %s: %w", certFile, keyFile, err)
	}
	if cert.Leaf != nil && time.Now().After(cert.Leaf.NotAfter) {
		// Not fatal: a client that must talk to it anyway can; but say it.
		fmt.Fprintf(os.Stderr, "gowsgi: warning: the certificate %s expired on %s\n", certFile, cert.Leaf.NotAfter.Format(time.DateOnly))
	}
	return cert, nil
}

// devCertHosts are the names the dev certificate is valid for.
var devCertHosts = []string{"localhost", "127.0.0.1", "::1"}

// DevTLSConfig is `gowsgi dev --https`: a self-signed certificate for
// localhost, kept in the cache directory and reused while it is valid.
func DevTLSConfig(out io.Writer) (*tls.Config, error) {
	dir, err := pyworker.CacheDir()
	if err != nil {
		return nil, err
	}
	certFile, keyFile := filepath.Join(dir, "dev-cert.pem"), filepath.Join(dir, "dev-key.pem")
	cert, fresh, err := devCertificate(certFile, keyFile, time.Now())
	if err != nil {
		return nil, fmt.Errorf("the development certificate: %w", err)
	}
	how := "reusing"
	if fresh {
		how = "generated"
	}
	fmt.Fprintf(out, "gowsgi: HTTPS with a self-signed certificate for %s (%s %s, valid until %s); browsers warn about it, curl needs --cacert %s\n",
		strings.Join(devCertHosts, ", "), how, certFile, cert.Leaf.NotAfter.Format(time.DateOnly), certFile)
	return newTLSConfig(cert), nil
}

// devCertificate loads the dev certificate, or makes a new one when there
// is none, it no longer loads, or it expires within a day.
func devCertificate(certFile, keyFile string, now time.Time) (cert tls.Certificate, fresh bool, err error) {
	if c, err := tls.LoadX509KeyPair(certFile, keyFile); err == nil && c.Leaf != nil &&
		now.Add(24*time.Hour).Before(c.Leaf.NotAfter) && c.Leaf.VerifyHostname("localhost") == nil {
		return c, false, nil
	}
	certPEM, keyPEM, err := SelfSignedCertificate(devCertHosts, now, 365*24*time.Hour)
	if err != nil {
		return cert, false, err
	}
	if err := os.MkdirAll(filepath.Dir(certFile), 0o700); err != nil {
		return cert, false, err
	}
	if err := writeFileAtomic(keyFile, keyPEM, 0o600); err != nil {
		return cert, false, err
	}
	if err := writeFileAtomic(certFile, certPEM, 0o644); err != nil {
		return cert, false, err
	}
	cert, err = tls.X509KeyPair(certPEM, keyPEM)
	return cert, true, err
}

// SelfSignedCertificate makes an ECDSA P-256 certificate for hosts (names
// and IP addresses), valid from now for d, in PEM.
func SelfSignedCertificate(hosts []string, now time.Time, d time.Duration) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"gowsgi development"}, CommonName: hosts[0]},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(d),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true, // so a client can trust it as its own root
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory, so a concurrent gowsgi never reads half a key.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
