package ingest

import (
	"bytes"
	"errors"
	"strings"
	"time"

	"github.com/minixdr/xdr/appliance"
)

// ParseZeek parses one line of a Zeek JSON log. The log's name comes from
// "_path" (json-streaming-logs, or LogAscii::use_json with a path field). A
// line without "_path" (Zeek's plain JSON logs, where only the file name
// says which log it is) is recognised by its fields as conn, dns, http, ssl,
// ssh, notice, weird or x509, and is otherwise path "unknown"; a line with
// neither "_path" nor "ts" is refused. Every field is kept under
// zeek.<path>.*; conn, dns, http, ssl, ssh and notice map to ECS, and any
// other log gets the connection fields (id.*, uid, proto).
func ParseZeek(line []byte, _ time.Time) (Parsed, error) {
	b, p, err := beginSensor(line, 22)
	if err != nil {
		return Parsed{}, err
	}
	// _path and ts come first in Zeek's lines: find them, flatten under the
	// path, and check while flattening that neither is repeated further on
	// (then the last counts, as decoding into a map keeps it: do it again).
	var first, last [len(zeekTop)][]byte
	sensorTopFirst(b, zeekTop[:], first[:])
	var path, prefix string
	for again := false; ; again = true {
		if sensorRaw(first[0]) != nil {
			if path, err = sensorName(first[0], "_path", "a Zeek log record"); err != nil {
				return Parsed{}, err
			}
		} else {
			if first[1] == nil {
				return Parsed{}, errors.New(`not a Zeek log record: no "_path" and no "ts"`)
			}
			path = zeekGuessPath(b)
		}
		if p.Timestamp, err = sensorTime(first[1], "ts"); err != nil {
			return Parsed{}, err
		}
		prefix = "zeek." + path
		if err := sensorFlatten(b, prefix, p.Fields, zeekTop[:], last[:]); err != nil {
			return Parsed{}, err
		}
		if again || bytes.Equal(first[0], last[0]) && bytes.Equal(first[1], last[1]) {
			break
		}
		first = last
		clear(p.Fields)
	}
	m := sensorMap{f: p.Fields, p: prefix + "."}
	m.set("event.module", "zeek")
	m.set("event.dataset", prefix)
	m.set("observer.product", "Zeek")
	m.set("observer.vendor", "Zeek")
	m.set("observer.type", "ids")
	m.copyStr("zeek.session_id", "uid")
	m.copyIP("source.ip", "id.orig_h")
	m.copyPort("source.port", "id.orig_p")
	m.copyIP("destination.ip", "id.resp_h")
	m.copyPort("destination.port", "id.resp_p")
	if s, ok := m.str("proto"); ok {
		m.set("network.transport", sensorLower(s))
	}
	if proto := zeekProtocols[path]; proto != "" {
		m.set("network.protocol", proto)
	}
	m.copyDuration("event.duration", "duration")

	kind, category, action := "event", "", path
	if _, ok := m.f["source.ip"]; ok { // a connection's log
		category = "network"
	}
	switch path {
	case "conn":
		m.set("event.type", "connection")
		zeekConn(m)
	case "dns":
		m.set("event.type", "protocol")
		zeekDNS(m)
	case "http":
		m.set("event.type", "protocol")
		zeekHTTP(m)
	case "ssl":
		m.set("event.type", "protocol")
		zeekSSL(m)
	case "ssh":
		category = "authentication"
		zeekSSH(m)
	case "notice":
		kind, category = "alert", "intrusion_detection"
		if s, ok := m.str("note"); ok {
			action = s
			m.set("rule.name", s)
		}
		// Notices not tied to a connection name the hosts in src/dst/p.
		if _, ok := m.f["source.ip"]; !ok {
			m.copyIP("source.ip", "src")
		}
		if _, ok := m.f["destination.ip"]; !ok {
			m.copyIP("destination.ip", "dst")
		}
		if _, ok := m.f["destination.port"]; !ok {
			m.copyPort("destination.port", "p")
		}
	case "weird":
		if s, ok := m.str("name"); ok {
			action = s
			m.set("rule.name", s)
			m.set("message", s)
		}
	case "syslog":
		m.copyStr("log.syslog.facility.name", "facility")
		m.copyStr("log.syslog.severity.name", "severity")
	case "ftp":
		m.copyStr("user.name", "user")
	}
	m.set("event.kind", kind)
	m.setStr("event.category", category)
	m.set("event.action", action)
	if s, ok := m.str("msg"); ok {
		m.set("message", s)
	} else if s, ok := m.str("message"); ok {
		m.set("message", s)
	}
	return p, nil
}

// zeekProtocols is network.protocol for the logs of one application
// protocol (conn has its own "service").
var zeekProtocols = map[string]string{
	"dns": "dns", "http": "http", "ssl": "tls", "ssh": "ssh", "smtp": "smtp", "rdp": "rdp",
	"ntp": "ntp", "syslog": "syslog", "ftp": "ftp", "dhcp": "dhcp", "snmp": "snmp", "sip": "sip",
	"kerberos": "kerberos", "mysql": "mysql", "radius": "radius", "irc": "irc", "socks": "socks",
	"modbus": "modbus", "dnp3": "dnp3", "ntlm": "ntlm", "dce_rpc": "dce_rpc", "rfb": "vnc",
	"smb_files": "smb", "smb_mapping": "smb", "quic": "quic", "mqtt_connect": "mqtt",
	"mqtt_publish": "mqtt", "mqtt_subscribe": "mqtt", "pop3": "pop3", "imap": "imap", "ldap": "ldap",
	"ldap_search": "ldap",
}

var zeekTop = [...]string{"_path", "ts"}

// zeekGuessKeys are the top-level members zeekGuessPath looks for.
var zeekGuessKeys = [...]string{"conn_state", "orig_bytes", "resp_bytes", "qtype_name", "rcode_name", "query",
	"trans_id", "method", "uri", "status_code", "trans_depth", "server_name", "ssl_history", "cipher",
	"established", "resumed", "auth_success", "host_key", "client", "note", "name", "notice", "peer",
	"certificate.subject", "certificate"}

// zeekGuessPath names the log of a line without "_path" by fields that only
// that log has.
func zeekGuessPath(b []byte) string {
	var raw [len(zeekGuessKeys)][]byte
	sensorTop(b, zeekGuessKeys[:], raw[:])
	has := func(k string) bool {
		for i, n := range zeekGuessKeys {
			if n == k {
				return raw[i] != nil
			}
		}
		return false
	}
	switch {
	case has("conn_state") || has("orig_bytes") && has("resp_bytes"):
		return "conn"
	case has("qtype_name") || has("rcode_name") || has("query") && has("trans_id"):
		return "dns"
	case has("method") && has("uri") || has("status_code") && has("trans_depth"):
		return "http"
	case has("server_name") || has("ssl_history") || has("cipher") && (has("established") || has("resumed")):
		return "ssl"
	case has("auth_success") || has("host_key") && has("client"):
		return "ssh"
	case has("note"):
		return "notice"
	case has("name") && has("notice") && has("peer"):
		return "weird"
	case has("certificate.subject") || has("certificate"):
		return "x509"
	}
	return "unknown"
}

func zeekConn(m sensorMap) {
	if s, ok := m.str("service"); ok {
		parts := strings.Split(appliance.ToLower(s), ",")
		if len(parts) == 1 {
			m.set("network.protocol", parts[0])
		} else {
			l := make([]any, 0, len(parts))
			for _, p := range parts {
				if p != "" {
					l = append(l, p)
				}
			}
			m.set("network.protocol", l)
		}
	}
	m.traffic("orig_bytes", "resp_bytes", "orig_pkts", "resp_pkts")
	lo, okO := m.get("local_orig").(bool)
	lr, okR := m.get("local_resp").(bool)
	if okO && okR {
		switch {
		case lo && lr:
			m.set("network.direction", "internal")
		case lo:
			m.set("network.direction", "outbound")
		case lr:
			m.set("network.direction", "inbound")
		default:
			m.set("network.direction", "external")
		}
	}
}

func zeekDNS(m sensorMap) {
	m.copyStr("dns.question.name", "query")
	m.copyStr("dns.question.type", "qtype_name")
	m.copyStr("dns.question.class", "qclass_name")
	m.copyStr("dns.response_code", "rcode_name")
	m.copyNumText("dns.id", "trans_id")
	var flags []any
	for _, fl := range [...]string{"AA", "TC", "RD", "RA"} {
		if b, _ := m.get(fl).(bool); b {
			flags = append(flags, fl)
		}
	}
	if flags != nil {
		m.set("dns.header_flags", flags)
	}
	answers := m.list("answers")
	if answers != nil {
		m.set("dns.answers.data", answers)
		if ips := sensorIPs(answers); ips != nil {
			m.set("dns.resolved_ip", ips)
		}
		if ttls := m.list("TTLs"); ttls != nil {
			m.set("dns.answers.ttl", ttls)
		}
	}
	if _, ok := m.str("rcode_name"); ok || answers != nil {
		m.set("dns.type", "answer")
	} else {
		m.set("dns.type", "query")
	}
}

func zeekHTTP(m sensorMap) {
	m.copyStr("url.domain", "host")
	if s, ok := m.str("uri"); ok {
		sensorSetURL(m, s)
	}
	m.copyStr("http.request.method", "method")
	m.copyCount("http.response.status_code", "status_code")
	m.copyStr("user_agent.original", "user_agent")
	m.copyStr("http.request.referrer", "referrer")
	m.copyStr("http.version", "version")
	m.copyCount("http.request.body.bytes", "request_body_len")
	m.copyCount("http.response.body.bytes", "response_body_len")
	m.copyStr("user.name", "username")
}

func zeekSSL(m sensorMap) {
	m.copyStr("tls.client.server_name", "server_name")
	if s, ok := m.str("version"); ok {
		if proto, v, ok := sensorTLSVersion(s); ok {
			m.set("tls.version_protocol", proto)
			m.set("tls.version", v)
		}
	}
	m.copyStr("tls.cipher", "cipher")
	m.copyStr("tls.curve", "curve")
	if b, ok := m.get("established").(bool); ok {
		m.set("tls.established", b)
	}
	if b, ok := m.get("resumed").(bool); ok {
		m.set("tls.resumed", b)
	}
	m.copyStr("tls.server.subject", "subject")
	m.copyStr("tls.server.issuer", "issuer")
	m.copyStr("tls.client.ja3", "ja3")
	m.copyStr("tls.server.ja3s", "ja3s")
}

func zeekSSH(m sensorMap) {
	switch b, ok := m.get("auth_success").(bool); {
	case ok && b:
		m.set("event.outcome", "success")
	case ok:
		m.set("event.outcome", "failure")
	}
	for _, side := range [...]string{"client", "server"} {
		if s, ok := m.str(side); ok {
			proto, sw := sensorSSHSoftware(s)
			m.setStr("ssh."+side+".proto_version", proto)
			m.setStr("ssh."+side+".software", sw)
		}
	}
	m.copyStr("ssh.client.hassh", "hassh")
	m.copyStr("ssh.server.hassh", "hasshServer")
}
