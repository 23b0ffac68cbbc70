package ingest

import (
	"strconv"
	"strings"
	"time"

	"github.com/minixdr/xdr/appliance"
)

// The Suricata EVE parser. The helpers the JSON sensor parsers share are in
// sensor.go, sensor_time.go and sensor_flat.go.

// ParseSuricata parses one line of Suricata's EVE JSON log (eve.json): any
// event_type, with alert, flow, dns, http, tls, ssh, fileinfo, anomaly and
// stats mapped to ECS. The whole EVE object is kept under suricata.*.
func ParseSuricata(line []byte, _ time.Time) (Parsed, error) {
	b, p, err := beginSensor(line, 16)
	if err != nil {
		return Parsed{}, err
	}
	var raw [len(suricataTop)][]byte
	if err := sensorFlatten(b, "suricata", p.Fields, suricataTop[:], raw[:]); err != nil {
		return Parsed{}, err
	}
	et, err := sensorName(raw[0], "event_type", "a Suricata EVE record")
	if err != nil {
		return Parsed{}, err
	}
	if p.Timestamp, err = sensorTime(raw[1], "timestamp"); err != nil {
		return Parsed{}, err
	}
	m := sensorMap{f: p.Fields} // full source names: no prefix to add on each lookup
	m.set("event.module", "suricata")
	if ds, ok := suricataDatasets[et]; ok {
		m.set("event.dataset", ds)
	} else {
		m.set("event.dataset", "suricata."+et)
	}
	m.set("observer.product", "Suricata")
	m.set("observer.vendor", "OISF")
	m.set("observer.type", "ids")
	m.copyStr("host.name", "suricata.host")
	m.copyStr("observer.name", "suricata.host")
	m.copyStr("observer.ingress.interface.name", "suricata.in_iface")
	m.copyStr("network.community_id", "suricata.community_id")
	if v, ok := m.firstNum("suricata.vlan"); ok {
		m.set("network.vlan.id", strconv.FormatFloat(v, 'f', -1, 64))
	}

	m.copyIP("source.ip", "suricata.src_ip")
	m.copyPort("source.port", "suricata.src_port")
	m.copyIP("destination.ip", "suricata.dest_ip")
	m.copyPort("destination.port", "suricata.dest_port")
	if s, ok := m.str("suricata.proto"); ok {
		m.set("network.transport", sensorLower(s))
	}
	if s, ok := m.str("suricata.app_proto"); ok {
		switch s = appliance.ToLower(s); s {
		case "failed", "unknown":
		default:
			m.set("network.protocol", s)
		}
	}

	// Field values: constants in an interface value allocate nothing.
	var kind, category, typ any = "event", "network", "protocol"
	// event.action is mostly event_type, stored boxed already.
	action := any(et)
	if v, ok := m.get("suricata.event_type").(string); ok && v == et {
		action = m.get("suricata.event_type")
	}
	switch et {
	case "alert":
		kind, category, typ = "alert", "intrusion_detection", "info"
		action, _ := m.str("suricata.alert.action")
		m.setStr("event.action", action)
		switch action {
		case "allowed":
			typ = "allowed"
		case "blocked", "drop", "dropped", "rejected":
			typ = "denied"
		}
		m.copyStr("rule.name", "suricata.alert.signature")
		m.copyStr("message", "suricata.alert.signature")
		m.copyStr("rule.category", "suricata.alert.category")
		m.copyNumText("rule.id", "suricata.alert.signature_id")
		m.copyNumText("rule.version", "suricata.alert.rev")
		m.copyNum("event.severity", "suricata.alert.severity")
	case "flow", "netflow":
		typ = "connection"
		m.set("event.action", action)
	case "stats":
		kind, category, typ = "metric", "", ""
		m.set("event.action", action)
	case "fileinfo":
		category, typ = "file", "info"
		m.set("event.action", action)
	case "anomaly":
		typ = "info"
		m.set("event.action", action)
		m.copyStr("message", "suricata.anomaly.event")
	default:
		m.set("event.action", action)
	}
	m.set("event.kind", kind)
	if category != "" {
		m.set("event.category", category)
	}
	if typ != "" {
		m.set("event.type", typ)
	}

	// Only the sections the record has (each looks up many keys).
	for i, fn := range suricataSections {
		if raw[2+i] != nil {
			fn(m)
		}
	}
	return p, nil
}

// suricataDatasets are the event.dataset values of the usual event types,
// made (and boxed) once.
var suricataDatasets = func() map[string]any {
	m := map[string]any{}
	for _, et := range [...]string{"alert", "anomaly", "dhcp", "dnp3", "dns", "drop", "fileinfo", "flow", "ftp",
		"ftp_data", "http", "http2", "ike", "krb5", "mqtt", "netflow", "nfs", "pgsql", "quic", "rdp", "rfb",
		"sip", "smb", "smtp", "snmp", "ssh", "stats", "tftp", "tls"} {
		m[et] = "suricata." + et
	}
	return m
}()

// sensorLower is strings.ToLower, as a field value: without allocating for
// the usual transport and protocol names.
func sensorLower(s string) any {
	switch s {
	case "TCP", "tcp":
		return "tcp"
	case "UDP", "udp":
		return "udp"
	case "ICMP", "icmp":
		return "icmp"
	case "IPv6-ICMP", "ipv6-icmp":
		return "ipv6-icmp"
	}
	return appliance.ToLower(s)
}

// suricataTop are the top-level members ParseSuricata reads first: the
// type, the time, then the sections that suricataSections map.
var suricataTop = [...]string{"event_type", "timestamp", "flow", "dns", "http", "tls", "ssh", "fileinfo"}

var suricataSections = [...]func(sensorMap){suricataFlow, suricataDNS, suricataHTTP, suricataTLS, suricataSSH, suricataFile}

func suricataFlow(m sensorMap) {
	m.traffic("suricata.flow.bytes_toserver", "suricata.flow.bytes_toclient",
		"suricata.flow.pkts_toserver", "suricata.flow.pkts_toclient")
	start, okStart := m.time("suricata.flow.start")
	end, okEnd := m.time("suricata.flow.end")
	if okStart {
		m.set("event.start", sensorFormatTime(start))
	}
	if okEnd {
		m.set("event.end", sensorFormatTime(end))
	}
	if okStart && okEnd && !end.Before(start) {
		m.set("event.duration", float64(end.Sub(start).Nanoseconds()))
	}
}

func suricataDNS(m sensorMap) {
	if s, ok := m.str("suricata.dns.type"); ok {
		m.set("dns.type", s)
	}
	// EVE v2 has one query per record (rrname at the top); alerts carry a
	// query list, Suricata 8 (EVE v3) a queries list.
	for _, k := range [...]string{"suricata.dns.rrname", "suricata.dns.query.rrname", "suricata.dns.queries.rrname"} {
		if s, ok := m.firstStr(k); ok {
			m.set("dns.question.name", s)
			break
		}
	}
	for _, k := range [...]string{"suricata.dns.rrtype", "suricata.dns.query.rrtype", "suricata.dns.queries.rrtype"} {
		if s, ok := m.firstStr(k); ok {
			m.set("dns.question.type", s)
			break
		}
	}
	m.copyStr("dns.response_code", "suricata.dns.rcode")
	m.copyNumText("dns.id", "suricata.dns.id")
	var flags []any
	for _, fl := range [...]struct{ key, flag string }{{"suricata.dns.aa", "AA"}, {"suricata.dns.tc", "TC"}, {"suricata.dns.rd", "RD"}, {"suricata.dns.ra", "RA"}} {
		if b, _ := m.get(fl.key).(bool); b {
			flags = append(flags, fl.flag)
		}
	}
	if flags != nil {
		m.set("dns.header_flags", flags)
	}
	// answers: a list of objects in EVE v2 (flattened into one list per
	// key); in v1 each answer is its own record with rdata at the top.
	data := m.list("suricata.dns.answers.rdata")
	if data == nil {
		if s, ok := m.str("suricata.dns.rdata"); ok {
			data = []any{s}
		}
	}
	if data != nil {
		m.set("dns.answers.data", data)
		if l := m.list("suricata.dns.answers.rrtype"); l != nil {
			m.set("dns.answers.type", l)
		}
		if l := m.list("suricata.dns.answers.rrname"); l != nil {
			m.set("dns.answers.name", l)
		}
		if l := m.list("suricata.dns.answers.ttl"); l != nil {
			m.set("dns.answers.ttl", l)
		}
		if ips := sensorIPs(data); ips != nil {
			m.set("dns.resolved_ip", ips)
		}
	}
}

func suricataHTTP(m sensorMap) {
	m.copyStr("url.domain", "suricata.http.hostname")
	if s, ok := m.str("suricata.http.url"); ok {
		sensorSetURL(m, s)
	}
	m.copyStr("user_agent.original", "suricata.http.http_user_agent")
	m.copyStr("http.request.method", "suricata.http.http_method")
	m.copyStr("http.request.referrer", "suricata.http.http_refer")
	m.copyCount("http.response.status_code", "suricata.http.status")
	m.copyCount("http.response.body.bytes", "suricata.http.length")
	m.copyStr("http.response.mime_type", "suricata.http.http_content_type")
	if s, ok := m.str("suricata.http.protocol"); ok {
		m.set("http.version", strings.TrimPrefix(s, "HTTP/"))
	}
}

// sensorSetURL sets url.original, url.path and url.query from a request target.
func sensorSetURL(m sensorMap, s string) {
	m.set("url.original", s)
	path, query, hasQuery := strings.Cut(s, "?")
	if strings.Contains(path, "://") { // an absolute URI (a proxy request)
		if i := strings.Index(path, "://"); i > 0 {
			rest := path[i+3:]
			if j := strings.IndexByte(rest, '/'); j >= 0 {
				path = rest[j:]
			} else {
				path = ""
			}
		}
	}
	m.setStr("url.path", path)
	if hasQuery {
		m.setStr("url.query", query)
	}
}

func suricataTLS(m sensorMap) {
	m.copyStr("tls.client.server_name", "suricata.tls.sni")
	if s, ok := m.str("suricata.tls.version"); ok {
		if proto, v, ok := sensorTLSVersion(s); ok {
			m.set("tls.version_protocol", proto)
			m.set("tls.version", v)
		}
	}
	m.copyStr("tls.server.subject", "suricata.tls.subject")
	m.copyStr("tls.server.issuer", "suricata.tls.issuerdn")
	if s, ok := m.str("suricata.tls.fingerprint"); ok {
		if h := strings.ToUpper(strings.ReplaceAll(s, ":", "")); len(h) == 40 && sensorIsHex(h) {
			m.set("tls.server.hash.sha1", h)
		}
	}
	m.copyStr("tls.client.ja3", "suricata.tls.ja3.hash")
	m.copyStr("tls.server.ja3s", "suricata.tls.ja3s.hash")
}

func suricataSSH(m sensorMap) {
	m.copyStr("ssh.client.software", "suricata.ssh.client.software_version")
	m.copyStr("ssh.client.proto_version", "suricata.ssh.client.proto_version")
	m.copyStr("ssh.client.hassh", "suricata.ssh.client.hassh.hash")
	m.copyStr("ssh.server.software", "suricata.ssh.server.software_version")
	m.copyStr("ssh.server.proto_version", "suricata.ssh.server.proto_version")
	m.copyStr("ssh.server.hassh", "suricata.ssh.server.hassh.hash")
}

func suricataFile(m sensorMap) {
	if s, ok := m.str("suricata.fileinfo.filename"); ok {
		m.set("file.path", s)
		name := s
		if i := strings.LastIndexAny(s, `/\`); i >= 0 {
			name = s[i+1:]
		}
		m.setStr("file.name", name)
	}
	m.copyCount("file.size", "suricata.fileinfo.size")
	m.copyStr("file.hash.md5", "suricata.fileinfo.md5")
	m.copyStr("file.hash.sha1", "suricata.fileinfo.sha1")
	m.copyStr("file.hash.sha256", "suricata.fileinfo.sha256")
	m.copyStr("file.mime_type", "suricata.fileinfo.mimetype")
}

// sensorTLSVersion splits a TLS version as Suricata ("TLS 1.3", "SSLv3") or Zeek
// ("TLSv12", "DTLSv10") write it into ECS tls.version_protocol and
// tls.version ("tls", "1.3").
func sensorTLSVersion(s string) (proto, version string, ok bool) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && (s[i] >= 'A' && s[i] <= 'Z' || s[i] >= 'a' && s[i] <= 'z') {
		i++
	}
	proto = appliance.ToLower(s[:i])
	switch proto {
	case "tls", "ssl", "dtls":
	case "tlsv", "sslv", "dtlsv":
		proto = proto[:len(proto)-1]
	default:
		return "", "", false
	}
	rest := strings.TrimLeft(s[i:], " v")
	switch {
	case rest == "":
		return "", "", false
	case strings.Contains(rest, "."):
		version = rest
	case len(rest) == 1:
		version = rest + ".0"
	default:
		version = rest[:1] + "." + rest[1:]
	}
	for _, c := range []byte(version) {
		if c != '.' && (c < '0' || c > '9') {
			return "", "", false
		}
	}
	return proto, version, true
}

func sensorIsHex(s string) bool {
	for _, c := range []byte(s) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
