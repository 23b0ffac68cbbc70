package main

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestSyslogEndToEnd sends with util-linux logger over UDP (RFC 3164) and
// TCP (RFC 5424, octet counting) to a running node, and finds both messages
// parsed in the event search.
func TestSyslogEndToEnd(t *testing.T) {
	t.Parallel()
	udp, tcp := freeAddr(t), freeAddr(t)
	n := startNodeWith(t, []string{"--syslog-udp", udp, "--syslog-tcp", tcp})
	tok := n.adminToken()
	port := func(addr string) string { return addr[strings.LastIndexByte(addr, ':')+1:] }
	for _, args := range [][]string{
		{"-d", "-P", port(udp), "--rfc3164", "marker-udp-3164 Failed password for root from 203.0.113.9 port 2222 ssh2"},
		{"-T", "-P", port(tcp), "--rfc5424", "--octet-count", "marker-tcp-5424 Accepted password for alice from 198.51.100.7 port 50000 ssh2"},
	} {
		cmd := exec.Command("logger", append([]string{"-n", "127.0.0.1", "-t", "sshd"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("logger %v: %v: %s", args, err, out)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	var events []map[string]any
	for {
		events = n.searchAll(tok, "source:syslog", 100, nil)
		if len(events) >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(pollInterval)
	}
	if len(events) != 2 {
		t.Fatalf("%d syslog events stored, want 2: %v", len(events), events)
	}
	for _, marker := range []string{"marker-udp-3164", "marker-tcp-5424"} {
		found := false
		for _, e := range events {
			if strings.Contains(str(e, "message"), marker) {
				found = true
				if str(e, "process.name") != "sshd" {
					t.Errorf("%s: process.name = %q, want sshd", marker, str(e, "process.name"))
				}
				if str(e, "host.name") == "" {
					t.Errorf("%s: no host.name", marker)
				}
			}
		}
		if !found {
			t.Errorf("%s not found in %v", marker, events)
		}
	}
}
