package ingest

// The mapping of a Windows event to ECS fields, the message, and the
// readers of the values the event may carry.

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	json "github.com/goccy/go-json"

	"github.com/minixdr/xdr/appliance"
)

// winOut sets normalised fields. With fill (Winlogbeat), only those not set
// already: the event's own ECS fields win over ours. Without (EVTX), the
// mapping sets each field once and none is there before.
type winOut struct {
	m    map[string]any
	fill bool
}

func (o winOut) str(k, v string) {
	if v == "" || v == "-" {
		return
	}
	if o.fill {
		if _, ok := o.m[k]; ok {
			return
		}
	}
	o.m[k] = v
}

// put sets a value as read, or its text.
func (o winOut) put(k string, x winVal) {
	if x.s == "" || x.s == "-" {
		return
	}
	if o.fill {
		if _, ok := o.m[k]; ok {
			return
		}
	}
	if x.v != nil {
		o.m[k] = x.v
	} else {
		o.m[k] = x.s
	}
}

func (o winOut) num(k string, v float64) {
	if o.fill {
		if _, ok := o.m[k]; ok {
			return
		}
	}
	o.m[k] = winNum(v)
}

func (o winOut) text(k string) string {
	s, _ := o.m[k].(string)
	return s
}

// normalise derives the ECS fields.
func (w *winEvent) normalise(fields map[string]any) {
	o := winOut{m: fields, fill: w.winlogbeat}
	w.class = winProviderOf(w.provider)
	w.sysmon = w.class == winSysmon || strings.EqualFold(w.channel, winSysmonChannel)
	code, ok := winCodes[w.eventID]
	if !ok {
		code = strconv.FormatUint(uint64(w.eventID), 10)
	}
	o.put("event.code", winVal{code.(string), code})
	fields["winlog.event_id"] = winNum(float64(w.eventID)) // one type whatever the shape
	if s, ok := fields["winlog.record_id"].(string); ok {
		if n, ok := winNumber(s); ok {
			fields["winlog.record_id"] = n
		}
	}
	o.put("event.provider", winVal{w.provider, w.providerV})
	o.put("winlog.channel", winVal{w.channel, w.channelV})
	o.put("host.name", winVal{w.computer, w.computerV})
	kind := w.kindOf()
	o.put("event.action", winVal{kind.actionText(), kind.action})
	o.put("event.category", winVal{kind.categoryText(), kind.category})

	// Outcome: what the event says, else the audit keywords.
	security := w.isSecurity()
	switch {
	case security && (w.eventID == 4625 || w.eventID == 4771):
		o.str("event.outcome", "failure")
	case security && w.eventID == 4624:
		o.str("event.outcome", "success")
	case w.auditFailure || w.haveKeywords && w.keywords&winAuditFailureBit != 0:
		o.str("event.outcome", "failure")
	case w.auditSuccess || w.haveKeywords && w.keywords&winAuditSuccessBit != 0:
		o.str("event.outcome", "success")
	}
	normaliseOutcome(fields)

	w.mapUser(o, security)
	w.mapNetwork(o)
	w.mapProcess(o, security)
	w.mapObjects(o)

	if lt, ok := w.num(wLogonType); ok {
		if i := int(lt); float64(i) == lt && i >= 0 && i < len(winLogonTypes) && winLogonTypes[i] != "" {
			o.str("winlog.logon.type", winLogonTypes[i])
		}
	}
	if security && winLogonEvents[w.eventID] {
		o.put("winlog.logon.id", w.get(wTargetLogonID))
	}
	if _, ok := fields["message"]; !ok {
		fields["message"] = w.message(o, code.(string), kind)
	}
}

func (w *winEvent) isSecurity() bool {
	return w.class == winSecurityAuditing || w.provider == "" && strings.EqualFold(w.channel, "Security")
}

// winVal is a value as text, with the value as read when it is that same
// string: storing it then allocates nothing.
type winVal struct {
	s string
	v any
}

// get returns a known name's value as text, "" for an absent, blank or "-"
// value.
func (w *winEvent) get(i int) winVal {
	v := w.val(i)
	s, isString := v.(string)
	if !isString {
		s, v = winText(v), nil
	}
	if s == "-" || strings.TrimSpace(s) == "" {
		return winVal{}
	}
	return winVal{s, v}
}

// num returns a known name's value as a number: JSON numbers, decimal or
// "0x" hex text.
func (w *winEvent) num(i int) (float64, bool) {
	return winNumber(w.val(i))
}

// winNullSID is the SID of no account (a failed logon's target, a logon's
// subject): not a user.id.
const winNullSID = "S-1-0-0"

// sid is the first of names that holds a SID other than the null SID.
func (w *winEvent) sid(names ...int) winVal {
	for _, n := range names {
		if x := w.get(n); x.s != "" && x.s != winNullSID {
			return x
		}
	}
	return winVal{}
}

func (w *winEvent) first(names ...int) winVal {
	for _, n := range names {
		if x := w.get(n); x.s != "" {
			return x
		}
	}
	return winVal{}
}

func (w *winEvent) mapUser(o winOut, security bool) {
	type account struct{ name, domain, sid winVal }
	var user, target account
	switch {
	case security && winLogonEvents[w.eventID]:
		user = account{w.get(wTargetUserName), w.get(wTargetDomainName), w.sid(wTargetUserSid, wTargetSid)}
		if user.name.s == "" && user.sid.s == "" {
			user = account{name: w.get(wAccountName), domain: w.get(wAccountDomain)}
		}
	case security && winGroupEvents[w.eventID]:
		user = account{w.get(wSubjectUserName), w.get(wSubjectDomainName), w.sid(wSubjectUserSid)}
		g := w.get(wTargetUserName)
		w.msg.group = g.s
		o.put("group.name", g)
		o.put("group.domain", w.get(wTargetDomainName))
		o.put("group.id", w.sid(wTargetSid, wTargetUserSid))
		if m := w.get(wMemberName); m.s != "" {
			target.name = m
			if cn, ok := strings.CutPrefix(m.s, "CN="); ok {
				target.name = winVal{s: winDNValue(cn)}
			}
		}
		target.sid = w.sid(wMemberSid)
	default:
		user = account{w.get(wSubjectUserName), w.get(wSubjectDomainName), w.sid(wSubjectUserSid)}
		if name := w.get(wTargetUserName); name.s != "" {
			target = account{name, w.get(wTargetDomainName), w.sid(wTargetUserSid, wTargetSid)}
		}
		if user.name.s == "" {
			if u := w.first(wUser, wSourceUser, wUserName); u.s != "" {
				user = account{name: u}
				if d, n, ok := strings.Cut(u.s, `\`); ok {
					user = account{name: winVal{s: n}, domain: winVal{s: d}}
				}
			}
		}
		if user.name.s == "" && user.sid.s == "" && target.name.s == "" && !w.sysmon && w.securityUserID != winNullSID {
			user.sid = winVal{s: w.securityUserID} // the account the event was logged for
		}
	}
	w.msg.user, w.msg.domain, w.msg.target = user.name.s, user.domain.s, target.name.s
	o.put("user.name", user.name)
	o.put("user.domain", user.domain)
	o.put("user.id", user.sid)
	o.put("user.target.name", target.name)
	o.put("user.target.domain", target.domain)
	o.put("user.target.id", target.sid)
}

// winDNValue is the first value of a distinguished name with its escapes
// ("\,") resolved.
func winDNValue(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case c == ',':
			return b.String()
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func (w *winEvent) mapNetwork(o winOut) {
	ip := func(field string, names ...int) string {
		for _, n := range names {
			if x := w.get(n); x.s != "" {
				if a, err := netip.ParseAddr(x.s); err == nil {
					if !a.Is4() { // an IPv4 address parses only in its canonical form
						x = winVal{s: a.Unmap().String()}
					}
					o.put(field, x)
					return x.s
				}
			}
		}
		return ""
	}
	port := func(field string, names ...int) float64 {
		for _, n := range names {
			if v, ok := w.num(n); ok && v > 0 && v <= 65535 && v == math.Trunc(v) {
				o.num(field, v)
				return v
			}
		}
		return 0
	}
	w.msg.src = ip("source.ip", wIPAddress, wSourceIP, wSourceAddress, wClientAddress)
	w.msg.srcPort = port("source.port", wIPPort, wSourcePort)
	w.msg.dst = ip("destination.ip", wDestinationIP, wDestAddress)
	w.msg.dstPort = port("destination.port", wDestinationPort, wDestPort)
	o.put("source.domain", w.first(wWorkstationName, wWorkstation, wClientName, wSourceHostname))
	o.put("destination.domain", w.get(wDestinationHostname))
	switch proto := w.get(wProtocol).s; proto {
	case "6":
		o.str("network.transport", "tcp")
	case "17":
		o.str("network.transport", "udp")
	case "1":
		o.str("network.transport", "icmp")
	case "tcp", "udp", "TCP", "UDP":
		o.str("network.transport", appliance.ToLower(proto))
	}
	if w.sysmon && w.eventID == 3 {
		switch winText(w.val(wInitiated)) {
		case "true":
			o.str("network.direction", "egress")
		case "false":
			o.str("network.direction", "ingress")
		}
	}
}

func (w *winEvent) mapProcess(o winOut, security bool) {
	firstNum := func(names ...int) (float64, bool) {
		for _, n := range names {
			if v, ok := w.num(n); ok && v > 0 { // 0: no process
				return v, true
			}
		}
		return 0, false
	}
	var exe, parent winVal
	var pid float64
	var havePID bool
	if security && w.eventID == 4688 {
		// The new process; ProcessId and ParentProcessName are its creator.
		exe = w.get(wNewProcessName)
		pid, havePID = firstNum(wNewProcessID)
		parent = w.get(wParentProcessName)
		if v, ok := firstNum(wProcessID); ok {
			o.num("process.parent.pid", v)
		}
	} else {
		exe = w.first(wImage, wSourceImage, wNewProcessName, wProcessName, wApplication)
		pid, havePID = firstNum(wProcessID, wSourceProcessID, wProcessIDUpper)
		parent = w.first(wParentImage, wParentProcessName)
		if v, ok := firstNum(wParentProcessID); ok {
			o.num("process.parent.pid", v)
		}
	}
	w.msg.objects[winObjExecutable] = exe.s
	o.put("process.executable", exe)
	o.str("process.name", winBase(exe.s))
	if havePID {
		o.num("process.pid", pid)
	}
	o.put("process.parent.executable", parent)
	o.str("process.parent.name", winBase(parent.s))
	cmd := w.get(wCommandLine)
	w.msg.objects[winObjCommandLine] = cmd.s
	o.put("process.command_line", cmd)
	o.put("process.parent.command_line", w.get(wParentCommandLine))
	o.put("process.working_directory", w.get(wCurrentDirectory))
	o.put("process.entity_id", w.first(wProcessGUID, wSourceProcessGUID, wSourceProcessGUIDUpper))
	o.put("process.parent.entity_id", w.get(wParentProcessGUID))
}

func (w *winEvent) mapObjects(o winOut) {
	path := w.first(wTargetFilename, wImageLoaded)
	reg, dns, svc, script := w.get(wTargetObject), w.get(wQueryName), w.get(wServiceName), w.get(wScriptBlockText)
	w.msg.objects[winObjFile], w.msg.objects[winObjRegistry], w.msg.objects[winObjDNS] = path.s, reg.s, dns.s
	w.msg.objects[winObjService], w.msg.objects[winObjScript] = svc.s, script.s
	o.put("file.path", path)
	if w.sysmon && (w.eventID == 17 || w.eventID == 18) {
		o.put("file.name", w.get(wPipeName))
	} else {
		o.str("file.name", winBase(path.s))
	}
	o.put("registry.path", reg)
	o.put("dns.question.name", dns)
	o.put("service.name", svc)
	o.put("powershell.file.script_block_text", script)
	o.put("powershell.file.script_block_id", w.get(wScriptBlockID))
	if h := w.first(wHashes, wHash); h.s != "" {
		group := "file"
		if !w.sysmon || w.eventID == 1 {
			group = "process"
		}
		winHashes(o, group, h.s)
	}
}

// winHashFields are the fields of Sysmon's hash algorithms, per group.
var winHashFields = func() map[string]map[string]string {
	m := map[string]map[string]string{}
	for _, group := range []string{"process", "file"} {
		m[group] = map[string]string{
			"md5": group + ".hash.md5", "sha1": group + ".hash.sha1", "sha256": group + ".hash.sha256",
			"sha384": group + ".hash.sha384", "sha512": group + ".hash.sha512", "imphash": group + ".pe.imphash",
		}
	}
	return m
}()

// winHashes maps Sysmon's "SHA1=...,MD5=...,SHA256=...,IMPHASH=..." to
// <group>.hash.<algorithm> (and <group>.pe.imphash), lower-cased.
func winHashes(o winOut, group, s string) {
	fields := winHashFields[group]
	s = appliance.ToLower(s) // once for all
	for len(s) > 0 {
		var part string
		part, s, _ = strings.Cut(s, ",")
		algo, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || val == "" {
			continue
		}
		if field, ok := fields[algo]; ok {
			o.str(field, val)
		}
	}
}

// winBase is the last element of a Windows or Unix path.
func winBase(p string) string {
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		return p[i+1:]
	}
	return p
}

// winMsg holds what message names, as the mapping set it.
type winMsg struct {
	user, domain, target, group, src, dst string
	srcPort, dstPort                      float64 // 0: none
	objects                               [7]string
}

// The objects message may name: the first present.
const (
	winObjDNS = iota
	winObjRegistry
	winObjFile
	winObjCommandLine
	winObjExecutable
	winObjService
	winObjScript
)

var winObjectFields = [7]string{"dns.question.name", "registry.path", "file.path", "process.command_line",
	"process.executable", "service.name", "powershell.file.script_block_text"}

// message is a short human line: "4625 logon-failed: administrator from
// 10.0.0.5".
func (w *winEvent) message(o winOut, code string, kind winKind) string {
	m := &w.msg
	if o.fill { // the event's own fields count
		m = &winMsg{user: o.text("user.name"), domain: o.text("user.domain"), target: o.text("user.target.name"),
			group: o.text("group.name"), src: o.text("source.ip"), dst: o.text("destination.ip")}
		m.srcPort, _ = o.m["source.port"].(float64)
		m.dstPort, _ = o.m["destination.port"].(float64)
		for i, k := range winObjectFields {
			m.objects[i] = o.text(k)
		}
	}
	var b strings.Builder
	b.Grow(128)
	b.WriteString(code)
	b.WriteByte(' ')
	switch {
	case kind.action != nil:
		b.WriteString(kind.actionText())
	case w.provider != "":
		b.WriteString(truncate(w.provider, 80))
	default:
		b.WriteString("event")
	}
	n := b.Len()
	add := func(prefix, s string) {
		if s == "" {
			return
		}
		if b.Len() == n {
			b.WriteString(": ")
		} else {
			b.WriteByte(' ')
		}
		b.WriteString(prefix)
		b.WriteString(truncate(s, winMaxMessagePart))
	}
	if m.user != "" && m.domain != "" && w.sysmon {
		add("", m.domain+`\`+m.user)
	} else {
		add("", m.user)
	}
	add("-> ", m.target)
	add("group ", m.group)
	endpoint := func(ip string, port float64) string {
		if ip == "" || port == 0 {
			return ip
		}
		if strings.Contains(ip, ":") {
			ip = "[" + ip + "]"
		}
		return ip + ":" + strconv.FormatFloat(port, 'f', -1, 64)
	}
	add("from ", endpoint(m.src, m.srcPort))
	add("to ", endpoint(m.dst, m.dstPort))
	if c := kind.categoryText(); c != "authentication" && c != "iam" && c != "session" {
		for _, s := range m.objects {
			if s != "" {
				add("", winOneLine(s))
				break
			}
		}
	}
	return b.String()
}

// winOneLine is the first line of s (script blocks span many).
func winOneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return strings.TrimSpace(s[:i]) + " …"
	}
	return s
}

// winAttr returns an element's attribute or child: a plain member, else one
// under "#attributes"; an element {"#text": v} gives v.
func winAttr(m map[string]any, name string) any {
	v, ok := m[name]
	if !ok {
		if a, ok := m["#attributes"].(map[string]any); ok {
			v = a[name]
		}
	}
	if e, ok := v.(map[string]any); ok {
		if t, ok := e["#text"]; ok {
			return t
		}
	}
	return v
}

// winEventID reads an event number: a JSON number, decimal text, or an
// element whose Value is one.
func winEventID(v any) (uint32, bool) {
	switch v := v.(type) {
	case map[string]any:
		if t, ok := v["Value"]; ok {
			return winEventID(t)
		}
		return 0, false
	case string:
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
		return uint32(n), err == nil
	}
	f, ok := winNumber(v)
	if !ok || f < 0 || f > math.MaxUint32 || f != math.Trunc(f) {
		return 0, false
	}
	return uint32(f), true
}

// winNumber reads a number: a JSON number, or decimal or "0x" hex integer
// text.
func winNumber(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case json.Number:
		f, err := v.Float64()
		return f, err == nil && !math.IsInf(f, 0)
	case string:
		s := strings.TrimSpace(v)
		if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
			n, err := strconv.ParseUint(s[2:], 16, 64)
			return float64(n), err == nil
		}
		n, err := strconv.ParseUint(s, 10, 64)
		return float64(n), err == nil
	}
	return 0, false
}

// winKeywords reads the Keywords bit mask: "0x8020000000000000" (exactly:
// a float64 would lose the low bits) or a number.
func winKeywords(v any) (uint64, bool) {
	if s, ok := v.(string); ok {
		s = strings.TrimSpace(s)
		if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
			n, err := strconv.ParseUint(s[2:], 16, 64)
			return n, err == nil
		}
		n, err := strconv.ParseUint(s, 10, 64)
		return n, err == nil
	}
	f, ok := winNumber(v)
	if !ok || f < 0 || f >= 1<<64 {
		return 0, false
	}
	return uint64(f), true
}

// winTextV is winText, with v itself when it is a string.
func winTextV(v any) (string, any) {
	if s, ok := v.(string); ok {
		return s, v
	}
	return winText(v), nil
}

// winText is a scalar's text: strings as they are, numbers in decimal.
func winText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

func winFirstText(f map[string]any, keys ...string) string {
	for _, k := range keys {
		if s := winText(f[k]); s != "" {
			return s
		}
	}
	return ""
}

// winPutScalar stores a non-empty scalar.
func winPutScalar(f map[string]any, k string, v any) {
	switch x := v.(type) {
	case nil:
	case string:
		if x != "" {
			f[k] = v // as scalar would, without boxing it again
		}
	case float64, bool:
		f[k] = v
	default:
		if s, ok := scalar(v); ok && s != "" {
			f[k] = s
		}
	}
}

// winQuote renders a refused value for an error message.
func winQuote(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(truncate(v, 64))
	case map[string]any:
		return "(an object)"
	case []any:
		return "(a list)"
	case nil:
		return "null"
	}
	return truncate(winText(v), 64)
}

// winTime reads TimeCreated.SystemTime: RFC 3339 with any number of
// fraction digits (EVTX has 7), a space for the T, or no zone (it is UTC).
func winTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		t, err := parseTime(v)
		if err != nil {
			return t, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "@timestamp "))
		}
		return t, nil
	}
	return winTimeText(s)
}

// winTimeText is winTime of text.
func winTimeText(s string) (time.Time, error) {
	orig := s
	if len(s) > 10 && s[10] == ' ' {
		s = s[:10] + "T" + s[11:]
	}
	if !winHasZone(s) {
		s += "Z"
	}
	t, err := parseTime(s)
	if err != nil {
		if strings.Contains(err.Error(), "outside") {
			return t, fmt.Errorf("%q is outside 1970-2261", truncate(orig, 64))
		}
		return t, fmt.Errorf("%q is not an RFC 3339 time", truncate(orig, 64))
	}
	return t, nil
}

func winHasZone(s string) bool {
	n := len(s)
	if n == 0 {
		return false
	}
	if s[n-1] == 'Z' || s[n-1] == 'z' {
		return true
	}
	return n >= 25 && (s[n-6] == '+' || s[n-6] == '-') && s[n-3] == ':'
}
