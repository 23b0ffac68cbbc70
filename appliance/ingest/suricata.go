package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	json "github.com/goccy/go-json"
)

// This file holds the Suricata EVE parser and the helpers that the JSON
// sensor parsers (cowrie.go, suricata.go, zeek.go, osquery.go) share: each
// checks the line (beginSensor), keeps every source field flattened under
// its own prefix (sensorFlatten) and derives ECS fields from those
// flattened values (sensorMap).

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
		switch s = strings.ToLower(s); s {
		case "failed", "unknown":
		default:
			m.set("network.protocol", s)
		}
	}

	kind, category, typ := "event", "network", "protocol"
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
		m.set("event.action", et)
	case "stats":
		kind, category, typ = "metric", "", ""
		m.set("event.action", et)
	case "fileinfo":
		category, typ = "file", "info"
		m.set("event.action", et)
	case "anomaly":
		typ = "info"
		m.set("event.action", et)
		m.copyStr("message", "suricata.anomaly.event")
	default:
		m.set("event.action", et)
	}
	m.set("event.kind", kind)
	m.setStr("event.category", category)
	m.setStr("event.type", typ)

	// Only the sections the record has (each looks up many keys).
	for i, fn := range suricataSections {
		if raw[2+i] != nil {
			fn(m)
		}
	}
	return p, nil
}

// suricataDatasets are the event.dataset values of the usual event types,
// made once.
var suricataDatasets = func() map[string]string {
	m := map[string]string{}
	for _, et := range [...]string{"alert", "anomaly", "dhcp", "dnp3", "dns", "drop", "fileinfo", "flow", "ftp",
		"ftp_data", "http", "http2", "ike", "krb5", "mqtt", "netflow", "nfs", "pgsql", "quic", "rdp", "rfb",
		"sip", "smb", "smtp", "snmp", "ssh", "stats", "tftp", "tls"} {
		m[et] = "suricata." + et
	}
	return m
}()

// sensorLower is strings.ToLower, without allocating for the usual
// transport and protocol names.
func sensorLower(s string) string {
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
	return strings.ToLower(s)
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
	proto = strings.ToLower(s[:i])
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

// ---- helpers shared by the JSON sensor parsers ----

// The sensor parsers do not build the decoded tree of a line: json.Valid
// checks the line (the check decodeObject makes, so the same lines are
// refused, with decodeObject's reasons), then one pass over the bytes
// (sensorFlatten) writes the flattened fields straight into the output map
// and picks out the few top-level values a parser needs (its kind, its
// time). Field names and short string values that repeat from line to line
// are interned. This is about twice as fast as decodeObject followed by a
// walk of its tree, with the same result: the differential fuzz test
// FuzzSensorFlatten checks it against decodeObject and a tree walk.

// beginSensor checks a sensor line and starts its Parsed: Original is the
// trimmed line, made valid UTF-8 as ParseJSON does. It returns the trimmed
// line, a JSON object. ecs is about how many normalised fields the parser
// adds to the source's, to size the map.
func beginSensor(line []byte, ecs int) ([]byte, Parsed, error) {
	// JSON white space only: TrimSpace would also take Unicode spaces,
	// which make a line invalid JSON. Once the line is valid, it trims the
	// same.
	if i := sensorWS(line, 0); i == len(line) || line[i] != '{' || !json.Valid(line) {
		if _, err := decodeObject(line); err != nil {
			return nil, Parsed{}, err
		}
		return nil, Parsed{}, errors.New("not a JSON object")
	}
	b := bytes.TrimSpace(line)
	// Room for the source's fields (about one per ':') and the ECS ones: a
	// map that has to grow costs more than one a little too large.
	p := Parsed{Fields: make(map[string]any, bytes.Count(b, []byte(":"))+ecs), Original: b}
	if !utf8.Valid(b) {
		p.Original = bytes.ToValidUTF8(b, []byte("\uFFFD"))
	}
	return b, p, nil
}

// sensorTop sets raw[i] to the raw JSON of the top-level member named
// names[i] of the object b (nil when absent; the last one when repeated,
// as decoding into a map keeps). b must be valid JSON.
func sensorTop(b []byte, names []string, raw [][]byte) { sensorTopScan(b, names, raw, false) }

// sensorTopFirst is sensorTop that stops once it has found every name: the
// first one when a name is repeated.
func sensorTopFirst(b []byte, names []string, raw [][]byte) { sensorTopScan(b, names, raw, true) }

func sensorTopScan(b []byte, names []string, raw [][]byte, first bool) {
	defer func() { _ = recover() }() // as in sensorFlatten: b is valid JSON
	found := 0
	i := sensorWS(b, 1)
	if b[i] == '}' {
		return
	}
	for {
		ke, key := sensorKey(b, i)
		i = sensorWS(b, sensorWS(b, ke)+1)
		end := sensorSkip(b, i)
		for n, name := range names {
			if string(key) == name {
				if raw[n] == nil {
					found++
				}
				raw[n] = b[i:end]
			}
		}
		if first && found == len(names) {
			return
		}
		i = sensorWS(b, end)
		if b[i] != ',' {
			return
		}
		i = sensorWS(b, i+1)
	}
}

// sensorObject and sensorArray stand for a top-level object or array value.
type (
	sensorObject struct{}
	sensorArray  struct{}
)

// sensorRaw decodes a raw top-level value: a string, float64 (or the text
// of a number too large for one), bool, nil for null or absent,
// sensorObject or sensorArray.
func sensorRaw(raw []byte) any {
	if len(raw) == 0 {
		return nil
	}
	switch raw[0] {
	case '{':
		return sensorObject{}
	case '[':
		return sensorArray{}
	}
	v, _, _ := sensorScalarAt(raw, 0)
	return v
}

// maxSensorName bounds a name that becomes part of field names and of
// event.dataset (Suricata's event_type, Zeek's _path).
const maxSensorName = 64

// sensorName returns the string in raw, the value of key, which must be
// present and a short name of letters, digits, '_' and '-'.
func sensorName(raw []byte, key, what string) (string, error) {
	v := sensorRaw(raw)
	if v == nil {
		return "", fmt.Errorf("not %s: no %q", what, key)
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%q must be a string", key)
	}
	if !validSensorName(s) {
		return "", fmt.Errorf("%q %q is not a name of letters, digits, '_' and '-' (1 to %d characters)", key, truncate(s, 64), maxSensorName)
	}
	return s, nil
}

func validSensorName(s string) bool {
	if s == "" || len(s) > maxSensorName {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// sensorTime parses the event time in raw, the value of key: RFC 3339,
// RFC 3339 with a colon-less offset as Suricata writes it ("+0000"), or
// epoch seconds as a number or a string of digits. Absent or null: zero
// (receive time is used).
func sensorTime(raw []byte, key string) (time.Time, error) {
	v := sensorRaw(raw)
	if v == nil {
		return time.Time{}, nil
	}
	t, err := sensorTimeValue(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: %w", key, err)
	}
	return t, nil
}

var errSensorTime = errors.New("not an RFC 3339 time or epoch seconds")

func sensorTimeValue(v any) (time.Time, error) {
	var t time.Time
	switch v := v.(type) {
	case string:
		var err error
		var ok bool
		if t, ok = sensorFastTime(v); !ok {
			t, err = time.Parse(time.RFC3339Nano, v)
			if err != nil {
				t, err = time.Parse("2006-01-02T15:04:05Z0700", v)
			}
		}
		if err != nil {
			// epoch seconds as text (osquery's unixTime)
			var ok bool
			if t, ok = sensorEpochText(v); !ok {
				return time.Time{}, fmt.Errorf("%q is %w", truncate(v, 64), errSensorTime)
			}
		}
	case json.Number:
		var ok bool
		if t, ok = sensorEpochText(v.String()); !ok {
			return time.Time{}, fmt.Errorf("%s is %w", truncate(v.String(), 64), errSensorTime)
		}
	case float64:
		t = sensorEpoch(v)
	default:
		return time.Time{}, errors.New("must be an RFC 3339 string or epoch number")
	}
	if t.Before(minTime) || !t.Before(maxTime) {
		return time.Time{}, fmt.Errorf("%s is outside 1970-2261", t.UTC().Format(time.RFC3339))
	}
	return t.UTC(), nil
}

// sensorFastTime parses the common shapes of RFC 3339 quickly, and the
// same with a colon-less offset ("2026-11-22T03:58:03.726169+0000", as
// Suricata writes it): date, 'T', time, an optional fraction of 1 to 9
// digits, and 'Z' or an offset. It accepts only what time.Parse with
// RFC3339Nano or "2006-01-02T15:04:05Z0700" accepts, with the same result;
// anything else (ok false) is left to those.
func sensorFastTime(s string) (t time.Time, ok bool) {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return t, false
	}
	num := func(i, n int) (int, bool) {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 2)
	day, ok3 := num(8, 2)
	hour, ok4 := num(11, 2)
	minute, ok5 := num(14, 2)
	sec, ok6 := num(17, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 ||
		day > sensorDaysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return t, false
	}
	rest := s[19:]
	nsec := 0
	if rest[0] == '.' {
		i := 1
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		digits := rest[1:i]
		if len(digits) < 1 || len(digits) > 9 {
			return t, false
		}
		for j := 0; j < 9; j++ {
			nsec *= 10
			if j < len(digits) {
				nsec += int(digits[j] - '0')
			}
		}
		rest = rest[i:]
	}
	offset := 0
	switch {
	case rest == "Z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':',
		len(rest) == 5 && (rest[0] == '+' || rest[0] == '-'):
		oh, okh := num(len(s)-len(rest)+1, 2)
		om, okm := num(len(s)-2, 2)
		if !okh || !okm || oh > 23 || om > 59 {
			return t, false
		}
		offset = oh*3600 + om*60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return t, false
	}
	t = time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	return t.Add(-time.Duration(offset) * time.Second), true
}

// sensorFormatTime is t.UTC().Format(time.RFC3339Nano), faster, for a time
// in 1970-2261.
func sensorFormatTime(t time.Time) string {
	t = t.UTC()
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	if year < 1000 || year > 9999 {
		return t.Format(time.RFC3339Nano)
	}
	var b [40]byte
	put := func(i, v, n int) {
		for j := i + n - 1; j >= i; j-- {
			b[j] = byte('0' + v%10)
			v /= 10
		}
	}
	put(0, year, 4)
	b[4] = '-'
	put(5, int(month), 2)
	b[7] = '-'
	put(8, day, 2)
	b[10] = 'T'
	put(11, hour, 2)
	b[13] = ':'
	put(14, minute, 2)
	b[16] = ':'
	put(17, sec, 2)
	n := 19
	if ns := t.Nanosecond(); ns != 0 {
		b[19] = '.'
		put(20, ns, 9)
		n = 29
		for b[n-1] == '0' {
			n--
		}
	}
	b[n] = 'Z'
	return string(b[:n+1])
}

func sensorDaysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// sensorEpoch is the time of f epoch seconds, or milliseconds when f is too
// large to be seconds (as parseTime). A fraction is rounded to the
// microsecond: sensors write at most six decimals, and a float64 of today's
// epoch seconds has no more precision than that.
func sensorEpoch(f float64) time.Time {
	if f > 1e11 {
		f /= 1000
	}
	if f >= 1e13 || f <= -1e13 || math.IsNaN(f) { // far outside 1970-2261, and int64 safe
		return maxTime
	}
	sec := math.Floor(f)
	us := math.Round((f - sec) * 1e6)
	return time.Unix(int64(sec), int64(us)*1000)
}

// sensorEpochText parses epoch seconds written as text: digits with an
// optional fraction exactly, other number forms through float64.
func sensorEpochText(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 40 {
		return time.Time{}, false
	}
	intPart, frac, _ := strings.Cut(s, ".")
	if len(intPart) > 0 && len(intPart) <= 11 && sensorDigits(intPart) && sensorDigits(frac) {
		sec, err := strconv.ParseInt(intPart, 10, 64)
		if err == nil && float64(sec) <= 1e11 {
			var ns int64
			for i := 0; i < 9; i++ {
				ns *= 10
				if i < len(frac) {
					ns += int64(frac[i] - '0')
				}
			}
			return time.Unix(sec, ns), true
		}
	}
	if strings.ContainsAny(s, "xXpP_") { // no hex floats or digit separators
		return time.Time{}, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return time.Time{}, false
	}
	return sensorEpoch(f), true
}

func sensorDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// sensorFlatten stores the object b (valid JSON) under prefix as flat dotted
// names, like flatten, but keeps what flatten drops: an array of objects
// becomes one list per key inside the objects (as a search engine flattens
// object arrays), so {"answers":[{"rdata":"a"},{"rdata":"b"}]} gives
// answers.rdata ["a","b"]; arrays nested in arrays are flattened into their
// parent's list; null is left out. Within an object, plain keys are stored
// before dotted ones, so a dotted key wins over the nested one naming the
// same field, as in ParseJSON. Nesting deeper than maxDepth is an error.
// On the way it sets top[i] to the raw JSON of the top-level member named
// names[i], as sensorTop does.
func sensorFlatten(b []byte, prefix string, out map[string]any, names []string, top [][]byte) (err error) {
	in := sensorInterns.Get().(*sensorIntern)
	defer func() {
		// b is valid JSON, so the scanner stays within it; should json.Valid
		// ever accept what the scanner does not expect, the line is refused
		// rather than the process brought down.
		if r := recover(); r != nil {
			err = errors.New("malformed JSON object")
			in = &sensorIntern{m: map[string]string{}, vals: map[string]any{}}
		}
		sensorInterns.Put(in)
	}()
	d := sensorFlat{b: b, out: out, key: in.buf[:0], intern: in.m, vals: in.vals, names: names, top: top}
	d.key = append(d.key, prefix...)
	_, err = d.value(0, 0, false)
	in.buf = d.key[:0]
	return err
}

type sensorFlat struct {
	b      []byte
	out    map[string]any
	key    []byte // the dotted name of the current value
	intern map[string]string
	vals   map[string]any
	names  []string // top-level members to capture into top
	top    [][]byte
}

// sensorIntern keeps the field names seen lately, so that the names every
// line of a source has are not allocated again for each line. One per P
// in practice (a sync.Pool), bounded in size: when full it starts afresh,
// so names that stopped coming do not keep out those that come now.
type sensorIntern struct {
	m    map[string]string
	vals map[string]any // short string values, boxed
	buf  []byte
}

const (
	maxSensorInterned, maxSensorInternLen = 4096, 96
	// Short string values repeat (protocols, states, names): they are kept
	// boxed, so storing one allocates nothing.
	maxSensorInternedVals, maxSensorInternValLen = 4096, 24
)

var sensorInterns = sync.Pool{New: func() any {
	return &sensorIntern{m: make(map[string]string, 256), vals: make(map[string]any, 256), buf: make([]byte, 0, 256)}
}}

// name is the current key as a string.
func (d *sensorFlat) name() string {
	if s, ok := d.intern[string(d.key)]; ok {
		return s
	}
	s := string(d.key)
	if len(s) <= maxSensorInternLen {
		if len(d.intern) >= maxSensorInterned {
			clear(d.intern)
		}
		d.intern[s] = s
	}
	return s
}

// value flattens the value at b[i] under d.key and returns the index after
// it. inList says that the value is inside an array, so its scalars are
// appended to lists.
func (d *sensorFlat) value(i, depth int, inList bool) (int, error) {
	if depth > maxDepth {
		return 0, fmt.Errorf("field %q nests deeper than %d levels", truncate(string(d.key), 128), maxDepth)
	}
	switch d.b[i] {
	case '{':
		return d.object(i, depth, inList)
	case '[':
		return d.array(i, depth, inList)
	}
	if d.b[i] == '"' {
		end, esc := sensorStrEnd(d.b, i)
		if inner := d.b[i+1 : end-1]; !esc && len(inner) <= maxSensorInternValLen {
			if v, ok := d.vals[string(inner)]; ok {
				d.put(v, inList)
				return end, nil
			}
			if utf8.Valid(inner) {
				var v any = string(inner)
				if len(d.vals) >= maxSensorInternedVals {
					clear(d.vals)
				}
				d.vals[v.(string)] = v
				d.put(v, inList)
				return end, nil
			}
		}
	}
	v, ok, end := sensorScalarAt(d.b, i)
	if ok {
		d.put(v, inList)
	}
	return end, nil
}

func (d *sensorFlat) put(v any, inList bool) {
	if !inList {
		d.out[d.name()] = v
		return
	}
	switch cur := d.out[string(d.key)].(type) {
	case nil:
		d.out[d.name()] = []any{v}
	case []any:
		d.out[d.name()] = append(cur, v)
	default:
		d.out[d.name()] = []any{cur, v}
	}
}

func (d *sensorFlat) object(i, depth int, inList bool) (int, error) {
	base := len(d.key)
	var dotted []int // where the members with a dotted key start
	i = sensorWS(d.b, i+1)
	if d.b[i] == '}' {
		return i + 1, nil
	}
	for {
		ke, key := sensorKey(d.b, i)
		vs := sensorWS(d.b, sensorWS(d.b, ke)+1)
		var end int
		if bytes.IndexByte(key, '.') >= 0 {
			dotted = append(dotted, i)
			end = sensorSkip(d.b, vs)
		} else {
			d.key = append(append(d.key, '.'), key...)
			var err error
			if end, err = d.value(vs, depth+1, inList); err != nil {
				return 0, err
			}
			d.key = d.key[:base]
		}
		if depth == 0 {
			for n, name := range d.names {
				if string(key) == name {
					d.top[n] = d.b[vs:end]
				}
			}
		}
		i = sensorWS(d.b, end)
		if d.b[i] != ',' {
			break
		}
		i = sensorWS(d.b, i+1)
	}
	end := i + 1
	for _, s := range dotted {
		ke, key := sensorKey(d.b, s)
		d.key = append(append(d.key, '.'), key...)
		if _, err := d.value(sensorWS(d.b, sensorWS(d.b, ke)+1), depth+1, inList); err != nil {
			return 0, err
		}
		d.key = d.key[:base]
	}
	return end, nil
}

// sensorKey returns the index after the member key starting at b[i] and
// the key, decoded.
func sensorKey(b []byte, i int) (int, []byte) {
	end, esc := sensorStrEnd(b, i)
	key := b[i+1 : end-1]
	if esc || !utf8.Valid(key) {
		key = []byte(sensorStr(b[i:end], esc))
	}
	return end, key
}

func (d *sensorFlat) array(i, depth int, inList bool) (int, error) {
	i = sensorWS(d.b, i+1)
	if inList {
		if d.b[i] == ']' {
			return i + 1, nil
		}
		for {
			var err error
			if i, err = d.value(i, depth+1, true); err != nil {
				return 0, err
			}
			i = sensorWS(d.b, i)
			if d.b[i] != ',' {
				return i + 1, nil
			}
			i = sensorWS(d.b, i+1)
		}
	}
	// Not in a list: the array's scalars are the list at this key, and its
	// objects and arrays then add to lists (their scalars to this one).
	vals := []any{}
	var nested []int
	if d.b[i] != ']' {
		for {
			if c := d.b[i]; c == '{' || c == '[' {
				nested = append(nested, i)
				i = sensorSkip(d.b, i)
			} else {
				v, ok, end := sensorScalarAt(d.b, i)
				if ok {
					vals = append(vals, v)
				}
				i = end
			}
			i = sensorWS(d.b, i)
			if d.b[i] != ',' {
				break
			}
			i = sensorWS(d.b, i+1)
		}
	}
	if nested == nil || len(vals) > 0 {
		d.out[d.name()] = vals
	}
	for _, s := range nested {
		if _, err := d.value(s, depth+1, true); err != nil {
			return 0, err
		}
	}
	return i + 1, nil
}

func sensorWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// sensorStrEnd returns the index after the string starting at b[i] (a
// quote) and whether it has escapes.
func sensorStrEnd(b []byte, i int) (end int, esc bool) {
	i++
	for {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return len(b), esc // not reached on valid JSON
		}
		bs := bytes.IndexByte(b[i:i+q], '\\')
		if bs < 0 {
			return i + q + 1, esc
		}
		esc = true
		i += bs + 2 // past the backslash and the character it escapes
	}
}

// sensorStr decodes the JSON string raw (with its quotes). Escapes and
// invalid UTF-8 are decoded by the JSON package, so the result is what
// decoding the line would give (invalid UTF-8 becomes U+FFFD).
func sensorStr(raw []byte, esc bool) string {
	inner := raw[1 : len(raw)-1]
	if !esc && utf8.Valid(inner) {
		return string(inner)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return string(bytes.ToValidUTF8(inner, []byte("\uFFFD"))) // not reached on valid JSON
	}
	return s
}

// sensorSkip returns the index after the value starting at b[i].
func sensorSkip(b []byte, i int) int {
	switch b[i] {
	case '"':
		end, _ := sensorStrEnd(b, i)
		return end
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i, _ = sensorStrEnd(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

// sensorScalarAt decodes the string, number, true, false or null at b[i]
// into its stored form, as scalar does with a decoded value: ok is false
// for null. end is the index after it.
func sensorScalarAt(b []byte, i int) (v any, ok bool, end int) {
	switch b[i] {
	case '"':
		end, esc := sensorStrEnd(b, i)
		return sensorStr(b[i:end], esc), true, end
	case 't':
		return sensorTrue, true, i + 4
	case 'f':
		return sensorFalse, true, i + 5
	case 'n':
		return nil, false, i + 4
	}
	end = sensorSkip(b, i)
	return sensorNum(b[i:end]), true, end
}

var (
	sensorTrue  any = true
	sensorFalse any = false
	sensorZero  any = float64(0)
	// sensorSmall are the boxed whole numbers 0-1023 (ports, counts, flags),
	// so that storing one allocates nothing.
	sensorSmall = func() (s [1024]any) {
		for i := range s {
			s[i] = float64(i)
		}
		return s
	}()
)

// sensorNum is the stored form of a JSON number: a float64, or its text
// when it is too large for one (as scalar does with a json.Number).
func sensorNum(raw []byte) any {
	// Whole numbers of up to 15 digits are exact in a float64.
	neg := len(raw) > 0 && raw[0] == '-'
	digits := raw
	if neg {
		digits = raw[1:]
	}
	if len(digits) > 0 && len(digits) <= 15 {
		n := int64(0)
		whole := true
		for _, c := range digits {
			if c < '0' || c > '9' {
				whole = false
				break
			}
			n = n*10 + int64(c-'0')
		}
		if whole {
			switch {
			case n == 0:
				return sensorZero // -0 is stored as 0
			case n < int64(len(sensorSmall)) && !neg:
				return sensorSmall[n]
			case neg:
				return -float64(n)
			}
			return float64(n)
		}
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsInf(f, 0) {
		return string(raw)
	}
	if f == 0 {
		return sensorZero
	}
	return f
}

// sensorMap reads the flattened source fields under prefix p of a sensor
// event and sets normalised fields in the same map.
type sensorMap struct {
	f map[string]any
	p string // the source prefix with its trailing dot ("zeek.dns."), or "" when keys are full names
}

// get is the source value at k (under the prefix, if any).
func (m sensorMap) get(k string) any {
	if m.p == "" {
		return m.f[k]
	}
	return m.f[m.p+k]
}

// str is the non-empty string at k.
func (m sensorMap) str(k string) (string, bool) {
	s, ok := m.get(k).(string)
	return s, ok && s != ""
}

// firstStr is the string at k, or the first non-empty string of a list.
func (m sensorMap) firstStr(k string) (string, bool) {
	switch v := m.get(k).(type) {
	case string:
		return v, v != ""
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok && s != "" {
				return s, true
			}
		}
	}
	return "", false
}

// list is the list at k (a scalar is a list of one), nil if absent or empty.
func (m sensorMap) list(k string) []any {
	switch v := m.get(k).(type) {
	case nil:
		return nil
	case []any:
		if len(v) == 0 {
			return nil
		}
		return v
	default:
		return []any{v}
	}
}

// num is the number at k: a JSON number or a string holding one (osquery
// writes numbers as strings).
func (m sensorMap) num(k string) (float64, bool) {
	return sensorNumber(m.get(k))
}

func (m sensorMap) firstNum(k string) (float64, bool) {
	v := m.get(k)
	if l, ok := v.([]any); ok {
		if len(l) == 0 {
			return 0, false
		}
		v = l[0]
	}
	return sensorNumber(v)
}

func sensorNumber(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case string:
		s := strings.TrimSpace(v)
		if s == "" || len(s) > 32 {
			return 0, false
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || strings.ContainsAny(s, "xXpP_") {
			return 0, false
		}
		if f == 0 {
			f = 0
		}
		return f, true
	}
	return 0, false
}

// count is a non-negative whole number at k.
func (m sensorMap) count(k string) (float64, bool) {
	n, ok := m.num(k)
	if !ok || n < 0 || n != math.Trunc(n) {
		return 0, false
	}
	return n, true
}

// time is the time at k, when it parses.
func (m sensorMap) time(k string) (time.Time, bool) {
	v := m.get(k)
	if v == nil {
		return time.Time{}, false
	}
	t, err := sensorTimeValue(v)
	return t, err == nil
}

func (m sensorMap) set(ecs string, v any) { m.f[ecs] = v }

// traffic maps a flow's byte and packet counters, each direction's source
// key given, to source.*/destination.* and their network.* sums.
func (m sensorMap) traffic(srcBytes, dstBytes, srcPkts, dstPkts string) {
	for _, counter := range [...]struct{ src, dst, unit string }{{srcBytes, dstBytes, "bytes"}, {srcPkts, dstPkts, "packets"}} {
		var total float64
		var have bool
		for _, c := range [...]struct{ ecs, key string }{{"source." + counter.unit, counter.src}, {"destination." + counter.unit, counter.dst}} {
			if n, ok := m.count(c.key); ok {
				m.set(c.ecs, n)
				total += n
				have = true
			}
		}
		if have {
			m.set("network."+counter.unit, total)
		}
	}
}

// setStr sets ecs to s unless s is empty.
func (m sensorMap) setStr(ecs, s string) {
	if s != "" {
		m.f[ecs] = s
	}
}

// copyStr copies the non-empty string at k. It stores the value as it is
// (no new interface value is allocated), as do the other copy methods.
func (m sensorMap) copyStr(ecs, k string) {
	v := m.get(k)
	if s, ok := v.(string); ok && s != "" {
		m.f[ecs] = v
	}
}

func (m sensorMap) copyNum(ecs, k string) {
	if n, ok := m.num(k); ok {
		m.setNum(ecs, k, n)
	}
}

func (m sensorMap) copyCount(ecs, k string) {
	if n, ok := m.count(k); ok {
		m.setNum(ecs, k, n)
	}
}

// setNum sets ecs to n, which was read from k: the stored value itself when
// it is that number.
func (m sensorMap) setNum(ecs, k string, n float64) {
	v := m.get(k)
	if f, ok := v.(float64); ok && f == n {
		m.f[ecs] = v
		return
	}
	m.f[ecs] = n
}

// copyNumText copies a number or string identifier at k as text (ECS keeps
// identifiers such as rule.id as keywords).
func (m sensorMap) copyNumText(ecs, k string) {
	switch v := m.get(k).(type) {
	case string:
		m.setStr(ecs, v)
	case float64:
		m.f[ecs] = strconv.FormatFloat(v, 'f', -1, 64)
	}
}

// copyIP copies the string at k when it is an IP address.
func (m sensorMap) copyIP(ecs, k string) {
	v := m.get(k)
	if s, ok := v.(string); ok && sensorIsIP(s) {
		m.f[ecs] = v
	}
}

// copyPort copies the port number at k when it is a whole number 0-65535.
func (m sensorMap) copyPort(ecs, k string) {
	if n, ok := m.count(k); ok && n <= 65535 {
		m.setNum(ecs, k, n)
	}
}

// copyDuration sets ecs (ECS event.duration, nanoseconds) from seconds at k.
func (m sensorMap) copyDuration(ecs, k string) {
	if n, ok := m.num(k); ok && n >= 0 && n < 1e9 {
		m.f[ecs] = math.Round(n * 1e9)
	}
}

func sensorIsIP(s string) bool {
	if len(s) > 64 {
		return false
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}

// sensorIPs is the IP addresses among vals, nil if none.
func sensorIPs(vals []any) []any {
	var ips []any
	for _, v := range vals {
		if s, ok := v.(string); ok && sensorIsIP(s) {
			ips = append(ips, s)
		}
	}
	return ips
}

// sensorSSHSoftware splits an SSH identification string ("SSH-2.0-OpenSSH_7.6")
// into its protocol version and software.
func sensorSSHSoftware(s string) (proto, software string) {
	if rest, ok := strings.CutPrefix(s, "SSH-"); ok {
		if p, sw, ok := strings.Cut(rest, "-"); ok {
			return p, sw
		}
	}
	return "", s
}
