package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHTTPSWhenNotLoopback starts a node on a non-loopback address: it must
// serve HTTPS with a self-signed certificate kept in the data dir, send HSTS,
// and mark the session cookie Secure.
func TestHTTPSWhenNotLoopback(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // self-signed on purpose
	}}
	var port string
	err := retryOnBind(t, func() error {
		port = strings.TrimPrefix(freeAddr(t), "127.0.0.1:")
		if err := os.RemoveAll(dir); err != nil { // each attempt a first start
			return err
		}
		return startHTTPSNode(t, client, dir, port)
	})
	if err != nil {
		t.Fatal(err)
	}
	base := "https://127.0.0.1:" + port
	plain := &http.Client{Timeout: 5 * time.Second}
	if resp, err := plain.Get("http://127.0.0.1:" + port + "/healthz/live"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP is served on a non-loopback address")
		}
	}

	certPEM, err := os.ReadFile(filepath.Join(dir, "tls", "http.crt"))
	if err != nil {
		t.Fatalf("self-signed certificate not kept in the data dir: %v", err)
	}
	block, _ := pem.Decode(certPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.VerifyHostname("127.0.0.1"); err != nil {
		t.Errorf("certificate does not cover 127.0.0.1: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "tls", "http.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode: %v %v", fi.Mode(), err)
	}

	resp, err := client.Post(base+"/api/v1/login", "application/json", strings.NewReader(`{"username":"admin","password":"tls-test-pw"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login over HTTPS: %s", resp.Status)
	}
	if hsts := resp.Header.Get("Strict-Transport-Security"); !strings.Contains(hsts, "max-age=") {
		t.Errorf("no HSTS header: %q", hsts)
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "xdr_session" {
			session = c
		}
	}
	if session == nil || !session.Secure || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode {
		t.Errorf("session cookie not Secure/HttpOnly/SameSite=Strict: %+v", session)
	}
}

// startHTTPSNode starts a node serving on 0.0.0.0:port and waits until it
// answers /healthz/ready over HTTPS; errBind when the port was taken.
func startHTTPSNode(t *testing.T, client *http.Client, dir, port string) error {
	t.Helper()
	cmd := exec.Command(xdrBin, "serve", "--data-dir", dir, "--http", "0.0.0.0:"+port,
		"--cluster-addr", freeAddr(t), "--gossip-addr", freeAddr(t))
	cmd.Env = baseEnv("XDR_ADMIN_PASSWORD=tls-test-pw")
	logPath := filepath.Join(t.TempDir(), "stderr.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }() //nolint:errcheck // the log says why
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck
		<-done
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("node output:\n%s", b)
		}
	})
	state := func() *os.ProcessState { return cmd.ProcessState } // read once done is closed
	return waitServing(done, logPath, state, func() bool {
		resp, err := client.Get("https://127.0.0.1:" + port + "/healthz/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && resp.TLS == nil {
			t.Error("answered without TLS")
		}
		return resp.StatusCode == http.StatusOK && resp.TLS != nil
	})
}
