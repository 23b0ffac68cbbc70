package ingest

import (
	"bytes"
	"reflect"
	"testing"
	"time"
)

const suricataSample = "suricata/suricata_eve_scenarioA.ndjson"

// sensorFind is the index of the first line holding every one of subs.
func sensorFind(t *testing.T, lines [][]byte, subs ...string) int {
	t.Helper()
next:
	for i, l := range lines {
		for _, s := range subs {
			if !bytes.Contains(l, []byte(s)) {
				continue next
			}
		}
		return i
	}
	t.Fatalf("no sample line holds %q", subs)
	return -1
}

func TestSuricataSample(t *testing.T) {
	lines := sensorSample(t, suricataSample)
	ps := sensorParseAll(t, "suricata", ParseSuricata, lines)
	counts := map[string]int{}
	for i, p := range ps {
		ds, _ := p.Fields["event.dataset"].(string)
		counts[ds]++
		if _, ok := p.Fields["suricata.event_type"].(string); !ok {
			t.Errorf("line %d: no suricata.event_type", i+1)
		}
		if ds != "suricata.stats" {
			if _, ok := p.Fields["source.ip"].(string); !ok {
				t.Errorf("line %d: no source.ip", i+1)
			}
			if _, ok := p.Fields["destination.port"].(float64); !ok {
				t.Errorf("line %d: no destination.port", i+1)
			}
		}
	}
	// README: flow 1122, alert 63, ssh 54, dns 20, fileinfo 19, http 18, tls 12, stats 1.
	want := map[string]int{"suricata.flow": 1122, "suricata.alert": 63, "suricata.ssh": 54, "suricata.dns": 20,
		"suricata.fileinfo": 19, "suricata.http": 18, "suricata.tls": 12, "suricata.stats": 1}
	if !reflect.DeepEqual(counts, want) {
		t.Errorf("event.dataset counts %v, want %v", counts, want)
	}
	t.Logf("%d suricata lines parsed: %v", len(ps), counts)

	// An alert on a DNS query (the alert carries a query list).
	i := sensorFind(t, lines, `"event_type":"alert"`, `"signature_id":9000009`)
	if got := ps[i].Timestamp.Format(time.RFC3339Nano); got != "2026-11-22T03:54:03.366346Z" {
		t.Errorf("alert time %s", got)
	}
	sensorWant(t, ps[i].Fields, map[string]any{
		"event.kind": "alert", "event.category": "intrusion_detection", "event.action": "allowed",
		"event.dataset": "suricata.alert", "event.severity": float64(1),
		"rule.id": "9000009", "rule.name": "LOCAL DNS query for test C2 domain evil-c2.example",
		"rule.category": "A Network Trojan was detected", "rule.version": "1",
		"message":   "LOCAL DNS query for test C2 domain evil-c2.example",
		"source.ip": "10.200.0.20", "source.port": float64(38722),
		"destination.ip": "10.200.0.10", "destination.port": float64(53),
		"network.transport": "udp", "network.protocol": "dns",
		"dns.question.name": "evil-c2.example", "dns.question.type": "A",
		"suricata.dns.query.rrname": []any{"evil-c2.example"}, "suricata.alert.signature_id": float64(9000009),
		"source.bytes": float64(98), "destination.bytes": float64(0), "network.bytes": float64(98),
		"event.start": "2026-11-22T03:54:03.366346Z",
	})
	// An alert on an HTTP request with a query string.
	i = sensorFind(t, lines, `"event_type":"alert"`, `"signature_id":9000006`)
	sensorWant(t, ps[i].Fields, map[string]any{
		"rule.id": "9000006", "rule.category": "Web Application Attack",
		"url.domain": "10.200.0.10", "url.original": "/admin/login.php?user=admin%27%20OR%201%3D1--",
		"url.path": "/admin/login.php", "url.query": "user=admin%27%20OR%201%3D1--",
		"user_agent.original": "sqlmap/1.7.2#stable (https://sqlmap.org)", "http.request.method": "GET",
		"http.response.status_code": float64(200), "http.version": "1.1",
	})
	// A DNS answer.
	i = sensorFind(t, lines, `"event_type":"dns"`, `"type":"answer"`, `"rrname":"smp-test.example","rrtype":"A"`)
	sensorWant(t, ps[i].Fields, map[string]any{
		"event.kind": "event", "event.action": "dns", "dns.type": "answer", "dns.question.name": "smp-test.example",
		"dns.response_code": "NOERROR", "dns.id": "29783", "dns.answers.data": []any{"10.200.0.10"},
		"dns.resolved_ip": []any{"10.200.0.10"}, "dns.header_flags": []any{"AA", "RD", "RA"},
		"suricata.dns.answers.rdata": []any{"10.200.0.10"}, "suricata.dns.grouped.A": []any{"10.200.0.10"},
	})
	// NXDOMAIN
	i = sensorFind(t, lines, `"rcode":"NXDOMAIN"`)
	sensorWant(t, ps[i].Fields, map[string]any{"dns.response_code": "NXDOMAIN", "dns.question.name": "nothere.lab.internal"}, "dns.resolved_ip")
	// TLS with a certificate.
	i = sensorFind(t, lines, `"event_type":"tls"`, `"sni":"www.smp-test.example"`)
	sensorWant(t, ps[i].Fields, map[string]any{
		"tls.client.server_name": "www.smp-test.example", "tls.version": "1.2", "tls.version_protocol": "tls",
		"tls.server.subject": "CN=smp-test.example, O=SMP Lab", "tls.server.issuer": "CN=smp-test.example, O=SMP Lab",
		"tls.server.hash.sha1": "CB6E92D65FB5E1D6D1D9AE5BD633790D27ED680E",
	})
	// SSH software.
	i = sensorFind(t, lines, `"event_type":"ssh"`)
	sensorWant(t, ps[i].Fields, map[string]any{
		"ssh.client.software": "OpenSSH_9.2p1", "ssh.client.proto_version": "2.0",
		"ssh.server.software": "OpenSSH_9.2p1", "event.dataset": "suricata.ssh",
	})
	// A closed flow.
	i = sensorFind(t, lines, `"event_type":"flow"`, `"src_port":51510`)
	sensorWant(t, ps[i].Fields, map[string]any{
		"event.type": "connection", "network.protocol": "tls", "network.transport": "tcp",
		"source.bytes": float64(1414), "destination.bytes": float64(8026), "network.bytes": float64(9440),
		"source.packets": float64(11), "destination.packets": float64(12), "network.packets": float64(23),
		"event.start": "2026-11-22T03:54:37.991689Z", "event.end": "2026-11-22T03:54:37.995594Z",
		"event.duration": float64(3905000), "suricata.tcp.syn": true, "suricata.flow.state": "closed",
	})
	// fileinfo
	i = sensorFind(t, lines, `"event_type":"fileinfo"`, `"filename":"/admin/login.php"`)
	sensorWant(t, ps[i].Fields, map[string]any{"event.category": "file", "file.path": "/admin/login.php", "file.name": "login.php"})
	// stats
	i = sensorFind(t, lines, `"event_type":"stats"`)
	sensorWant(t, ps[i].Fields, map[string]any{"event.kind": "metric", "suricata.stats.decoder.pkts": float64(4241)}, "source.ip")
}

func TestParseSuricataCases(t *testing.T) {
	sensorRunCases(t, "suricata", ParseSuricata, []sensorCase{
		{name: "minimal", line: `{"event_type":"flow"}`,
			want: map[string]any{"event.dataset": "suricata.flow", "event.action": "flow", "suricata.event_type": "flow"}},
		{name: "timestamp without colon in the offset", line: `{"event_type":"dns","timestamp":"2024-03-01T13:00:00.123456+0100"}`,
			ts: "2024-03-01T12:00:00.123456Z"},
		{name: "timestamp RFC 3339", line: `{"event_type":"dns","timestamp":"2024-03-01T12:00:00Z"}`, ts: "2024-03-01T12:00:00Z"},
		{name: "timestamp without fraction", line: `{"event_type":"dns","timestamp":"2024-03-01T12:00:00-0500"}`, ts: "2024-03-01T17:00:00Z"},
		{name: "host, interface, community id, vlan, IPv6, ICMP",
			line: `{"event_type":"flow","host":"sensor-1","in_iface":"eth1","community_id":"1:abc=","vlan":[100,200],"src_ip":"2001:db8::1","dest_ip":"2001:db8::2","proto":"IPv6-ICMP","app_proto":"failed"}`,
			want: map[string]any{"host.name": "sensor-1", "observer.name": "sensor-1", "observer.ingress.interface.name": "eth1",
				"network.community_id": "1:abc=", "network.vlan.id": "100", "source.ip": "2001:db8::1", "destination.ip": "2001:db8::2",
				"network.transport": "ipv6-icmp", "suricata.vlan": []any{float64(100), float64(200)}},
			absent: []string{"network.protocol", "source.port"}},
		{name: "blocked alert", line: `{"event_type":"alert","alert":{"action":"blocked","signature_id":"2000001","severity":3}}`,
			want: map[string]any{"event.action": "blocked", "event.type": "denied", "rule.id": "2000001", "event.severity": float64(3)}},
		{name: "alert without an action", line: `{"event_type":"alert","alert":{"signature":"x"}}`,
			want: map[string]any{"event.kind": "alert", "rule.name": "x"}, absent: []string{"event.action"}},
		{name: "EVE v1 DNS answer", line: `{"event_type":"dns","dns":{"type":"answer","rrname":"a.example","rrtype":"AAAA","rdata":"2001:db8::5","ttl":60}}`,
			want: map[string]any{"dns.answers.data": []any{"2001:db8::5"}, "dns.resolved_ip": []any{"2001:db8::5"}}},
		{name: "EVE v3 DNS queries", line: `{"event_type":"dns","dns":{"queries":[{"rrname":"q.example","rrtype":"TXT"}],"answers":[{"rrname":"q.example","rrtype":"TXT","rdata":"hello"}]}}`,
			want:   map[string]any{"dns.question.name": "q.example", "dns.question.type": "TXT", "dns.answers.data": []any{"hello"}, "dns.answers.type": []any{"TXT"}},
			absent: []string{"dns.resolved_ip"}},
		{name: "HTTP with absolute URI", line: `{"event_type":"http","http":{"hostname":"h","url":"http://h:8080/a/b?c=d","http_refer":"http://r/","status":"404"}}`,
			want: map[string]any{"url.original": "http://h:8080/a/b?c=d", "url.path": "/a/b", "url.query": "c=d",
				"http.request.referrer": "http://r/", "http.response.status_code": float64(404)}},
		{name: "TLS versions", line: `{"event_type":"tls","tls":{"version":"SSLv3","fingerprint":"zz","ja3":{"hash":"j3"},"ja3s":{"hash":"j3s"}}}`,
			want:   map[string]any{"tls.version": "3.0", "tls.version_protocol": "ssl", "tls.client.ja3": "j3", "tls.server.ja3s": "j3s"},
			absent: []string{"tls.server.hash.sha1"}},
		{name: "TLS version undetermined", line: `{"event_type":"tls","tls":{"version":"UNDETERMINED"}}`,
			absent: []string{"tls.version", "tls.version_protocol"}},
		{name: "anomaly", line: `{"event_type":"anomaly","anomaly":{"type":"decode","event":"ipv4.trunc_pkt"}}`,
			want: map[string]any{"event.action": "anomaly", "message": "ipv4.trunc_pkt"}},
		{name: "fileinfo hashes", line: `{"event_type":"fileinfo","fileinfo":{"filename":"C:\\x\\a.exe","sha256":"ab","md5":"cd","size":10}}`,
			want: map[string]any{"file.name": "a.exe", "file.hash.sha256": "ab", "file.hash.md5": "cd", "file.size": float64(10)}},
		{name: "bad ports and flow counts ignored", line: `{"event_type":"flow","src_port":-1,"dest_port":1.5,"flow":{"bytes_toserver":-3,"bytes_toclient":"x","start":"bad"}}`,
			absent: []string{"source.port", "destination.port", "source.bytes", "destination.bytes", "network.bytes", "event.start"}},
		{name: "flow_id kept exactly", line: `{"event_type":"flow","flow_id":2251799813685247}`,
			want: map[string]any{"suricata.flow_id": float64(2251799813685247)}},
		{name: "huge number kept as text", line: `{"event_type":"flow","x":1e400}`, want: map[string]any{"suricata.x": "1e400"}},
		{name: "no event_type", line: `{"timestamp":"2024-03-01T12:00:00Z"}`, err: `not a Suricata EVE record: no "event_type"`},
		{name: "event_type not a string", line: `{"event_type":1}`, err: `"event_type" must be a string`},
		{name: "event_type with a dot", line: `{"event_type":"a.b"}`, err: `is not a name of letters`},
		{name: "event_type empty", line: `{"event_type":""}`, err: `is not a name of letters`},
		{name: "bad timestamp", line: `{"event_type":"dns","timestamp":"2024-03-01 12:00:00"}`, err: `"timestamp": "2024-03-01 12:00:00" is not an RFC 3339 time`},
		{name: "timestamp after 2261", line: `{"event_type":"dns","timestamp":"2300-01-01T00:00:00+0000"}`, err: "outside 1970-2261"},
		{name: "not JSON", line: `event_type=alert`, err: "not a JSON object"},
	})
}

func BenchmarkParseSuricata(b *testing.B) { sensorBench(b, suricataSample, ParseSuricata) }

// FuzzSensorTime checks the fast time parser against time.Parse: whatever
// it accepts, time.Parse accepts with RFC3339Nano or the colon-less offset
// layout, as the same instant; and sensorFormatTime formats as Format.
func FuzzSensorTime(f *testing.F) {
	for _, s := range []string{
		"2026-11-22T03:58:03.726169Z", "2026-11-22T03:58:03.726169+0000", "2026-11-22T03:58:03+01:00",
		"2024-02-29T23:59:59.999999999-23:59", "2023-02-29T00:00:00Z", "2026-13-01T00:00:00Z",
		"2026-11-22T24:00:00Z", "2026-11-22T03:58:60Z", "2026-11-22T03:58:03.Z", "2026-11-22T03:58:03.1234567891Z",
		"2026-11-22T03:58:03+24:00", "2026-11-22T03:58:03+0060", "2026-11-22t03:58:03Z", "2026-11-22T03:58:03",
		"0000-01-01T00:00:00Z", "9999-12-31T23:59:59.5+00:00", "2026-11-22T03:58:03+00:0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := sensorFastTime(s)
		if !ok {
			return
		}
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			if want, err = time.Parse("2006-01-02T15:04:05Z0700", s); err != nil {
				t.Fatalf("fast parser accepted %q, time.Parse refuses it: %v", s, err)
			}
		}
		if !got.Equal(want) || got.Location() != time.UTC {
			t.Fatalf("%q: fast %v, time.Parse %v", s, got, want)
		}
		if got.Year() >= 1000 && got.Year() <= 9999 {
			if f, w := sensorFormatTime(got), got.UTC().Format(time.RFC3339Nano); f != w {
				t.Fatalf("sensorFormatTime %q, Format %q", f, w)
			}
		}
	})
}
