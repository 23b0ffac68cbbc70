package ingest

// Parsers of the "windows" and "sysmon" sources: Windows event log records
// as JSON, in the shape of an EVTX-to-JSON converter (evtx_dump, Velocidex:
// {"Event":{"System":{...},"EventData":{...}}}) or of Winlogbeat (winlog.*,
// @timestamp and the ECS fields Winlogbeat sets itself).
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
	"math"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	json "github.com/goccy/go-json"

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
	default:
		err = fmt.Errorf("not a Windows event: neither Event.System nor winlog")
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

// winKind is what a well-known event is: ECS event.action and
// event.category, strings (boxed once, in the tables) or nil.
type winKind struct{ action, category any }

func (k winKind) actionText() string {
	s, _ := k.action.(string)
	return s
}

func (k winKind) categoryText() string {
	s, _ := k.category.(string)
	return s
}

// winCodes are the boxed event.code values of the events in the tables.
var winCodes = func() map[uint32]any {
	m := map[uint32]any{}
	for _, t := range []map[uint32]winKind{winSecurityActions, winSysmonActions, winServiceActions,
		winPowerShellActions, winDefenderActions, winTaskSchedulerActions} {
		for id := range t {
			m[id] = strconv.FormatUint(uint64(id), 10)
		}
	}
	return m
}()

// winSecurityActions are the Security log's events (Microsoft-Windows-
// Security-Auditing, and Microsoft-Windows-Eventlog's log events).
var winSecurityActions = map[uint32]winKind{
	104:  {"log-cleared", "configuration"},
	1100: {"event-logging-shut-down", "configuration"},
	1102: {"audit-log-cleared", "configuration"},
	1104: {"security-log-full", "configuration"},
	4608: {"windows-started", "host"},
	4614: {"notification-package-loaded", "configuration"},
	4616: {"system-time-changed", "configuration"},
	4622: {"security-package-loaded", "configuration"},
	4624: {"logged-in", "authentication"},
	4625: {"logon-failed", "authentication"},
	4634: {"logged-out", "authentication"},
	4647: {"logged-out", "authentication"},
	4648: {"logged-in-explicit", "authentication"},
	4656: {"object-handle-requested", nil},
	4657: {"registry-value-modified", "registry"},
	4661: {"object-handle-requested", nil},
	4662: {"directory-object-accessed", nil},
	4663: {"object-accessed", nil},
	4672: {"logged-in-special", "iam"},
	4673: {"privileged-service-called", "iam"},
	4674: {"privileged-object-operation", "iam"},
	4688: {"process-created", "process"},
	4689: {"process-terminated", "process"},
	4697: {"service-installed", "configuration"},
	4698: {"scheduled-task-created", "configuration"},
	4699: {"scheduled-task-deleted", "configuration"},
	4700: {"scheduled-task-enabled", "configuration"},
	4701: {"scheduled-task-disabled", "configuration"},
	4702: {"scheduled-task-updated", "configuration"},
	4719: {"audit-policy-changed", "configuration"},
	4720: {"user-account-created", "iam"},
	4722: {"user-account-enabled", "iam"},
	4723: {"password-change-attempted", "iam"},
	4724: {"password-reset-attempted", "iam"},
	4725: {"user-account-disabled", "iam"},
	4726: {"user-account-deleted", "iam"},
	4727: {"group-created", "iam"},
	4728: {"added-member-to-group", "iam"},
	4729: {"removed-member-from-group", "iam"},
	4730: {"group-deleted", "iam"},
	4731: {"group-created", "iam"},
	4732: {"added-member-to-group", "iam"},
	4733: {"removed-member-from-group", "iam"},
	4734: {"group-deleted", "iam"},
	4735: {"group-changed", "iam"},
	4737: {"group-changed", "iam"},
	4738: {"user-account-changed", "iam"},
	4740: {"account-locked", "iam"},
	4741: {"computer-account-created", "iam"},
	4742: {"computer-account-changed", "iam"},
	4743: {"computer-account-deleted", "iam"},
	4754: {"group-created", "iam"},
	4755: {"group-changed", "iam"},
	4756: {"added-member-to-group", "iam"},
	4757: {"removed-member-from-group", "iam"},
	4758: {"group-deleted", "iam"},
	4765: {"sid-history-added", "iam"},
	4767: {"account-unlocked", "iam"},
	4768: {"kerberos-tgt-requested", "authentication"},
	4769: {"kerberos-service-ticket-requested", "authentication"},
	4770: {"kerberos-service-ticket-renewed", "authentication"},
	4771: {"kerberos-preauth-failed", "authentication"},
	4776: {"credential-validated", "authentication"},
	4778: {"session-reconnected", "session"},
	4779: {"session-disconnected", "session"},
	4781: {"account-renamed", "iam"},
	4798: {"group-membership-enumerated", "iam"},
	4799: {"group-membership-enumerated", "iam"},
	4964: {"special-groups-logged-in", "authentication"},
	5136: {"directory-object-modified", "configuration"},
	5137: {"directory-object-created", "configuration"},
	5141: {"directory-object-deleted", "configuration"},
	5140: {"network-share-accessed", "network"},
	5145: {"network-share-object-checked", "network"},
	5156: {"network-connection-allowed", "network"},
	5157: {"network-connection-blocked", "network"},
}

var winSysmonActions = map[uint32]winKind{
	1:   {"process-created", "process"},
	2:   {"file-creation-time-changed", "file"},
	3:   {"network-connection", "network"},
	4:   {"sysmon-state-changed", "configuration"},
	5:   {"process-terminated", "process"},
	6:   {"driver-loaded", "driver"},
	7:   {"image-loaded", "library"},
	8:   {"create-remote-thread", "process"},
	9:   {"raw-access-read", "file"},
	10:  {"process-access", "process"},
	11:  {"file-created", "file"},
	12:  {"registry-object-created-or-deleted", "registry"},
	13:  {"registry-value-set", "registry"},
	14:  {"registry-object-renamed", "registry"},
	15:  {"file-stream-created", "file"},
	16:  {"sysmon-config-changed", "configuration"},
	17:  {"pipe-created", "file"},
	18:  {"pipe-connected", "file"},
	19:  {"wmi-filter-registered", "process"},
	20:  {"wmi-consumer-registered", "process"},
	21:  {"wmi-consumer-bound", "process"},
	22:  {"dns-query", "network"},
	23:  {"file-deleted", "file"},
	24:  {"clipboard-changed", "process"},
	25:  {"process-tampering", "process"},
	26:  {"file-delete-detected", "file"},
	27:  {"file-block-executable", "file"},
	28:  {"file-block-shredding", "file"},
	29:  {"file-executable-detected", "file"},
	255: {"sysmon-error", nil},
}

var winServiceActions = map[uint32]winKind{ // Service Control Manager, System log
	7000: {"service-start-failed", "configuration"},
	7009: {"service-start-timed-out", "configuration"},
	7034: {"service-crashed", "configuration"},
	7036: {"service-state-changed", "configuration"},
	7040: {"service-start-type-changed", "configuration"},
	7045: {"service-installed", "configuration"},
}

var winPowerShellActions = map[uint32]winKind{
	400:  {"powershell-engine-started", "process"},
	403:  {"powershell-engine-stopped", "process"},
	600:  {"powershell-provider-started", "process"},
	800:  {"powershell-pipeline-executed", "process"},
	4103: {"powershell-module-logged", "process"},
	4104: {"powershell-script-block", "process"},
	4105: {"powershell-script-block-started", "process"},
	4106: {"powershell-script-block-completed", "process"},
}

var winDefenderActions = map[uint32]winKind{
	1006: {"malware-detected", "malware"},
	1116: {"malware-detected", "malware"},
	1117: {"malware-action-taken", "malware"},
	5001: {"realtime-protection-disabled", "configuration"},
	5007: {"configuration-changed", "configuration"},
}

var winTaskSchedulerActions = map[uint32]winKind{
	106: {"scheduled-task-registered", "configuration"},
	141: {"scheduled-task-deleted", "configuration"},
	200: {"scheduled-task-action-started", "process"},
}

// Providers with tables, or otherwise known.
const (
	winOtherProvider = iota
	winSysmon
	winSecurityAuditing
	winEventlog
	winServiceControlManager
	winPowerShell
	winDefender
	winTaskScheduler
)

var winProviders = map[string]int{
	winSysmonProvider: winSysmon, "Microsoft-Windows-Security-Auditing": winSecurityAuditing,
	"Microsoft-Windows-Eventlog": winEventlog, "Service Control Manager": winServiceControlManager,
	"Microsoft-Windows-PowerShell": winPowerShell, "PowerShell": winPowerShell,
	"Microsoft-Windows-Windows Defender": winDefender, "Microsoft-Windows-TaskScheduler": winTaskScheduler,
}

// winProviderOf classifies a provider name, in any case.
func winProviderOf(p string) int {
	if c, ok := winProviders[p]; ok {
		return c
	}
	for name, c := range winProviders {
		if len(name) == len(p) && strings.EqualFold(name, p) {
			return c
		}
	}
	return winOtherProvider
}

// kindOf looks the event up in its provider's table (or, without a
// provider, its channel's).
func (w *winEvent) kindOf() winKind {
	var table map[uint32]winKind
	switch {
	case w.sysmon:
		table = winSysmonActions
	case w.class == winSecurityAuditing, w.class == winEventlog:
		table = winSecurityActions
	case w.class == winServiceControlManager:
		table = winServiceActions
	case w.class == winPowerShell:
		table = winPowerShellActions
	case w.class == winDefender:
		table = winDefenderActions
	case w.class == winTaskScheduler:
		table = winTaskSchedulerActions
	case w.provider == "" && strings.EqualFold(w.channel, "Security"):
		table = winSecurityActions
	case w.provider == "" && strings.EqualFold(w.channel, "Microsoft-Windows-PowerShell/Operational"):
		table = winPowerShellActions
	}
	return table[w.eventID]
}

// winLogonEvents name the account in Target* (or Account*) fields: the
// account that logged on, failed to, or was authenticated. Other events name
// the acting account in Subject* and the one acted on in Target*.
var winLogonEvents = map[uint32]bool{
	4624: true, 4625: true, 4634: true, 4647: true, 4648: true, 4740: true, 4767: true,
	4768: true, 4769: true, 4770: true, 4771: true, 4776: true, 4778: true, 4779: true,
}

// winGroupEvents name a group in Target*.
var winGroupEvents = map[uint32]bool{
	4727: true, 4728: true, 4729: true, 4730: true, 4731: true, 4732: true, 4733: true, 4734: true,
	4735: true, 4737: true, 4754: true, 4755: true, 4756: true, 4757: true, 4758: true, 4799: true,
}

// winLogonTypes are the names Winlogbeat gives winlog.logon.type.
var winLogonTypes = [...]string{
	2: "Interactive", 3: "Network", 4: "Batch", 5: "Service", 7: "Unlock", 8: "NetworkCleartext",
	9: "NewCredentials", 10: "RemoteInteractive", 11: "CachedInteractive", 12: "CachedRemoteInteractive", 13: "CachedUnlock",
}

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
	o.m[k] = v
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
	fields["winlog.event_id"] = float64(w.eventID) // one type whatever the shape
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
		o.str("network.transport", strings.ToLower(proto))
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
	s = strings.ToLower(s) // once for all
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

// --- The fast reader ---

// winMaxFastDepth bounds nesting on the fast path; deeper lines take the
// reference path, which says what is wrong.
const winMaxFastDepth = 64

// winEvtxFields is about how many fields an EVTX event has besides its
// EventData: System's and the ECS ones.
const winEvtxFields = 24

// winPending is an EventData member read by the fast path, stored in the
// fields once the line is read (and the map's size known).
type winPending struct {
	key      winDataKey
	v        any    // a number, bool or list
	s        string // a string without escapes
	off, end int    // a string with escapes, in winScan.arena
	kind     uint8
}

const (
	winPendValue = iota
	winPendString
	winPendArena
)

// winFast reads the common shapes in one pass. ok false means: take the
// reference path (the line is unusual, or in error).
func winFast(line []byte, st *winState) (Parsed, bool) {
	sc := winScan{s: string(line), keys: st.keys[:0], pending: st.pending[:0], arena: st.arena[:0], path: st.path[:0],
		budget: winNameBudget(line)}
	defer func() {
		st.keys, st.pending, st.arena, st.path = sc.keys[:0], sc.pending[:0], sc.arena[:0], sc.path[:0]
		st.keysUsed, st.pendUsed = sc.high, len(sc.pending)
	}()
	w := &st.w
	var p Parsed
	var rec winSystemRec
	var ts any
	var sawEvent, sawTS, sawECS, sawWinlog bool

	sc.ws()
	if !sc.open('{') {
		return Parsed{}, false
	}
	for n := 0; ; n++ {
		k, done, ok := sc.member(n)
		if !ok {
			return Parsed{}, false
		}
		if done {
			break
		}
		if sc.dup(0, k) {
			return Parsed{}, false
		}
		switch group, _, _ := strings.Cut(k, "."); {
		case k == "Event":
			sawEvent = true
			if !sc.event(&rec) {
				return Parsed{}, false
			}
		case k == "System":
			return Parsed{}, false
		case k == appliance.FieldTimestamp:
			sawTS = true
			v, isNull, ok := sc.scalar()
			if !ok || isNull {
				return Parsed{}, false
			}
			ts = v
		case ecsGroups[group]:
			sawECS = true
			if k == "winlog" && sc.peek() == '{' || group == "winlog" && k != "winlog" {
				sawWinlog = true
			}
			if p.Fields == nil {
				// About a field per 25 bytes of a Winlogbeat line.
				p.Fields = make(map[string]any, min(max(len(line)/25, 16), 256))
			}
			sc.path = append(sc.path[:0], k...)
			if !sc.flatten(p.Fields, w, 0) {
				return Parsed{}, false
			}
		default:
			if !sc.skip(0) {
				return Parsed{}, false
			}
		}
	}
	sc.ws()
	if sc.i != len(sc.s) {
		return Parsed{}, false
	}
	switch {
	case sawEvent:
		if sawECS {
			return Parsed{}, false
		}
		f := make(map[string]any, len(sc.pending)+winEvtxFields)
		p.Fields = f
		arena := string(sc.arena)
		for i := range sc.pending {
			n := len(f)
			e := &sc.pending[i]
			var v any
			switch e.kind {
			case winPendValue:
				v = e.v
			case winPendString:
				v = e.s
			default:
				v = arena[e.off:e.end]
			}
			f[e.key.field] = v
			if len(f) == n {
				return Parsed{}, false // a duplicate name: the reference path keeps the last
			}
			w.setData(e.key.idx, v)
		}
		if w.fromSystem(&rec, f, &p) != nil {
			return Parsed{}, false
		}
	case sawWinlog:
		if sawTS {
			t, err := parseTime(ts)
			if err != nil {
				return Parsed{}, false
			}
			p.Timestamp = t
		}
		if w.fromWinlogbeatFields(p.Fields, false) != nil {
			return Parsed{}, false
		}
	default:
		return Parsed{}, false
	}
	w.normalise(p.Fields)
	p.Original = bytes.TrimSpace(line) // valid UTF-8: every string was checked
	return p, true
}

// winSmallNumbers are small integers, boxed once: Windows events are full
// of them.
var winSmallNumbers = func() (t [1024]any) {
	for i := range t {
		t[i] = float64(i)
	}
	return t
}()

// winScan is a strict JSON reader over one line. Its methods return false
// at anything it does not read exactly as decodeObject would.
type winScan struct {
	s       string
	i       int
	keys    []string // keys of the objects being read, to refuse duplicates
	pending []winPending
	arena   []byte // unescaped EventData strings
	path    []byte // the name flatten is at
	high    int    // most keys held at once
	names   int    // bytes of the field names flatten made
	budget  int    // most bytes of field names, winNameBudget
}

func (sc *winScan) ws() {
	for sc.i < len(sc.s) {
		switch sc.s[sc.i] {
		case ' ', '\t', '\n', '\r':
			sc.i++
		default:
			return
		}
	}
}

func (sc *winScan) peek() byte {
	sc.ws()
	if sc.i < len(sc.s) {
		return sc.s[sc.i]
	}
	return 0
}

func (sc *winScan) open(c byte) bool {
	if sc.i < len(sc.s) && sc.s[sc.i] == c {
		sc.i++
		return true
	}
	return false
}

// member reads the next member's key and colon of an object whose n
// members were read; done at the closing brace.
func (sc *winScan) member(n int) (key string, done, ok bool) {
	sc.ws()
	if sc.i >= len(sc.s) {
		return "", false, false
	}
	switch c := sc.s[sc.i]; {
	case c == '}':
		sc.i++
		return "", true, true
	case n > 0 && c == ',':
		sc.i++
		sc.ws()
	case n > 0:
		return "", false, false
	}
	key, ok = sc.str()
	if !ok {
		return "", false, false
	}
	sc.ws()
	if !sc.open(':') {
		return "", false, false
	}
	sc.ws()
	return key, false, true
}

// winMaxFastKeys bounds the members of an object the fast path reads (the
// duplicate check is quadratic); larger objects take the reference path.
const winMaxFastKeys = 128

// dup records key among the keys of the object whose keys start at start,
// reporting whether it was there (or the object is too large to tell).
func (sc *winScan) dup(start int, key string) bool {
	if len(sc.keys)-start >= winMaxFastKeys {
		return true
	}
	for _, k := range sc.keys[start:] {
		if k == key {
			return true
		}
	}
	sc.keys = append(sc.keys, key)
	sc.high = max(sc.high, len(sc.keys))
	return false
}

// winStop marks the bytes that end a plain run of string content: quote,
// backslash, control characters, and the first bytes of multi-byte UTF-8
// sequences (checked then).
var winStop = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf
	}
	return t
}()

// plainEnd returns the index of the first quote, backslash or control
// character at or after j, or -1 at invalid UTF-8.
func plainEnd(s string, j int) int {
	for {
		for j < len(s) && !winStop[s[j]] {
			j++
		}
		if j >= len(s) || s[j] < utf8.RuneSelf {
			return j
		}
		r, size := utf8.DecodeRuneInString(s[j:])
		if r == utf8.RuneError && size == 1 {
			return -1
		}
		j += size
	}
}

// str reads a string.
func (sc *winScan) str() (string, bool) {
	if !sc.open('"') {
		return "", false
	}
	start := sc.i
	j := plainEnd(sc.s, start)
	if j < 0 || j >= len(sc.s) {
		return "", false
	}
	switch sc.s[j] {
	case '"':
		sc.i = j + 1
		return sc.s[start:j], true
	case '\\':
		b, ok := sc.unescape(make([]byte, 0, j-start+16), start, j)
		return string(b), ok
	}
	return "", false // a control character
}

// unescape appends the content of a string from start, with its first
// escape at j, to b, and moves past the string.
func (sc *winScan) unescape(b []byte, start, j int) ([]byte, bool) {
	b = append(b, sc.s[start:j]...)
	for j < len(sc.s) {
		c := sc.s[j]
		switch {
		case c == '"':
			sc.i = j + 1
			return b, true
		case c < 0x20:
			return b, false
		case c != '\\':
			k := plainEnd(sc.s, j)
			if k < 0 {
				return b, false
			}
			b = append(b, sc.s[j:k]...)
			j = k
			continue
		}
		if j+1 >= len(sc.s) {
			return b, false
		}
		switch e := sc.s[j+1]; e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			if j+6 > len(sc.s) {
				return b, false
			}
			r, err := strconv.ParseUint(sc.s[j+2:j+6], 16, 32)
			if err != nil || utf16.IsSurrogate(rune(r)) {
				return b, false // surrogates: the reference path decides
			}
			b = utf8.AppendRune(b, rune(r))
			j += 4
		default:
			return b, false
		}
		j += 2
	}
	return b, false
}

// num reads a number (JSON's grammar).
func (sc *winScan) num() (float64, bool) {
	s, j := sc.s, sc.i
	// Integers of up to 15 digits, most numbers here, are exact in a
	// float64: no need for ParseFloat.
	if j < len(s) && s[j] >= '1' && s[j] <= '9' {
		n := uint64(0)
		k := j
		for ; k < len(s) && k-j < 15 && s[k] >= '0' && s[k] <= '9'; k++ {
			n = n*10 + uint64(s[k]-'0')
		}
		if k == len(s) || s[k] != '.' && s[k] != 'e' && s[k] != 'E' && (s[k] < '0' || s[k] > '9') {
			sc.i = k
			return float64(n), true
		}
	}
	end := winNumEnd(s, j)
	if end < 0 {
		return 0, false
	}
	f, err := strconv.ParseFloat(s[j:end], 64)
	if err != nil {
		return 0, false
	}
	sc.i = end
	return f, true
}

// winNumEnd returns where the number at j ends, or -1 if there is none
// (JSON's grammar).
func winNumEnd(s string, j int) int {
	digits := func() int {
		k := j
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		return j - k
	}
	if j < len(s) && s[j] == '-' {
		j++
	}
	if j < len(s) && s[j] == '0' {
		j++
	} else if digits() == 0 {
		return -1
	}
	if j < len(s) && s[j] == '.' {
		j++
		if digits() == 0 {
			return -1
		}
	}
	if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
		j++
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if digits() == 0 {
			return -1
		}
	}
	return j
}

func (sc *winScan) word(w string) bool {
	if strings.HasPrefix(sc.s[sc.i:], w) {
		sc.i += len(w)
		return true
	}
	return false
}

// scalar reads a string, number, true, false or null; ok false at an
// object or array.
func (sc *winScan) scalar() (v any, isNull, ok bool) {
	sc.ws()
	if sc.i >= len(sc.s) {
		return nil, false, false
	}
	switch c := sc.s[sc.i]; {
	case c == '"':
		s, ok := sc.str()
		return s, false, ok
	case c == '-' || c >= '0' && c <= '9':
		f, ok := sc.num()
		if u := uint(f); float64(u) == f && u < uint(len(winSmallNumbers)) && !math.Signbit(f) {
			return winSmallNumbers[u], false, ok
		}
		return f, false, ok
	case c == 't' && sc.word("true"):
		return true, false, true
	case c == 'f' && sc.word("false"):
		return false, false, true
	case c == 'n' && sc.word("null"):
		return nil, true, true
	}
	return nil, false, false
}

// skip reads any value, keeping nothing.
func (sc *winScan) skip(depth int) bool {
	if depth > winMaxFastDepth {
		return false
	}
	switch sc.peek() {
	case '{':
		sc.i++
		for n := 0; ; n++ {
			_, done, ok := sc.member(n)
			if !ok {
				return false
			}
			if done {
				return true
			}
			if !sc.skip(depth + 1) {
				return false
			}
		}
	case '[':
		sc.i++
		for n := 0; ; n++ {
			done, ok := sc.element(n)
			if !ok {
				return false
			}
			if done {
				return true
			}
			if !sc.skip(depth + 1) {
				return false
			}
		}
	case '"':
		sc.i++
		j := plainEnd(sc.s, sc.i)
		if j < 0 || j >= len(sc.s) || sc.s[j] < 0x20 {
			return false
		}
		if sc.s[j] == '"' {
			sc.i = j + 1
			return true
		}
		// An escape: check the rest as str does.
		_, ok := sc.unescape(nil, j, j)
		return ok
	case 't':
		return sc.word("true")
	case 'f':
		return sc.word("false")
	case 'n':
		return sc.word("null")
	}
	// A number, not converted: the reference path reads any in range or
	// not (decodeObject falls back to json.Number).
	end := winNumEnd(sc.s, sc.i)
	if end < 0 {
		return false
	}
	sc.i = end
	return true
}

// element moves to the next element of an array whose n elements were
// read; done at the closing bracket.
func (sc *winScan) element(n int) (done, ok bool) {
	sc.ws()
	if sc.i >= len(sc.s) {
		return false, false
	}
	switch c := sc.s[sc.i]; {
	case c == ']':
		sc.i++
		return true, true
	case n > 0 && c == ',':
		sc.i++
		sc.ws()
	case n > 0:
		return false, false
	}
	return false, true
}

// list reads an array as flatten stores it: its scalars, in order. With
// strict, an element that is an object or array declines the line.
func (sc *winScan) list(depth int, strict bool) ([]any, bool) {
	sc.i++ // '['
	vals := make([]any, 0, 4)
	for n := 0; ; n++ {
		done, ok := sc.element(n)
		if !ok {
			return nil, false
		}
		if done {
			return vals, true
		}
		if c := sc.peek(); c == '{' || c == '[' {
			if strict || !sc.skip(depth+1) {
				return nil, false
			}
			continue
		}
		v, isNull, ok := sc.scalar()
		if !ok {
			return nil, false
		}
		if !isNull {
			vals = append(vals, v)
		}
	}
}

// flatten reads a value as flatten (normalise.go) stores it under the
// name in sc.path. A name stored twice (a duplicate, or a dotted and a
// nested name of one field) declines the line: flatten's precedence decides
// those. EventData and UserData values the mapping reads go to w too.
func (sc *winScan) flatten(f map[string]any, w *winEvent, depth int) bool {
	if depth > maxDepth {
		return false
	}
	var v any
	switch sc.peek() {
	case '{':
		sc.i++
		start, plen := len(sc.keys), len(sc.path)
		for n := 0; ; n++ {
			k, done, ok := sc.member(n)
			if !ok {
				return false
			}
			if done {
				break
			}
			if sc.dup(start, k) {
				return false
			}
			sc.path = append(append(sc.path[:plen], '.'), k...)
			if !sc.flatten(f, w, depth+1) {
				return false
			}
		}
		sc.keys, sc.path = sc.keys[:start], sc.path[:plen]
		return true
	case '[':
		vals, ok := sc.list(depth, false)
		if !ok {
			return false
		}
		v = vals
	default:
		s, isNull, ok := sc.scalar()
		if !ok {
			return false
		}
		if isNull {
			sc.names += len(sc.path) // counted as winNameBytes does
			return sc.names <= sc.budget
		}
		v = s
	}
	if sc.names += len(sc.path); sc.names > sc.budget {
		return false // the reference path says what is wrong
	}
	var key string
	var ok bool
	switch {
	case bytes.HasPrefix(sc.path, winEventDataPrefixBytes):
		var k winDataKey
		if k, ok = winDataKeyTable.findBytes(sc.path[len(winEventDataPrefix):]); ok {
			key = k.field
			w.setData(k.idx, v)
		}
	case bytes.HasPrefix(sc.path, winUserDataPrefixBytes):
		if k, known := winDataKeyTable.findBytes(sc.path[len(winUserDataPrefix):]); known {
			w.setUserData(k.idx, v)
		}
	default:
		key, ok = winKnownFields[string(sc.path)] // no allocation to look up
	}
	if !ok {
		key = string(sc.path)
	}
	return winStoreNew(f, key, v)
}

var (
	winEventDataPrefixBytes = []byte(winEventDataPrefix)
	winUserDataPrefixBytes  = []byte(winUserDataPrefix)
)

// winKnownFields are field names Winlogbeat events have, made once rather
// than per event.
var winKnownFields = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{
		"agent.ephemeral_id", "agent.hostname", "agent.id", "agent.name", "agent.type", "agent.version",
		"event.action", "event.category", "event.code", "event.created", "event.ingested", "event.kind",
		"event.module", "event.original", "event.outcome", "event.provider", "event.type", "event.dataset",
		"host.name", "host.hostname", "host.id", "host.architecture", "host.ip", "host.mac", "host.os.build",
		"host.os.family", "host.os.kernel", "host.os.name", "host.os.platform", "host.os.type", "host.os.version",
		"log.level", "message", "tags", "related.user", "related.ip", "related.hash",
		"user.name", "user.domain", "user.id", "user.target.name", "user.target.domain", "user.target.id",
		"source.ip", "source.port", "source.domain", "destination.ip", "destination.port", "destination.domain",
		"process.pid", "process.executable", "process.name", "process.command_line", "process.entity_id",
		"process.parent.pid", "process.parent.executable", "process.parent.name", "process.parent.entity_id",
		"process.parent.command_line", "process.working_directory", "process.args", "process.args_count",
		"file.path", "file.name", "file.directory", "file.extension", "registry.path", "registry.key", "registry.value",
		"registry.hive", "registry.data.strings", "registry.data.type", "dns.question.name", "network.transport",
		"network.protocol", "network.direction", "network.type", "service.name",
		"winlog.api", "winlog.activity_id", "winlog.channel", "winlog.computer_name", "winlog.event_id",
		"winlog.keywords", "winlog.opcode", "winlog.process.pid", "winlog.process.thread.id", "winlog.provider_guid",
		"winlog.provider_name", "winlog.record_id", "winlog.task", "winlog.version", "winlog.logon.id",
		"winlog.logon.type", "winlog.logon.failure.reason", "winlog.logon.failure.status",
		"winlog.logon.failure.sub_status", "winlog.user.identifier", "winlog.user.name", "winlog.user.domain",
		"winlog.user.type", "winlog.user_data.xml_name",
	} {
		m[k] = k
	}
	return m
}()

// winStoreNew stores a field, reporting false if it was there (the line is
// declined then, so the value overwritten does not matter).
func winStoreNew(f map[string]any, key string, v any) bool {
	n := len(f)
	f[key] = v
	return len(f) > n
}

// event reads the Event element: System into rec, EventData into
// sc.pending.
func (sc *winScan) event(rec *winSystemRec) bool {
	if sc.peek() != '{' {
		return false
	}
	sc.i++
	// Members the reference path reads must not repeat (it keeps the last);
	// others may: it ignores them.
	sawSystem, sawData := false, false
	for n := 0; ; n++ {
		k, done, ok := sc.member(n)
		if !ok {
			return false
		}
		if done {
			break
		}
		switch {
		case k == "System":
			if sawSystem || !sc.system(rec) {
				return false
			}
			sawSystem = true
		case k == "EventData":
			if sawData || !sc.eventData() {
				return false
			}
			sawData = true
		case k == "UserData" || strings.HasPrefix(k, "#"):
			return false
		default:
			if !sc.skip(2) {
				return false
			}
		}
	}
	return sawSystem
}

// sysScalar reads a System value the mapping takes as a scalar.
func (sc *winScan) sysScalar(dst *any) bool {
	v, _, ok := sc.scalar()
	*dst = v
	return ok
}

// system reads Event.System, declining what the reference path reads
// differently: "#attributes"/"#text" shapes, and objects or arrays where a
// value is expected.
func (sc *winScan) system(r *winSystemRec) bool {
	if sc.peek() != '{' {
		return false
	}
	sc.i++
	// Members the mapping reads must not repeat (the reference path keeps
	// the last); others may: they are ignored.
	var seen uint
	for n := 0; ; n++ {
		k, done, ok := sc.member(n)
		if !ok {
			return false
		}
		if done {
			return true
		}
		if strings.HasPrefix(k, "#") {
			return false
		}
		var bit uint
		switch k {
		case "EventID":
			bit = 1 << 0
			if c := sc.peek(); c == '-' || c >= '0' && c <= '9' {
				r.eventIDNum, ok = sc.num()
				r.haveEventIDNum = true
			} else {
				ok = sc.sysScalar(&r.eventID)
			}
		case "Channel":
			bit, ok = 1<<1, sc.sysScalar(&r.channel)
		case "Computer":
			bit, ok = 1<<2, sc.sysScalar(&r.computer)
		case "EventRecordID":
			bit, ok = 1<<3, sc.sysScalar(&r.recordID)
		case "Keywords":
			bit, ok = 1<<4, sc.sysScalar(&r.keywords)
		case "Provider":
			bit = 1 << 5
			if sc.peek() == '{' {
				ok = sc.members("Name", &r.providerName, "EventSourceName", &r.providerSource)
			} else {
				ok = sc.sysScalar(&r.providerName)
			}
		case "TimeCreated":
			bit = 1 << 6
			if sc.peek() == '{' {
				ok = sc.timeCreated(r)
			} else {
				ok = sc.sysScalar(&r.systemTime)
			}
		case "Security":
			bit = 1 << 7
			ok = sc.peek() == '{' && sc.members("UserID", &r.userID, "", nil)
		default:
			ok = sc.skip(3)
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
}

// timeCreated reads System.TimeCreated, keeping SystemTime.
func (sc *winScan) timeCreated(r *winSystemRec) bool {
	sc.i++ // '{'
	saw := false
	for n := 0; ; n++ {
		k, done, ok := sc.member(n)
		if !ok {
			return false
		}
		if done {
			return true
		}
		switch {
		case strings.HasPrefix(k, "#"):
			return false
		case k == "SystemTime":
			if saw {
				return false
			}
			saw = true
			if sc.peek() == '"' {
				r.systemTimeText, ok = sc.str()
				r.haveTimeText = true
			} else {
				ok = sc.sysScalar(&r.systemTime)
			}
		default:
			ok = sc.skip(4)
		}
		if !ok {
			return false
		}
	}
}

// members reads an object of System, keeping the scalar values of up to
// two names.
func (sc *winScan) members(n1 string, d1 *any, n2 string, d2 *any) bool {
	sc.i++ // '{'
	saw1, saw2 := false, false
	for n := 0; ; n++ {
		k, done, ok := sc.member(n)
		if !ok {
			return false
		}
		if done {
			return true
		}
		switch {
		case strings.HasPrefix(k, "#"):
			return false
		case k == n1:
			ok = !saw1 && sc.sysScalar(d1)
			saw1 = true
		case k == n2 && d2 != nil:
			ok = !saw2 && sc.sysScalar(d2)
			saw2 = true
		default:
			ok = sc.skip(4) // ignored, repeated or not
		}
		if !ok {
			return false
		}
	}
}

// eventData reads EventData, name -> scalar or list of scalars, into
// sc.pending.
func (sc *winScan) eventData() bool {
	switch sc.peek() {
	case '{':
	case 'n':
		_, isNull, ok := sc.scalar()
		return ok && isNull
	default:
		return false
	}
	sc.i++
	for n := 0; ; n++ {
		k, done, ok := sc.member(n)
		if !ok {
			return false
		}
		if done {
			return true
		}
		if strings.HasPrefix(k, "#") {
			return false
		}
		e := winPending{key: winDataKeyOf(k)}
		switch sc.peek() {
		case '{':
			return false
		case '[':
			vals, ok := sc.list(3, true)
			if !ok {
				return false
			}
			e.v = vals
		case '"':
			sc.i++
			j := plainEnd(sc.s, sc.i)
			switch {
			case j < 0 || j >= len(sc.s):
				return false
			case sc.s[j] == '"':
				e.kind, e.s = winPendString, sc.s[sc.i:j]
				sc.i = j + 1
			case sc.s[j] == '\\':
				e.kind, e.off = winPendArena, len(sc.arena)
				if sc.arena, ok = sc.unescape(sc.arena, sc.i, j); !ok {
					return false
				}
				e.end = len(sc.arena)
			default:
				return false
			}
		default:
			v, isNull, ok := sc.scalar()
			if !ok {
				return false
			}
			if isNull {
				return false // a null name, maybe repeated: the reference path decides
			}
			e.v = v
		}
		sc.pending = append(sc.pending, e)
	}
}
