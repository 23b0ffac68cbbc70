package syslogd_test

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minixdr/xdr/cluster"
	"github.com/minixdr/xdr/ui/syslogd"
)

// TestRsyslogForwardsOverTCPAndTLS runs a real rsyslogd that tails a file
// and forwards every line to our listeners: once over TCP with octet
// counting, once over TLS. Every line must arrive, intact, on both.
func TestRsyslogForwardsOverTCPAndTLS(t *testing.T) {
	rsyslogd, err := exec.LookPath("rsyslogd")
	if err != nil {
		t.Fatal("rsyslogd is needed (Debian packages rsyslog and rsyslog-gnutls; scripts/test.sh installs them)")
	}
	dir := t.TempDir()
	cert, err := cluster.ServerCertificate(dir, "", "", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	tcpRec, tlsRec := &recorder{}, &recorder{}
	tcpSrv, _ := start(t, syslogd.Config{}, tcpRec)
	tlsSrv, _ := start(t, syslogd.Config{}, tlsRec)
	tcpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tlsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go tcpSrv.ServeStream(tcpLn, "tcp", "")                                                                                                    //nolint:errcheck
	go tlsSrv.ServeStream(tls.NewListener(tlsLn, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}), "tls", "") //nolint:errcheck

	const lines = 500
	in := filepath.Join(dir, "app.log")
	var content strings.Builder
	for i := 0; i < lines; i++ {
		fmt.Fprintf(&content, "line %04d Failed password for root from 198.51.100.%d port %d ssh2\n", i, i%250, 1024+i)
	}
	if err := os.WriteFile(in, []byte(content.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`
global(workDirectory=%q defaultNetstreamDriverCAFile=%q)
module(load="imfile")
input(type="imfile" File=%q Tag="app:" ruleset="fwd")
ruleset(name="fwd") {
  action(type="omfwd" target="127.0.0.1" port="%d" protocol="tcp" TCP_Framing="octet-counted"
         template="RSYSLOG_SyslogProtocol23Format")
  action(type="omfwd" target="127.0.0.1" port="%d" protocol="tcp"
         StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="anon")
}
`, work, filepath.Join(dir, "tls", "http.crt"), in, tcpLn.Addr().(*net.TCPAddr).Port, tlsLn.Addr().(*net.TCPAddr).Port)
	confPath := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(rsyslogd, "-n", "-f", confPath, "-i", filepath.Join(dir, "rsyslogd.pid"))
	out, err := os.Create(filepath.Join(dir, "rsyslogd.out"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill() //nolint:errcheck
		cmd.Wait()         //nolint:errcheck
		if t.Failed() {
			b, _ := os.ReadFile(out.Name())
			t.Logf("rsyslogd output:\n%s", b)
		}
	})

	for name, rec := range map[string]*recorder{"tcp": tcpRec, "tls": tlsRec} {
		got := rec.waitForWithin(t, lines, 30*time.Second)
		for i, m := range got[:lines] {
			want := fmt.Sprintf("line %04d Failed password", i)
			if !strings.Contains(m, want) || !strings.HasPrefix(m, "<") {
				t.Fatalf("%s message %d = %q, want it to carry %q", name, i, m, want)
			}
		}
		if len(got) != lines {
			t.Fatalf("%s: %d messages, want %d", name, len(got), lines)
		}
	}
}
