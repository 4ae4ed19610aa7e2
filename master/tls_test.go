package master

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestDevCertificate: the dev certificate is made once, with a private
// key only its owner reads, reused while valid, and renewed near its end.
func TestDevCertificate(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "gowsgi", "dev-cert.pem"), filepath.Join(dir, "gowsgi", "dev-key.pem")
	now := time.Now()
	first, fresh, err := devCertificate(certFile, keyFile, now)
	if err != nil || !fresh {
		t.Fatalf("first: fresh=%v err=%v", fresh, err)
	}
	if st, err := os.Stat(keyFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v, want mode 0600", st.Mode(), err)
	}
	for _, h := range devCertHosts {
		if err := first.Leaf.VerifyHostname(h); err != nil {
			t.Errorf("not valid for %s: %v", h, err)
		}
	}
	again, fresh, err := devCertificate(certFile, keyFile, now.Add(24*time.Hour))
	if err != nil || fresh || !again.Leaf.Equal(first.Leaf) {
		t.Fatalf("second: fresh=%v err=%v, want the same certificate", fresh, err)
	}
	renewed, fresh, err := devCertificate(certFile, keyFile, first.Leaf.NotAfter.Add(-time.Hour))
	if err != nil || !fresh || renewed.Leaf.Equal(first.Leaf) {
		t.Fatalf("near expiry: fresh=%v err=%v, want a new certificate", fresh, err)
	}
}
