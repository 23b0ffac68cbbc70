package ingest

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

const zeekSample = "zeek/zeek_wrccdc2018_developer.ndjson"

func TestZeekSample(t *testing.T) {
	lines := sensorSample(t, zeekSample)
	ps := sensorParseAll(t, "zeek", ParseZeek, lines)
	counts := map[string]int{}
	for i, p := range ps {
		ds, _ := p.Fields["event.dataset"].(string)
		counts[ds]++
		path, _ := p.Fields["zeek."+ds[len("zeek."):]+"._path"].(string)
		if "zeek."+path != ds {
			t.Errorf("line %d: dataset %s, _path %q", i+1, ds, path)
		}
	}
	// 70% of the README's first-N lines of each log.
	want := map[string]int{"zeek.dns": 280, "zeek.ssl": 210, "zeek.notice": 145, "zeek.weird": 105, "zeek.x509": 70,
		"zeek.software": 70, "zeek.smtp": 70, "zeek.rdp": 70, "zeek.ntp": 70, "zeek.syslog": 70,
		"zeek.known_services": 70, "zeek.dpd": 54, "zeek.ssh": 16}
	if !reflect.DeepEqual(counts, want) {
		t.Errorf("event.dataset counts %v, want %v", counts, want)
	}
	t.Logf("%d zeek lines parsed: %v", len(ps), counts)

	// dns (line 1)
	if got := ps[0].Timestamp.Format(time.RFC3339Nano); got != "2018-03-24T17:15:20.865716Z" {
		t.Errorf("dns time %s", got)
	}
	sensorWant(t, ps[0].Fields, map[string]any{
		"event.dataset": "zeek.dns", "event.action": "dns", "event.category": "network",
		"zeek.session_id": "CqKst53mF3det3eDV9", "source.ip": "10.47.1.100", "source.port": float64(41772),
		"destination.ip": "10.0.0.100", "destination.port": float64(53), "network.transport": "udp",
		"network.protocol": "dns", "dns.question.name": "ise.wrccdc.org", "dns.question.type": "A",
		"dns.question.class": "C_INTERNET", "dns.response_code": "NOERROR", "dns.id": "36329", "dns.type": "answer",
		"dns.answers.data": []any{"ise.wrccdc.cpp.edu", "134.71.3.16"}, "dns.resolved_ip": []any{"134.71.3.16"},
		"dns.answers.ttl": []any{float64(2230), float64(41830)}, "dns.header_flags": []any{"RD", "RA"},
		"zeek.dns.id.orig_h": "10.47.1.100", "zeek.dns.query": "ise.wrccdc.org", "zeek.dns.rtt": 0.0008699893951416016,
	})
	// ssl
	i := sensorFind(t, lines, `"_path":"ssl"`, `"uid":"CmC9kY1X0u9nP78KZc"`)
	sensorWant(t, ps[i].Fields, map[string]any{
		"event.dataset": "zeek.ssl", "network.protocol": "tls", "tls.version": "1.0", "tls.version_protocol": "tls",
		"tls.cipher": "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "tls.curve": "secp256r1", "tls.established": true,
		"tls.resumed": false, "destination.port": float64(443),
		"zeek.ssl.cert_chain_fps":        []any{"b2dafbcdbc75210672f137f27ce882ccb799887631655d4f11191d5a678e44fe"},
		"zeek.ssl.client_cert_chain_fps": []any{},
	})
	// ssh
	i = sensorFind(t, lines, `"_path":"ssh"`, `"uid":"C2MugGdsn3ZVI1wn6"`)
	sensorWant(t, ps[i].Fields, map[string]any{
		"event.dataset": "zeek.ssh", "event.category": "authentication", "event.outcome": "success",
		"ssh.client.software": "OpenSSH_7.6", "ssh.client.proto_version": "2.0",
		"ssh.server.software": "OpenSSH_7.4p1 Raspbian-10+deb9u3", "source.ip": "10.0.0.227", "destination.port": float64(22),
	})
	// notice
	i = sensorFind(t, lines, `"_path":"notice"`, `"uid":"CmC9kY1X0u9nP78KZc"`)
	sensorWant(t, ps[i].Fields, map[string]any{
		"event.kind": "alert", "event.category": "intrusion_detection", "event.action": "SSL::Invalid_Server_Cert",
		"rule.name": "SSL::Invalid_Server_Cert", "message": "SSL certificate validation failed with (unable to get local issuer certificate)",
		"source.ip": "10.164.94.120", "destination.ip": "10.47.3.200", "destination.port": float64(443),
		"zeek.notice.actions": []any{"Notice::ACTION_LOG"},
	})
	// x509: not a connection's log, dotted source keys kept
	i = sensorFind(t, lines, `"_path":"x509"`)
	sensorWant(t, ps[i].Fields, map[string]any{"zeek.x509.certificate.key_length": float64(2048), "zeek.x509.san.dns": []any{"localhost.localdomain"}},
		"event.category", "source.ip")
	// syslog
	i = sensorFind(t, lines, `"_path":"syslog"`)
	sensorWant(t, ps[i].Fields, map[string]any{"log.syslog.facility.name": "LOCAL0", "log.syslog.severity.name": "INFO", "network.protocol": "syslog"})
	if _, ok := ps[i].Fields["message"].(string); !ok {
		t.Error("syslog: no message")
	}
}

func TestParseZeekCases(t *testing.T) {
	conn := `{"_path":"conn","ts":1521911720.600843,"uid":"CsPzgh4tp5lHBTnsrf","id.orig_h":"10.47.1.152","id.orig_p":49562,"id.resp_h":"23.217.103.245","id.resp_p":80,"proto":"tcp","service":"http","duration":1.5,"orig_bytes":100,"resp_bytes":2000,"conn_state":"SF","local_orig":true,"local_resp":false,"missed_bytes":0,"history":"ShADadFf","orig_pkts":5,"orig_ip_bytes":400,"resp_pkts":6,"resp_ip_bytes":2400,"tunnel_parents":[]}`
	sensorRunCases(t, "zeek", ParseZeek, []sensorCase{
		{name: "conn", line: conn, ts: "2018-03-24T17:15:20.600843Z",
			want: map[string]any{"event.dataset": "zeek.conn", "event.action": "conn", "event.type": "connection",
				"zeek.session_id": "CsPzgh4tp5lHBTnsrf", "source.ip": "10.47.1.152", "source.port": float64(49562),
				"destination.ip": "23.217.103.245", "destination.port": float64(80), "network.transport": "tcp",
				"network.protocol": "http", "event.duration": float64(1.5e9), "source.bytes": float64(100),
				"destination.bytes": float64(2000), "network.bytes": float64(2100), "source.packets": float64(5),
				"destination.packets": float64(6), "network.packets": float64(11), "network.direction": "outbound",
				"zeek.conn.conn_state": "SF", "zeek.conn.tunnel_parents": []any{}}},
		{name: "conn with two services", line: `{"_path":"conn","ts":"2024-03-01T12:00:00Z","service":"SSL,http","local_orig":false,"local_resp":false}`,
			ts: "2024-03-01T12:00:00Z", want: map[string]any{"network.protocol": []any{"ssl", "http"}, "network.direction": "external"}},
		{name: "http", line: `{"_path":"http","ts":"2024-03-01T12:00:00.5Z","uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":5555,"id.resp_h":"10.0.0.2","id.resp_p":80,"method":"POST","host":"www.example.com","uri":"/login.php?u=a","referrer":"http://r/","version":"1.1","user_agent":"curl/8","request_body_len":10,"response_body_len":20,"status_code":302,"username":"bob"}`,
			ts: "2024-03-01T12:00:00.5Z",
			want: map[string]any{"event.dataset": "zeek.http", "network.protocol": "http", "url.domain": "www.example.com",
				"url.original": "/login.php?u=a", "url.path": "/login.php", "url.query": "u=a", "http.request.method": "POST",
				"http.response.status_code": float64(302), "user_agent.original": "curl/8", "http.request.referrer": "http://r/",
				"http.version": "1.1", "http.request.body.bytes": float64(10), "http.response.body.bytes": float64(20), "user.name": "bob"}},
		{name: "ssl TLS 1.3 with SNI", line: `{"_path":"ssl","ts":"2024-03-01T12:00:00Z","version":"TLSv13","server_name":"example.com","ja3":"j"}`,
			ts: "2024-03-01T12:00:00Z", want: map[string]any{"tls.version": "1.3", "tls.version_protocol": "tls", "tls.client.server_name": "example.com", "tls.client.ja3": "j"}},
		{name: "ssh failed", line: `{"_path":"ssh","ts":"2024-03-01T12:00:00Z","auth_success":false,"client":"libssh_0.9","server":"SSH-2.0-OpenSSH_8.0"}`,
			ts: "2024-03-01T12:00:00Z", want: map[string]any{"event.outcome": "failure", "ssh.client.software": "libssh_0.9", "ssh.server.software": "OpenSSH_8.0"},
			absent: []string{"ssh.client.proto_version"}},
		{name: "ssh undecided", line: `{"_path":"ssh","ts":"2024-03-01T12:00:00Z","auth_success":null}`,
			ts: "2024-03-01T12:00:00Z", absent: []string{"event.outcome"}},
		{name: "notice without a connection", line: `{"_path":"notice","ts":"2024-03-01T12:00:00Z","note":"Scan::Port_Scan","msg":"10.0.0.9 scanned 15 ports","src":"10.0.0.9","dst":"10.0.0.1","p":22}`,
			ts: "2024-03-01T12:00:00Z", want: map[string]any{"rule.name": "Scan::Port_Scan", "message": "10.0.0.9 scanned 15 ports",
				"source.ip": "10.0.0.9", "destination.ip": "10.0.0.1", "destination.port": float64(22), "event.kind": "alert"}},
		{name: "any other path", line: `{"_path":"my_log-2","ts":"2024-03-01T12:00:00Z","uid":"C9","id.orig_h":"fe80::1","id.resp_p":"x"}`,
			ts: "2024-03-01T12:00:00Z", want: map[string]any{"event.dataset": "zeek.my_log-2", "event.action": "my_log-2",
				"zeek.my_log-2.id.orig_h": "fe80::1", "source.ip": "fe80::1", "zeek.session_id": "C9"},
			absent: []string{"destination.port", "network.protocol"}},
		{name: "nested id object", line: `{"_path":"conn","ts":"2024-03-01T12:00:00Z","id":{"orig_h":"10.1.1.1","resp_p":443}}`,
			ts: "2024-03-01T12:00:00Z", want: map[string]any{"source.ip": "10.1.1.1", "destination.port": float64(443)}},
		{name: "no _path: dns by its fields", line: `{"ts":1521911720.865716,"uid":"C1","query":"a.example","qtype_name":"A","rcode_name":"NXDOMAIN"}`,
			ts: "2018-03-24T17:15:20.865716Z", want: map[string]any{"event.dataset": "zeek.dns", "zeek.dns.query": "a.example", "dns.response_code": "NXDOMAIN"}},
		{name: "no _path: conn by its fields", line: `{"ts":1521911720,"conn_state":"S0"}`,
			ts: "2018-03-24T17:15:20Z", want: map[string]any{"event.dataset": "zeek.conn"}},
		{name: "no _path: ssh", line: `{"ts":1,"auth_success":true}`, ts: "1970-01-01T00:00:01Z", want: map[string]any{"event.dataset": "zeek.ssh"}},
		{name: "no _path: ssl", line: `{"ts":1,"server_name":"x"}`, ts: "1970-01-01T00:00:01Z", want: map[string]any{"event.dataset": "zeek.ssl"}},
		{name: "no _path: http", line: `{"ts":1,"method":"GET","uri":"/"}`, ts: "1970-01-01T00:00:01Z", want: map[string]any{"event.dataset": "zeek.http"}},
		{name: "no _path: notice", line: `{"ts":1,"note":"X"}`, ts: "1970-01-01T00:00:01Z", want: map[string]any{"event.dataset": "zeek.notice", "rule.name": "X"}},
		{name: "no _path: unknown", line: `{"ts":"2024-03-01T12:00:00Z","foo":1}`, ts: "2024-03-01T12:00:00Z",
			want: map[string]any{"event.dataset": "zeek.unknown", "zeek.unknown.foo": float64(1)}},
		{name: "_path null falls back to guessing", line: `{"_path":null,"ts":1,"note":"X"}`, ts: "1970-01-01T00:00:01Z", want: map[string]any{"event.dataset": "zeek.notice"}},
		{name: "no ts", line: `{"_path":"known_hosts","host":"10.0.0.1"}`, want: map[string]any{"event.dataset": "zeek.known_hosts"}},
		{name: "ts in milliseconds", line: `{"_path":"conn","ts":1709294400123}`, ts: "2024-03-01T12:00:00.123Z"},
		{name: "ts as a string of seconds", line: `{"_path":"conn","ts":"1709294400.5"}`, ts: "2024-03-01T12:00:00.5Z"},
		{name: "repeated _path: the last counts", line: `{"_path":"dns","ts":1,"uid":"C1","_path":"conn","ts":2}`,
			ts: "1970-01-01T00:00:02Z", want: map[string]any{"event.dataset": "zeek.conn", "zeek.conn._path": "conn", "zeek.conn.uid": "C1"},
			absent: []string{"zeek.dns._path", "zeek.dns.uid"}},
		{name: "no _path and no ts", line: `{"uid":"C1"}`, err: `not a Zeek log record: no "_path" and no "ts"`},
		{name: "_path not a string", line: `{"_path":["conn"],"ts":1}`, err: `"_path" must be a string`},
		{name: "_path with a dot", line: `{"_path":"conn.x","ts":1}`, err: `"_path" "conn.x" is not a name`},
		{name: "_path too long", line: `{"_path":"` + strings.Repeat("a", 65) + `","ts":1}`, err: "1 to 64 characters"},
		{name: "bad ts", line: `{"_path":"conn","ts":"soon"}`, err: `"ts": "soon" is not an RFC 3339 time`},
		{name: "negative ts", line: `{"_path":"conn","ts":-5}`, err: `"ts": 1969-12-31T23:59:55Z is outside 1970-2261`},
		{name: "ts object", line: `{"_path":"conn","ts":{}}`, err: `"ts": must be an RFC 3339 string or epoch number`},
		{name: "array", line: `[]`, err: "not a JSON object"},
	})
}

func BenchmarkParseZeek(b *testing.B) { sensorBench(b, zeekSample, ParseZeek) }
