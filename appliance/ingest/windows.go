package ingest

// Parsers of the "windows" and "sysmon" sources: Windows event log records
// as JSON, in the shape of an EVTX-to-JSON converter (evtx_dump, Velocidex:
// {"Event":{"System":{...},"EventData":{...}}}), of Winlogbeat (winlog.*,
// @timestamp and the ECS fields Winlogbeat sets itself), or of NXLog's
// to_json (flat: windows_nxlog.go).
//
// Two readers produce the same result. The reference one decodes the line
// with decodeObject into generic values. The fast one (winFast) reads the
// line in a single pass, validating it as JSON, without building the
// generic tree; it declines anything unusual (and every line in error), and
// the reference reader takes the line then. FuzzParseWindows checks that
// whenever the fast reader accepts a line, the result equals the reference.

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/minixdr/xdr/appliance"
)

// ParseWindows is the parser of the "windows" source. Every EventData (and
// UserData) field is kept as winlog.event_data.<Name> (winlog.user_data.<Name>)
// with its value as sent, next to the ECS fields derived from it.
func ParseWindows(line []byte, _ time.Time) (Parsed, error) {
	p, _, err := parseWindows(line)
	return p, err
}

// ParseSysmon is the parser of the "sysmon" source: ParseWindows restricted
// to events of the Microsoft-Windows-Sysmon provider (or its Operational
// channel).
func ParseSysmon(line []byte, _ time.Time) (Parsed, error) {
	p, w, err := parseWindows(line)
	if err != nil {
		return Parsed{}, err
	}
	if !w.sysmon {
		return Parsed{}, fmt.Errorf("not a Sysmon event: provider %q, channel %q (the sysmon source takes Microsoft-Windows-Sysmon events; send others to the windows source)",
			truncate(w.provider, 64), truncate(w.channel, 64))
	}
	return p, nil
}

// winInfo is what ParseSysmon needs to know of a parsed event.
type winInfo struct {
	provider, channel string
	sysmon            bool
}

// winState is the working memory of one parse, reused through winPool.
type winState struct {
	w                  winEvent
	keys               []string
	pending            []winPending
	arena, path        []byte
	keysUsed, pendUsed int // how much of keys and pending to clear
	// vals are short string values boxed once (internValue): levels,
	// channels, providers, hosts and users repeat from event to event.
	vals map[string]any
}

var winPool = sync.Pool{New: func() any {
	return &winState{keys: make([]string, 0, 48), pending: make([]winPending, 0, 48)}
}}

// release returns st to the pool without references to the line.
func (st *winState) release() {
	st.w = winEvent{}
	clear(st.keys[:st.keysUsed])
	clear(st.pending[:st.pendUsed])
	st.keysUsed, st.pendUsed = 0, 0
	if cap(st.keys) > 1024 || cap(st.pending) > 1024 || cap(st.arena) > 1<<16 || cap(st.path) > 1<<12 {
		return // an outsized line: let its memory go
	}
	winPool.Put(st)
}

func parseWindows(line []byte) (Parsed, winInfo, error) {
	st := winPool.Get().(*winState)
	defer st.release()
	p, ok := winFast(line, st)
	if !ok {
		st.w = winEvent{}
		var err error
		if p, err = parseWindowsRef(line, &st.w); err != nil {
			return Parsed{}, winInfo{}, err
		}
	}
	return p, winInfo{st.w.provider, st.w.channel, st.w.sysmon}, nil
}

// parseWindowsRef is the reference reader.
func parseWindowsRef(line []byte, w *winEvent) (Parsed, error) {
	obj, err := decodeObject(line)
	if err != nil {
		return Parsed{}, err
	}
	p := Parsed{}
	switch ev, isEvent := obj["Event"]; {
	case isEvent:
		m, ok := ev.(map[string]any)
		if !ok {
			return Parsed{}, fmt.Errorf("not a Windows event: Event is not a JSON object")
		}
		err = w.fromEvtx(m, &p, winNameBudget(line))
	case obj["System"] != nil:
		// The Event element's content without its wrapper.
		err = w.fromEvtx(obj, &p, winNameBudget(line))
	case winHasWinlog(obj):
		err = w.fromWinlogbeat(obj, &p, winNameBudget(line))
	case winIsNXLog(obj):
		err = w.fromNXLog(obj, &p, winNameBudget(line))
	default:
		err = fmt.Errorf("not a Windows event: neither Event.System, winlog nor NXLog's EventID with SourceName or Channel")
	}
	if err != nil {
		return Parsed{}, err
	}
	w.normalise(p.Fields)
	p.Original = winOriginal(line)
	return p, nil
}

// winOriginal is the line as stored: trimmed and valid UTF-8. Like
// ParseJSON's, it shares line's memory.
func winOriginal(line []byte) []byte {
	line = bytes.TrimSpace(line)
	if !utf8.Valid(line) {
		return bytes.ToValidUTF8(line, []byte("\uFFFD"))
	}
	return line
}

const (
	winSysmonProvider  = "Microsoft-Windows-Sysmon"
	winSysmonChannel   = "Microsoft-Windows-Sysmon/Operational"
	winAuditFailureBit = 0x0010000000000000 // Keywords: Audit Failure
	winAuditSuccessBit = 0x0020000000000000 // Keywords: Audit Success
	winMaxMessagePart  = 200                // bytes of one value quoted in message
	winEventDataPrefix = "winlog.event_data."
	winUserDataPrefix  = "winlog.user_data."
)

// winEvent is what both shapes have in common, read before mapping to ECS.
type winEvent struct {
	provider, channel, computer    string
	providerV, channelV, computerV any // the same, as read, when a string
	eventID                        uint32
	keywords                       uint64 // only the audit bits matter
	haveKeywords                   bool
	auditSuccess, auditFailure     bool   // Winlogbeat's winlog.keywords names
	securityUserID                 string // System.Security.UserID
	sysmon                         bool
	class                          int    // of the provider: winSysmon, ...
	winlogbeat                     bool   // the Winlogbeat shape
	msg                            winMsg // what message names
	// vals and uvals are the EventData and UserData values of the names
	// the mapping reads (winNames); EventData's win.
	vals  [winNumNames]any
	uvals *[winNumNames]any
}

// Names of EventData fields the mapping reads.
const (
	wTargetUserName = iota
	wTargetDomainName
	wTargetUserSid
	wTargetSid
	wTargetLogonID
	wSubjectUserName
	wSubjectDomainName
	wSubjectUserSid
	wAccountName
	wAccountDomain
	wMemberName
	wMemberSid
	wUser
	wSourceUser
	wUserName
	wLogonType
	wIPAddress
	wIPPort
	wSourceIP
	wSourceAddress
	wClientAddress
	wSourcePort
	wDestinationIP
	wDestAddress
	wDestinationPort
	wDestPort
	wWorkstationName
	wWorkstation
	wClientName
	wSourceHostname
	wDestinationHostname
	wProtocol
	wInitiated
	wNewProcessName
	wNewProcessID
	wParentProcessName
	wProcessID
	wProcessIDUpper
	wImage
	wSourceImage
	wProcessName
	wApplication
	wSourceProcessID
	wParentImage
	wParentProcessID
	wCommandLine
	wParentCommandLine
	wCurrentDirectory
	wProcessGUID
	wSourceProcessGUID
	wSourceProcessGUIDUpper
	wParentProcessGUID
	wTargetFilename
	wImageLoaded
	wPipeName
	wTargetObject
	wQueryName
	wServiceName
	wScriptBlockText
	wScriptBlockID
	wHashes
	wHash
	winNumNames
)

var winNames = [winNumNames]string{
	wTargetUserName: "TargetUserName", wTargetDomainName: "TargetDomainName", wTargetUserSid: "TargetUserSid",
	wTargetSid: "TargetSid", wTargetLogonID: "TargetLogonId", wSubjectUserName: "SubjectUserName",
	wSubjectDomainName: "SubjectDomainName", wSubjectUserSid: "SubjectUserSid", wAccountName: "AccountName",
	wAccountDomain: "AccountDomain", wMemberName: "MemberName", wMemberSid: "MemberSid", wUser: "User",
	wSourceUser: "SourceUser", wUserName: "UserName", wLogonType: "LogonType", wIPAddress: "IpAddress",
	wIPPort: "IpPort", wSourceIP: "SourceIp", wSourceAddress: "SourceAddress", wClientAddress: "ClientAddress",
	wSourcePort: "SourcePort", wDestinationIP: "DestinationIp", wDestAddress: "DestAddress",
	wDestinationPort: "DestinationPort", wDestPort: "DestPort", wWorkstationName: "WorkstationName",
	wWorkstation: "Workstation", wClientName: "ClientName", wSourceHostname: "SourceHostname",
	wDestinationHostname: "DestinationHostname", wProtocol: "Protocol", wInitiated: "Initiated",
	wNewProcessName: "NewProcessName", wNewProcessID: "NewProcessId", wParentProcessName: "ParentProcessName",
	wProcessID: "ProcessId", wProcessIDUpper: "ProcessID", wImage: "Image", wSourceImage: "SourceImage",
	wProcessName: "ProcessName", wApplication: "Application", wSourceProcessID: "SourceProcessId",
	wParentImage: "ParentImage", wParentProcessID: "ParentProcessId", wCommandLine: "CommandLine",
	wParentCommandLine: "ParentCommandLine", wCurrentDirectory: "CurrentDirectory", wProcessGUID: "ProcessGuid",
	wSourceProcessGUID: "SourceProcessGuid", wSourceProcessGUIDUpper: "SourceProcessGUID",
	wParentProcessGUID: "ParentProcessGuid", wTargetFilename: "TargetFilename", wImageLoaded: "ImageLoaded",
	wPipeName: "PipeName", wTargetObject: "TargetObject", wQueryName: "QueryName", wServiceName: "ServiceName",
	wScriptBlockText: "ScriptBlockText", wScriptBlockID: "ScriptBlockId", wHashes: "Hashes", wHash: "Hash",
}

// winCommonNames are other frequent EventData names, whose field names are
// made once rather than per event.
var winCommonNames = [...]string{
	"SubjectLogonId", "UtcTime", "RuleName", "ObjectType", "AccessMask", "FileVersion", "Description",
	"Product", "Company", "AccessList", "AccessReason", "LogonGuid", "ShareName", "ShareLocalPath",
	"RelativeTargetName", "LogonId", "TerminalSessionId", "IntegrityLevel", "ObjectServer", "HandleId",
	"ObjectName", "TokenElevationType", "PrivilegeList", "OriginalFileName", "Signed", "Signature",
	"SignatureStatus", "EventType", "Details", "Status", "SubStatus", "FailureReason", "TransmittedServices",
	"CreationUtcTime", "TicketOptions", "LogonProcessName", "AuthenticationPackageName", "LmPackageName",
	"KeyLength", "PreAuthType", "TicketEncryptionType", "ServiceSid", "SourceThreadId", "TargetProcessId",
	"TargetImage", "TargetProcessGUID", "TargetProcessGuid", "GrantedAccess", "CallTrace", "SourceIsIpv6",
	"DestinationIsIpv6", "SourcePortName", "DestinationPortName", "ParentUser", "QueryStatus", "QueryResults",
	"ImagePath", "ServiceType", "StartType", "ServiceFileName", "ServiceStartType", "ServiceAccount",
	"MessageNumber", "MessageTotal", "Path", "ImpersonationLevel", "RestrictedAdminMode", "VirtualAccount",
	"ElevatedToken", "TargetLinkedLogonId", "TargetOutboundUserName", "TargetOutboundDomainName",
	"NetworkAccountName", "NetworkAccountDomain", "Direction", "FilterRTID", "LayerName", "LayerRTID",
	"RemoteUserID", "RemoteMachineID", "SamAccountName", "DisplayName", "UserPrincipalName", "SidHistory",
	"Data", "Binary", "param1", "param2", "param3", "Properties", "OperationType", "TaskName", "TaskContent",
}

// winDataKey is what is known of an EventData name.
type winDataKey struct {
	idx   int    // in winNames, or -1
	field string // winlog.event_data.<Name>
}

var winDataKeys = func() map[string]winDataKey {
	m := make(map[string]winDataKey, len(winNames)+len(winCommonNames))
	for _, n := range winCommonNames {
		m[n] = winDataKey{-1, winEventDataPrefix + n}
	}
	for i, n := range winNames {
		m[n] = winDataKey{i, winEventDataPrefix + n}
	}
	return m
}()

func winDataKeyOf(name string) winDataKey {
	if k, ok := winDataKeyTable.find(name); ok {
		return k
	}
	return winDataKey{-1, winEventDataPrefix + name}
}

// winNameTable finds the names of winDataKeys faster than a map: a cheap
// hash of a few bytes, open addressing.
type winNameTable struct {
	names [1024]string
	keys  [1024]winDataKey
}

func winNameHash(s string) uint {
	n := uint(len(s))
	if n == 0 {
		return 0
	}
	return (n*0x9e37 ^ uint(s[0])*0x85eb ^ uint(s[n-1])*0xc2b3 ^ uint(s[n/2])*0x27d4 ^ uint(s[n/3])*0x1657) & 1023
}

func (t *winNameTable) find(s string) (winDataKey, bool) {
	for i := winNameHash(s); t.names[i] != ""; i = (i + 1) & 1023 {
		if t.names[i] == s {
			return t.keys[i], true
		}
	}
	return winDataKey{}, false
}

func (t *winNameTable) findBytes(b []byte) (winDataKey, bool) {
	n := uint(len(b))
	if n == 0 {
		return t.find("")
	}
	h := (n*0x9e37 ^ uint(b[0])*0x85eb ^ uint(b[n-1])*0xc2b3 ^ uint(b[n/2])*0x27d4 ^ uint(b[n/3])*0x1657) & 1023
	for i := h; t.names[i] != ""; i = (i + 1) & 1023 {
		if t.names[i] == string(b) {
			return t.keys[i], true
		}
	}
	return winDataKey{}, false
}

var winDataKeyTable = func() *winNameTable {
	t := new(winNameTable)
	for name, k := range winDataKeys {
		i := winNameHash(name)
		for t.names[i] != "" {
			i = (i + 1) & 1023
		}
		t.names[i], t.keys[i] = name, k
	}
	return t
}()

// winSystemRec holds Event.System's values as read, nil when absent or
// null; both readers fill it and fromSystem maps it.
type winSystemRec struct {
	eventID, providerName, providerSource, channel, computer, recordID, keywords, systemTime, userID any
	// The fast reader's EventID when a JSON number, and SystemTime when a
	// string, without boxing them (eventID and systemTime are nil then).
	eventIDNum     float64
	haveEventIDNum bool
	systemTimeText string
	haveTimeText   bool
}

// fromSystem maps Event.System.
func (w *winEvent) fromSystem(r *winSystemRec, f map[string]any, p *Parsed) error {
	idv := r.eventID
	if r.haveEventIDNum {
		idv = r.eventIDNum
	}
	if idv == nil {
		return fmt.Errorf("Event.System.EventID missing")
	}
	id, ok := winEventID(idv)
	if !ok {
		return fmt.Errorf("Event.System.EventID %s is not an event number", winQuote(idv))
	}
	w.eventID = id
	w.provider, w.providerV = winTextV(r.providerName)
	if w.provider == "" {
		w.provider, w.providerV = winTextV(r.providerSource)
	}
	w.channel, w.channelV = winTextV(r.channel)
	w.computer, w.computerV = winTextV(r.computer)
	w.securityUserID = winText(r.userID)
	if r.haveTimeText {
		ts, err := winTimeText(r.systemTimeText)
		if err != nil {
			return fmt.Errorf("Event.System.TimeCreated.SystemTime %w", err)
		}
		p.Timestamp = ts
	} else if r.systemTime != nil {
		ts, err := winTime(r.systemTime)
		if err != nil {
			return fmt.Errorf("Event.System.TimeCreated.SystemTime %w", err)
		}
		p.Timestamp = ts
	}
	if r.recordID != nil {
		if _, ok := r.recordID.(float64); ok {
			f["winlog.record_id"] = r.recordID
		} else if n, ok := winNumber(r.recordID); ok {
			f["winlog.record_id"] = n
		} else {
			winPutScalar(f, "winlog.record_id", r.recordID)
		}
	}
	if r.keywords != nil {
		winPutScalar(f, "winlog.keywords", r.keywords)
		w.keywords, w.haveKeywords = winKeywords(r.keywords)
	}
	winPutScalar(f, "winlog.user.identifier", w.securityUserID)
	return nil
}

func (w *winEvent) setData(idx int, v any) {
	if idx >= 0 {
		w.vals[idx] = v
	}
}

// val is the value of a known name: EventData's, else UserData's.
func (w *winEvent) val(i int) any {
	if v := w.vals[i]; v != nil || w.uvals == nil {
		return v
	}
	return w.uvals[i]
}

func (w *winEvent) setUserData(idx int, v any) {
	if idx >= 0 {
		if w.uvals == nil {
			w.uvals = new([winNumNames]any)
		}
		w.uvals[idx] = v
	}
}

func winHasWinlog(obj map[string]any) bool {
	if _, ok := obj["winlog"].(map[string]any); ok {
		return true
	}
	for k := range obj {
		if strings.HasPrefix(k, "winlog.") {
			return true
		}
	}
	return false
}

// fromEvtx reads the Event element as EVTX converters render it. Attributes
// are either plain members (Velocidex: "Provider":{"Name":...}) or under
// "#attributes" (evtx_dump), element text either the value or "#text".
func (w *winEvent) fromEvtx(ev map[string]any, p *Parsed, budget int) error {
	sysv, ok := ev["System"]
	if !ok || sysv == nil {
		return fmt.Errorf("Event.System missing")
	}
	sys, ok := sysv.(map[string]any)
	if !ok {
		return fmt.Errorf("Event.System is not a JSON object")
	}
	var r winSystemRec
	r.eventID = winAttr(sys, "EventID")
	switch pv := winAttr(sys, "Provider").(type) {
	case map[string]any:
		r.providerName = winAttr(pv, "Name")
		r.providerSource = winAttr(pv, "EventSourceName")
	default:
		r.providerName = pv
	}
	r.channel = winAttr(sys, "Channel")
	r.computer = winAttr(sys, "Computer")
	r.recordID = winAttr(sys, "EventRecordID")
	r.keywords = winAttr(sys, "Keywords")
	if tc := winAttr(sys, "TimeCreated"); tc != nil {
		r.systemTime = tc
		if m, ok := tc.(map[string]any); ok {
			r.systemTime = winAttr(m, "SystemTime")
		}
	}
	if sec, ok := winAttr(sys, "Security").(map[string]any); ok {
		r.userID = winAttr(sec, "UserID")
	}

	f := make(map[string]any, 64)
	p.Fields = f
	if err := w.fromSystem(&r, f, p); err != nil {
		return err
	}

	var data map[string]any
	switch ed := ev["EventData"].(type) {
	case map[string]any:
		data = winEventData(ed)
	case nil:
	default:
		if s, ok := scalar(ed); ok {
			data = map[string]any{"Data": s}
		}
	}
	ud, _ := ev["UserData"].(map[string]any)
	var udata map[string]any
	if ud != nil {
		udata = winUserData(ud, f)
	}
	for k, v := range data {
		budget = winNameBytes(len(winEventDataPrefix)+len(k), v, 2, budget)
	}
	for k, v := range udata {
		budget = winNameBytes(len(winUserDataPrefix)+len(k), v, 3, budget)
	}
	if budget < 0 {
		return errWinNames
	}
	for k, v := range data {
		key := winDataKeyOf(k)
		if err := flatten(f, key.field, v, 2); err != nil {
			return err
		}
		w.setData(key.idx, v)
	}
	if ud != nil {
		for k, v := range udata {
			if err := flatten(f, winUserDataPrefix+k, v, 3); err != nil {
				return err
			}
			w.setUserData(winDataKeyOf(k).idx, v)
		}
	}
	return nil
}

// errWinNames refuses a line whose flattened field names would be far
// larger than the line: objects nested under long names repeat them in
// every field.
var errWinNames = fmt.Errorf("field names too long: objects nested under long names would make names several times the line's size")

// winNameBudget is how many bytes of field names a line may make.
func winNameBudget(line []byte) int { return 4*len(line) + 4096 }

// winNameBytes takes from budget the bytes of the field names flatten
// makes of v under a name of n bytes at depth (what flatten refuses as too
// deep is not counted).
func winNameBytes(n int, v any, depth, budget int) int {
	m, ok := v.(map[string]any)
	if !ok {
		return budget - n
	}
	if depth > maxDepth {
		return budget
	}
	for k, sub := range m {
		if budget = winNameBytes(n+1+len(k), sub, depth+1, budget); budget < 0 {
			return budget
		}
	}
	return budget
}

// winEventData returns EventData as name -> value. Named data that a
// converter left as a list ("Data":[{"@Name":"X","#text":"v"},...]) is turned
// into names; unnamed data stays the list "Data".
func winEventData(ed map[string]any) map[string]any {
	list, ok := ed["Data"].([]any)
	if !ok {
		if m, ok := ed["Data"].(map[string]any); ok && winDataName(m) == "" {
			if t, ok := m["#text"]; ok {
				ed["Data"] = t // evtx_dump: unnamed data as {"#text": ...}
			}
		}
		delete(ed, "#attributes")
		for k, v := range ed {
			if m, ok := v.(map[string]any); ok {
				if t, ok := m["#text"]; ok {
					ed[k] = t
				}
			}
		}
		return ed
	}
	named := 0
	for _, e := range list {
		if m, ok := e.(map[string]any); ok && winDataName(m) != "" {
			named++
		}
	}
	if named == 0 {
		return ed
	}
	out := make(map[string]any, len(ed)+len(list))
	for k, v := range ed {
		if k != "Data" && k != "#attributes" {
			out[k] = v
		}
	}
	var unnamed []any
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			unnamed = append(unnamed, e)
			continue
		}
		name := winDataName(m)
		var v any
		for _, tk := range [...]string{"#text", "text", "Value", "value"} {
			if t, ok := m[tk]; ok {
				v = t
				break
			}
		}
		if name == "" {
			if v != nil {
				unnamed = append(unnamed, v)
			}
			continue
		}
		if v == nil {
			v = "" // <Data Name="X"/>: present and empty
		}
		out[name] = v
	}
	if len(unnamed) > 0 {
		out["Data"] = unnamed
	}
	return out
}

func winDataName(m map[string]any) string {
	for _, k := range [...]string{"@Name", "Name", "name"} {
		if s, ok := m[k].(string); ok {
			return s
		}
	}
	if a, ok := m["#attributes"].(map[string]any); ok {
		s, _ := a["Name"].(string)
		return s
	}
	return ""
}

// winUserData returns the fields of UserData's single element
// (<UserData><LogFileCleared ...>), noting the element's name, without the
// XML namespace declarations.
func winUserData(ud map[string]any, f map[string]any) map[string]any {
	inner := ud
	if len(ud) == 1 {
		for k, v := range ud {
			if m, ok := v.(map[string]any); ok {
				f["winlog.user_data.xml_name"] = k
				inner = m
			}
		}
	}
	out := make(map[string]any, len(inner))
	for k, v := range inner {
		if strings.HasPrefix(k, "xmlns") || k == "#attributes" {
			continue
		}
		if m, ok := v.(map[string]any); ok {
			if t, ok := m["#text"]; ok {
				v = t
			}
		}
		out[k] = v
	}
	return out
}

// fromWinlogbeat reads a Winlogbeat event: ECS groups (nested or dotted)
// become fields as in ParseJSON, winlog.* among them.
func (w *winEvent) fromWinlogbeat(obj map[string]any, p *Parsed, budget int) error {
	f := make(map[string]any, 64)
	p.Fields = f
	for k, v := range obj {
		if group, _, _ := strings.Cut(k, "."); ecsGroups[group] {
			budget = winNameBytes(len(k), v, 0, budget)
		}
	}
	if budget < 0 {
		return errWinNames
	}
	for _, dotted := range [2]bool{false, true} {
		for k, v := range obj {
			if strings.Contains(k, ".") != dotted {
				continue
			}
			if k == appliance.FieldTimestamp {
				ts, err := parseTime(v)
				if err != nil {
					return err
				}
				p.Timestamp = ts
				continue
			}
			group, _, _ := strings.Cut(k, ".")
			if ecsGroups[group] {
				if err := flatten(f, k, v, 0); err != nil {
					return err
				}
			}
		}
	}
	return w.fromWinlogbeatFields(f, true)
}

// fromWinlogbeatFields reads the flattened winlog.* fields; with data, the
// EventData and UserData values too (the fast reader has them already).
func (w *winEvent) fromWinlogbeatFields(f map[string]any, data bool) error {
	idv, ok := f["winlog.event_id"]
	name := "winlog.event_id"
	if !ok {
		idv, ok = f["event.code"]
		name = "event.code"
	}
	if !ok {
		return fmt.Errorf("winlog.event_id missing")
	}
	id, ok := winEventID(idv)
	if !ok {
		return fmt.Errorf("%s %s is not an event number", name, winQuote(idv))
	}
	w.eventID = id
	w.winlogbeat = true
	w.provider = winFirstText(f, "winlog.provider_name", "event.provider")
	w.channel = winFirstText(f, "winlog.channel")
	w.computer = winFirstText(f, "winlog.computer_name")
	w.securityUserID = winFirstText(f, "winlog.user.identifier")
	switch kw := f["winlog.keywords"].(type) {
	case []any:
		for _, e := range kw {
			s, _ := e.(string)
			w.auditSuccess = w.auditSuccess || strings.EqualFold(s, "Audit Success")
			w.auditFailure = w.auditFailure || strings.EqualFold(s, "Audit Failure")
		}
	case string:
		if w.keywords, w.haveKeywords = winKeywords(kw); !w.haveKeywords {
			w.auditSuccess = strings.EqualFold(kw, "Audit Success")
			w.auditFailure = strings.EqualFold(kw, "Audit Failure")
		}
	}
	if !data {
		return nil
	}
	for k, v := range f {
		if name, ok := strings.CutPrefix(k, winEventDataPrefix); ok {
			if key, ok := winDataKeys[name]; ok {
				w.setData(key.idx, v)
			}
		} else if name, ok := strings.CutPrefix(k, winUserDataPrefix); ok {
			if key, ok := winDataKeys[name]; ok {
				w.setUserData(key.idx, v)
			}
		}
	}
	return nil
}
