package cluster_test

import (
	"bytes"
	"crypto/x509"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/minixdr/xdr/cluster"
)

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8443":  true,
		"127.1.2.3:80":    true,
		"[::1]:8443":      true,
		"localhost:8443":  true,
		"0.0.0.0:8443":    false,
		"[::]:8443":       false,
		":8443":           false,
		"10.0.0.5:8443":   false,
		"192.0.2.1:443":   false,
		"xdr.example:443": false,
		"127.0.0.1":       false, // not host:port
		"localhost":       false,
		"":                false,
	} {
		if got := cluster.IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

func leaf(t *testing.T, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestServerCertificateSelfSigned(t *testing.T) {
	dir := t.TempDir()
	c1, err := cluster.ServerCertificate(dir, "", "", "192.0.2.10")
	if err != nil {
		t.Fatal(err)
	}
	cert := leaf(t, c1.Certificate[0])
	if err := cert.VerifyHostname("192.0.2.10"); err != nil {
		t.Errorf("certificate not valid for the listen address: %v", err)
	}
	for _, name := range []string{"localhost", "127.0.0.1", "::1"} {
		if err := cert.VerifyHostname(name); err != nil {
			t.Errorf("certificate not valid for %s: %v", name, err)
		}
	}
	if !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
		t.Error("certificate lacks server auth usage")
	}
	if cert.NotAfter.Before(cert.NotBefore.AddDate(1, 0, 0)) {
		t.Errorf("certificate valid only until %v", cert.NotAfter)
	}
	// It verifies as its own root: self-signed.
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: "localhost"}); err != nil {
		t.Errorf("self-signed certificate does not verify against itself: %v", err)
	}
	info, err := os.Stat(filepath.Join(dir, "tls", "http.key"))
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("private key file mode %v is readable by others", perm)
	}

	// The second call loads the same pair rather than making a new one.
	c2, err := cluster.ServerCertificate(dir, "", "", "192.0.2.99")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c1.Certificate[0], c2.Certificate[0]) {
		t.Fatal("second call made a new certificate")
	}

	// Host names and unspecified addresses.
	named, err := cluster.ServerCertificate(t.TempDir(), "", "", "xdr.example")
	if err != nil {
		t.Fatal(err)
	}
	if err := leaf(t, named.Certificate[0]).VerifyHostname("xdr.example"); err != nil {
		t.Errorf("certificate not valid for the listen host name: %v", err)
	}
	unspec, err := cluster.ServerCertificate(t.TempDir(), "", "", "0.0.0.0")
	if err != nil {
		t.Fatal(err)
	}
	for _, ip := range leaf(t, unspec.Certificate[0]).IPAddresses {
		if ip.IsUnspecified() {
			t.Errorf("certificate names the unspecified address %v", ip)
		}
	}
}

func TestServerCertificateAdminProvided(t *testing.T) {
	// An admin-provided pair (here one made by the self-signed path in
	// another directory) is loaded as is, and nothing is generated.
	src := t.TempDir()
	want, err := cluster.ServerCertificate(src, "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(src, "tls", "http.crt"), filepath.Join(src, "tls", "http.key")
	dataDir := t.TempDir()
	got, err := cluster.ServerCertificate(dataDir, certFile, keyFile, "192.0.2.10")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Certificate[0], want.Certificate[0]) {
		t.Fatal("admin-provided certificate not used")
	}
	if _, err := os.Stat(filepath.Join(dataDir, "tls")); !os.IsNotExist(err) {
		t.Fatalf("a self-signed pair was made although the admin gave one: %v", err)
	}
	missing := filepath.Join(src, "nope.crt")
	if _, err := cluster.ServerCertificate(dataDir, missing, keyFile, ""); err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("missing admin certificate: %v", err)
	}
	if _, err := cluster.ServerCertificate(dataDir, certFile, certFile, ""); err == nil {
		t.Fatal("a certificate given as its own key was accepted")
	}
}

func TestServerCertificateDamagedPair(t *testing.T) {
	// A damaged self-signed pair is an error, not silently replaced: the
	// fingerprint users accepted must not change behind their back.
	dir := t.TempDir()
	if _, err := cluster.ServerCertificate(dir, "", "", ""); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls", "http.crt"), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.ServerCertificate(dir, "", "", ""); err == nil || !strings.Contains(err.Error(), "self-signed") {
		t.Fatalf("damaged pair: %v", err)
	}
	// A data dir where tls/ cannot be created.
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := cluster.ServerCertificate(file, "", "", ""); err == nil {
		t.Fatal("ServerCertificate under a regular file succeeded")
	}
}
