package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/ingest"
	"github.com/minixdr/xdr/storage"
	"github.com/minixdr/xdr/storage/storetest"
)

// TestSyslogEndToEnd sends with util-linux logger over UDP (RFC 3164) and
// TCP (RFC 5424, octet counting) to a running node, and finds both messages
// parsed in the event search.
func TestSyslogEndToEnd(t *testing.T) {
	t.Parallel()
	var udp, tcp string
	n := startNodePicking(t, func() []string {
		udp, tcp = freeUDPAddr(t), freeAddr(t)
		return []string{"--syslog-udp", udp, "--syslog-tcp", tcp}
	})
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
	deadline := time.Now().Add(60 * time.Second)
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

// TestSyslogListenersToTenants: a [[syslog_listener]] table gives a UDP
// listener its own tenant next to --syslog-tcp's (the default tenant). Each
// message lands in its listener's tenant; GET /api/v1/ingest/health and
// /metrics count them per listener, and promtool accepts /metrics.
func TestSyslogListenersToTenants(t *testing.T) {
	t.Parallel()
	var udp, tcp string
	conf := filepath.Join(t.TempDir(), "xdr.toml")
	n := startNodePicking(t, func() []string {
		udp, tcp = freeUDPAddr(t), freeAddr(t)
		if err := os.WriteFile(conf, []byte(fmt.Sprintf("[[syslog_listener]]\ntransport = \"udp\"\naddr = %q\ntenant = \"acme\"\n", udp)), 0o600); err != nil {
			t.Fatal(err)
		}
		return []string{"--config", conf, "--syslog-tcp", tcp}
	})
	tok := n.adminToken()
	port := func(addr string) string { return addr[strings.LastIndexByte(addr, ':')+1:] }
	for _, args := range [][]string{
		{"-d", "-P", port(udp), "--rfc5424", "marker-acme Failed password for root from 203.0.113.9 port 2222 ssh2"},
		{"-T", "-P", port(tcp), "--rfc5424", "--octet-count", "marker-default Accepted password for alice from 198.51.100.7 port 50000 ssh2"},
	} {
		if out, err := exec.Command("logger", append([]string{"-n", "127.0.0.1", "-t", "sshd"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("logger %v: %v: %s", args, err, out)
		}
	}

	h := n.waitIngestHealth(tok, func(h ingest.Health) bool {
		return h.Syslog != nil && len(h.Syslog.Listeners) == 2 && h.Syslog.Listeners[0].Accepted+h.Syslog.Listeners[1].Accepted == 2
	})
	for _, l := range h.Syslog.Listeners {
		want := map[string]string{"udp": "acme", "tcp": "default"}[l.Transport]
		if l.Tenant != want || l.Counts != (ingest.Counts{Received: 1, Accepted: 1}) || l.LastMessage == nil {
			t.Errorf("listener %+v: want tenant %s and one message accepted", l, want)
		}
	}
	for _, s := range h.Sources {
		if s.Source == "syslog" && s.Counts != (ingest.Counts{Received: 2, Accepted: 2}) {
			t.Errorf("source syslog: %+v", s.Counts)
		}
	}

	// The default tenant sees its listener's message only.
	events := n.searchAll(tok, "source:syslog", 100, nil)
	if len(events) != 1 || !strings.Contains(str(events[0], "message"), "marker-default") || str(events[0], "tenant") != "default" {
		t.Errorf("default tenant's syslog events: %v", events)
	}

	metrics := n.metricsText(tok)
	for _, want := range []struct {
		name   string
		labels []string
	}{
		{"xdr_syslog_accepted_total", []string{`tenant="acme"`, `transport="udp"`, `address="` + udp + `"`}},
		{"xdr_syslog_accepted_total", []string{`tenant="default"`, `transport="tcp"`, `address="` + tcp + `"`}},
		{"xdr_syslog_received_total", []string{`tenant="acme"`}},
		{"xdr_events_received_total", []string{`source="syslog"`}},
	} {
		v, ok := metricValue(metrics, want.name, want.labels...)
		if !ok || v < 1 {
			t.Errorf("%s%v = %v (present %v), want ≥ 1", want.name, want.labels, v, ok)
		}
	}
	checkMetricsWithPromtool(t, metrics)

	// The other listener's message is in tenant acme, in the node's store.
	n.stop()
	st, err := storage.Open(filepath.Join(n.dir, "state"), storetest.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	page, err := st.Search(context.Background(), appliance.EventSearch{Tenant: "acme", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 1 || !strings.Contains(string(page.Events[0]), "marker-acme") {
		t.Errorf("tenant acme holds %d events: %s", len(page.Events), page.Events)
	}
}

// checkMetricsWithPromtool lints the exposition with Prometheus' own
// checker (Debian package prometheus; scripts/test.sh installs it).
func checkMetricsWithPromtool(t *testing.T, metrics string) {
	t.Helper()
	bin, err := exec.LookPath("promtool")
	if err != nil {
		bin = "/usr/bin/promtool"
		if _, err := os.Stat(bin); err != nil {
			t.Fatal("promtool is needed (Debian package prometheus; scripts/test.sh installs it)")
		}
	}
	cmd := exec.Command(bin, "check", "metrics")
	cmd.Stdin = strings.NewReader(metrics)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// waitIngestHealth polls GET /api/v1/ingest/health until ok holds.
func (n *node) waitIngestHealth(tok string, ok func(ingest.Health) bool) ingest.Health {
	n.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, _, b := n.mustDo("GET", "/api/v1/ingest/health", tok, nil, nil)
		if st != http.StatusOK {
			n.t.Fatalf("ingest health: %d %s", st, b)
		}
		var h ingest.Health
		if err := json.Unmarshal(b, &h); err != nil {
			n.t.Fatalf("decode ingest health %s: %v", b, err)
		}
		if ok(h) {
			return h
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("ingest health never got there: %s", b)
		}
		time.Sleep(pollInterval)
	}
}

// metricsText returns what GET /metrics serves.
func (n *node) metricsText(tok string) string {
	n.t.Helper()
	st, _, b := n.mustDo("GET", "/metrics", tok, nil, nil)
	if st != http.StatusOK {
		n.t.Fatalf("/metrics: %d %s", st, b)
	}
	return string(b)
}

// metricValue returns the value of the first series of name carrying every
// one of labels (each `key="value"`).
func metricValue(text, name string, labels ...string) (float64, bool) {
	for line := range strings.SplitSeq(text, "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest != "" && rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		all := true
		for _, l := range labels {
			all = all && strings.Contains(rest, l)
		}
		if !all {
			continue
		}
		v, err := strconv.ParseFloat(rest[strings.LastIndexByte(rest, ' ')+1:], 64)
		return v, err == nil
	}
	return 0, false
}
