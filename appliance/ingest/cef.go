package ingest

// The "cef" source: ArcSight Common Event Format lines,
//
//	CEF:Version|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|Extension
//
// optionally after a syslog header (any shape ParseSyslog reads). In the
// header fields "\|" is a pipe and "\\" a backslash; the extension is
// key=value pairs separated by spaces, where a value runs until the next
// " key=" and "\=", "\\", "\n" and "\r" are escapes. An unescaped '=' that
// does not follow a space and a key (as in a URL's query) stays part of the
// value.
//
// Every extension is kept as cef.extensions.<key> (text, as sent); the
// common keys are also mapped to ECS (see cefMap). A custom field with a
// label (cs1 with cs1Label, cn1 with cn1Label, flexString1 with
// flexString1Label, ...) is also stored as cef.extensions.<label>, the label
// with characters other than letters, digits, '_' and '-' replaced by '_'.
//
// The event time is rt (deviceReceiptTime), else end, else start, each in
// epoch milliseconds or "MMM dd [yyyy] HH:mm:ss[.SSS] [zone]" (zone UTC, GMT,
// Z or a numeric offset; none: UTC), else the syslog header's, else the
// receive time. A time that cannot be read is left in cef.extensions and the
// next one is tried: a bad rt does not lose the event.

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/minixdr/xdr/appliance"
)

// cefMaxExtensions bounds the extensions lifted into fields; the rest are in
// the original only.
const cefMaxExtensions = 1024

// ParseCEF is the parser of the "cef" source. Header fields map to
// cef.version, observer.vendor, observer.product, observer.version,
// event.code (Signature ID), cef.name, cef.severity and event.severity (0-10;
// Low 3, Medium 6, High 8, Very-High 10); message is msg, else the Name.
func ParseCEF(line []byte, received time.Time) (Parsed, error) {
	s, orig := syslogText(line)
	idx := strings.Index(s, "CEF:")
	if idx < 0 {
		return Parsed{}, fmt.Errorf("not a CEF line: no \"CEF:\" (expected [syslog header] CEF:Version|Vendor|Product|Version|Signature ID|Name|Severity|Extension)")
	}
	f := newFields(32)
	h := syslogHeader{pri: -1}
	if prefix := strings.TrimSpace(s[:idx]); prefix != "" {
		var err error
		if h, err = parseSyslogHeader(prefix, received, f); err != nil {
			return Parsed{}, fmt.Errorf("text before \"CEF:\" is not a syslog header: %w", err)
		}
		h.msg = "" // text between the header and "CEF:" is not the message
		syslogFields(&h, f)
	}
	hdr, ext, err := cefHeader(s[idx+len("CEF:"):])
	if err != nil {
		return Parsed{}, err
	}
	version := strings.TrimSpace(hdr[0])
	if !syslogDigits(version) || len(version) > 3 {
		return Parsed{}, fmt.Errorf("CEF version %q is not a number", truncate(version, 16))
	}
	f["cef.version"] = version
	for i, k := range [...]string{1: "observer.vendor", 2: "observer.product", 3: "observer.version", 4: "event.code", 5: "cef.name"} {
		if k != "" && hdr[i] != "" {
			f[k] = hdr[i]
		}
	}
	if sev := strings.TrimSpace(hdr[6]); sev != "" {
		f["cef.severity"] = sev
		if n, ok := cefSeverity(sev); ok {
			f["event.severity"] = float64(n)
		}
	}

	var st cefState
	if err := cefExtensions(ext, f, &st); err != nil {
		return Parsed{}, err
	}
	switch {
	case st.suser != "":
		f["user.name"] = st.suser
	case st.duser != "":
		f["user.name"] = st.duser
	}
	switch {
	case st.msg != "":
		f["message"] = st.msg
	case hdr[5] != "":
		f["message"] = hdr[5]
	}
	normaliseOutcome(f)
	for _, base := range st.labels {
		label, _ := f["cef.extensions."+base+"Label"].(string)
		v, ok := f["cef.extensions."+base]
		name := cefLabelName(label)
		if !ok || name == "" {
			continue
		}
		if _, taken := f["cef.extensions."+name]; !taken {
			f["cef.extensions."+name] = v
		}
	}
	ts := h.ts
	for _, v := range [...]string{st.rt, st.end, st.start} {
		if t, ok := cefTime(v, received); ok {
			ts = t
			break
		}
	}
	return Parsed{Timestamp: ts, Fields: f, Original: orig}, nil
}

// cefHeader splits the seven header fields (unescaped) from the extension.
// A header of exactly seven fields without the final '|' has no extension.
func cefHeader(s string) (hdr [7]string, ext string, err error) {
	names := [7]string{"Version", "Device Vendor", "Device Product", "Device Version", "Signature ID", "Name", "Severity"}
	pos := 0
	for k := range hdr {
		start, esc := pos, false
		for pos < len(s) && s[pos] != '|' {
			if s[pos] == '\\' {
				esc = true
				pos++
			}
			pos++
		}
		pos = min(pos, len(s))
		hdr[k] = s[start:pos]
		if esc {
			hdr[k] = cefUnescape(hdr[k], false)
		}
		if pos == len(s) {
			if k == len(hdr)-1 {
				return hdr, "", nil
			}
			return hdr, "", fmt.Errorf("CEF header has %d of 7 '|'-separated fields: %s is missing", k+1, names[k+1])
		}
		pos++
	}
	return hdr, s[pos:], nil
}

// cefUnescape undoes CEF escapes: in the header \| and \\, in extension
// values \=, \\, \n and \r (and \| too, which some senders write). Other
// backslashes are kept.
func cefUnescape(s string, ext bool) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			switch n := s[i+1]; {
			case n == '\\' || n == '|':
				c = n
				i++
			case ext && n == '=':
				c = n
				i++
			case ext && n == 'n':
				c = '\n'
				i++
			case ext && n == 'r':
				c = '\r'
				i++
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

// cefSeverity reads a severity: 0-10, or ArcSight's names.
func cefSeverity(s string) (int, bool) {
	if n, ok := syslogUint(s, 10); ok {
		return n, true
	}
	switch appliance.ToLower(s) {
	case "low":
		return 3, true
	case "medium":
		return 6, true
	case "high":
		return 8, true
	case "very-high", "very high", "veryhigh":
		return 10, true
	}
	return 0, false
}

// cefState carries what the mapping of single extensions leaves for after.
type cefState struct {
	suser, duser, msg string
	rt, end, start    string
	labels            []string // bases of the *Label keys seen
	count             int
}

func cefKeyChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-'
}

// cefExtensions parses the extension in one pass: a value ends at the last
// space before an unescaped '=' whose word (since that space) is a key.
func cefExtensions(s string, f map[string]any, st *cefState) error {
	s = strings.TrimLeft(s, " ")
	if strings.TrimSpace(s) == "" {
		return nil
	}
	k := 0
	for k < len(s) && cefKeyChar(s[k]) {
		k++
	}
	if k == 0 || k == len(s) || s[k] != '=' {
		return fmt.Errorf("CEF extension does not start with key=value: %q", truncate(s, 32))
	}
	key, valStart := s[:k], k+1
	lastSpace, keyOK := -1, false
	for i := valStart; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			i++
			keyOK = false
		case c == ' ':
			lastSpace, keyOK = i, true
		case c == '=':
			if keyOK && lastSpace >= valStart && i > lastSpace+1 {
				cefEmit(f, st, key, s[valStart:lastSpace])
				key, valStart = s[lastSpace+1:i], i+1
			}
			keyOK = false
		default:
			if !cefKeyChar(c) {
				keyOK = false
			}
		}
	}
	cefEmit(f, st, key, s[min(valStart, len(s)):])
	return nil
}

// cefEmit stores one extension raw and mapped.
func cefEmit(f map[string]any, st *cefState, key, raw string) {
	if st.count >= cefMaxExtensions {
		return
	}
	st.count++
	v := strings.TrimRight(raw, " ")
	if strings.IndexByte(v, '\\') >= 0 {
		v = cefUnescape(v, true)
	}
	f["cef.extensions."+key] = v
	if base, ok := strings.CutSuffix(key, "Label"); ok && base != "" {
		st.labels = append(st.labels, base)
	}
	if v != "" {
		cefMap(f, st, key, v)
	}
}

// cefMap maps one extension to ECS:
//
//	src sourceAddress → source.ip; dst destinationAddress → destination.ip
//	spt sourcePort → source.port; dpt destinationPort → destination.port
//	suser sourceUserName → source.user.name and user.name
//	duser destinationUserName → destination.user.name (user.name without suser)
//	suid → source.user.id; duid → destination.user.id
//	shost sourceHostName → source.domain; dhost destinationHostName → destination.domain
//	smac → source.mac; dmac → destination.mac
//	act deviceAction → event.action; outcome eventOutcome → event.outcome
//	msg message → message; reason → event.reason
//	rt end start → @timestamp
//	proto transportProtocol → network.transport (lower case)
//	app applicationProtocol → network.protocol (lower case)
//	request requestUrl → url.original; requestMethod → http.request.method
//	requestClientApplication → user_agent.original
//	fname fileName → file.name; filePath → file.path; fsize fileSize → file.size
//	in bytesIn → source.bytes; out bytesOut → destination.bytes
//	dvc deviceAddress → observer.ip; dvchost deviceHostName → observer.hostname
//	deviceProcessName → process.name; sproc → process.name; spid → process.pid
//
// An address that is not an IP and a port or number that is not one are
// left in cef.extensions only.
func cefMap(f map[string]any, st *cefState, key, v string) {
	switch key {
	case "src", "sourceAddress":
		cefIP(f, "source.ip", v)
	case "dst", "destinationAddress":
		cefIP(f, "destination.ip", v)
	case "dvc", "deviceAddress":
		cefIP(f, "observer.ip", v)
	case "spt", "sourcePort":
		cefNumber(f, "source.port", v, 65535)
	case "dpt", "destinationPort":
		cefNumber(f, "destination.port", v, 65535)
	case "suser", "sourceUserName":
		f["source.user.name"] = v
		st.suser = v
	case "duser", "destinationUserName":
		f["destination.user.name"] = v
		st.duser = v
	case "act", "deviceAction":
		f["event.action"] = v
	case "outcome", "eventOutcome":
		f["event.outcome"] = v
	case "msg", "message":
		st.msg = v
	case "rt", "deviceReceiptTime":
		st.rt = v
	case "end", "endTime":
		st.end = v
	case "start", "startTime":
		st.start = v
	case "proto", "transportProtocol":
		f["network.transport"] = appliance.ToLower(v)
	case "app", "applicationProtocol":
		f["network.protocol"] = appliance.ToLower(v)
	case "fsize", "fileSize":
		cefNumber(f, "file.size", v, 1<<53)
	case "in", "bytesIn":
		cefNumber(f, "source.bytes", v, 1<<53)
	case "out", "bytesOut":
		cefNumber(f, "destination.bytes", v, 1<<53)
	case "spid":
		cefNumber(f, "process.pid", v, 1<<31)
	default:
		if k, ok := cefSimple[key]; ok {
			f[k] = v
		}
	}
}

// cefSimple are the extensions copied to an ECS field as they are.
var cefSimple = map[string]string{
	"suid": "source.user.id", "sourceUserId": "source.user.id",
	"duid": "destination.user.id", "destinationUserId": "destination.user.id",
	"shost": "source.domain", "sourceHostName": "source.domain",
	"dhost": "destination.domain", "destinationHostName": "destination.domain",
	"smac": "source.mac", "sourceMacAddress": "source.mac",
	"dmac": "destination.mac", "destinationMacAddress": "destination.mac",
	"reason":  "event.reason",
	"request": "url.original", "requestUrl": "url.original",
	"requestMethod":            "http.request.method",
	"requestClientApplication": "user_agent.original",
	"fname":                    "file.name", "fileName": "file.name",
	"filePath": "file.path",
	"dvchost":  "observer.hostname", "deviceHostName": "observer.hostname",
	"deviceProcessName": "process.name", "sproc": "process.name",
}

func cefIP(f map[string]any, k, v string) {
	if _, err := netip.ParseAddr(v); err == nil {
		f[k] = v
	}
}

func cefNumber(f map[string]any, k, v string, max uint64) {
	if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64); err == nil && n <= max {
		f[k] = float64(n)
	}
}

// cefLabelName makes a custom field's label usable in a field name.
func cefLabelName(label string) string {
	label = strings.TrimSpace(label)
	if len(label) > 64 {
		label = label[:64]
	}
	b := []byte(label)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
}

// cefTime reads a CEF time: epoch milliseconds (or seconds, when too small
// to be milliseconds after 1973), RFC 3339, or "MMM dd [yyyy] HH:mm:ss[.SSS]
// [zone]".
func cefTime(v string, received time.Time) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, false
	}
	if syslogDigits(v) {
		if len(v) > 15 {
			return time.Time{}, false
		}
		n, _ := strconv.ParseUint(v, 10, 64)
		t, err := parseTime(float64(n))
		return t, err == nil
	}
	if len(v) >= 5 && syslogDigits(v[:4]) && v[4] == '-' {
		t, err := syslogRFC3339(v, "time")
		return t, err == nil
	}
	stamp, n, ok := syslogBSDStamp(v)
	if !ok {
		return time.Time{}, false
	}
	offset, ok := cefZone(strings.TrimSpace(v[n:]))
	if !ok {
		return time.Time{}, false
	}
	t, err := stamp.resolve(received)
	if err != nil {
		return time.Time{}, false
	}
	t, err = syslogInRange(t.Add(-offset), "time")
	return t, err == nil
}

// cefZone reads "", "UTC", "GMT", "Z", "+hh:mm", "+hhmm", "+hh", optionally
// after UTC or GMT.
func cefZone(z string) (time.Duration, bool) {
	for _, p := range [...]string{"UTC", "GMT", "Z"} {
		if r, ok := strings.CutPrefix(z, p); ok {
			z = r
			break
		}
	}
	if z == "" {
		return 0, true
	}
	sign := time.Duration(1)
	switch z[0] {
	case '+':
	case '-':
		sign = -1
	default:
		return 0, false
	}
	z = strings.Replace(z[1:], ":", "", 1)
	if !syslogDigits(z) || (len(z) != 2 && len(z) != 4) {
		return 0, false
	}
	hh, _ := syslogNum(z[:2], 2)
	mm := 0
	if len(z) == 4 {
		mm, _ = syslogNum(z[2:], 2)
	}
	if hh > 14 || mm > 59 {
		return 0, false
	}
	return sign * (time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute), true
}
