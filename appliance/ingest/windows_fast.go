package ingest

// The fast reader of Windows events (see windows.go): one pass over the
// line, no generic tree.

import (
	"bytes"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/minixdr/xdr/appliance"
)

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
	v        any // a number, bool or list
	off, end int // a string, unescaped, in winScan.arena
	isString bool
}

// winFast reads the common shapes in one pass. ok false means: take the
// reference path (the line is unusual, or in error).
func winFast(line []byte, st *winState) (Parsed, bool) {
	if st.vals == nil {
		st.vals = make(map[string]any, 256)
	}
	sc := winScan{s: unsafe.String(unsafe.SliceData(line), len(line)), keys: st.keys[:0], pending: st.pending[:0], arena: st.arena[:0], path: st.path[:0],
		budget: winNameBudget(line), vals: st.vals}
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
				p.Fields = newFields(min(max(len(line)/25, 16), 256))
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
		f := newFields(len(sc.pending) + winEvtxFields)
		p.Fields = f
		arena := string(sc.arena)
		for i := range sc.pending {
			n := len(f)
			e := &sc.pending[i]
			v := e.v
			if e.isString {
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

// winNum is f as a field value: small whole numbers without allocating.
func winNum(f float64) any {
	if u := uint(f); float64(u) == f && u < uint(len(winSmallNumbers)) && !math.Signbit(f) {
		return winSmallNumbers[u]
	}
	return f
}

// winScan is a strict JSON reader over one line. Its methods return false
// at anything it does not read exactly as decodeObject would.
//
// s is the caller's line, not a copy: the line is only valid while it is
// parsed (the ingest path's scanner reuses its buffer), and copying all of
// it, names and syntax included, was a sixth of Sysmon's parse time and
// most of its garbage. So a string read from it is copied when kept: the
// values scalar returns are copies or interned, EventData's strings are
// copied to arena, and names are built in path or found in tables.
type winScan struct {
	s       string
	i       int
	keys    []string // keys of the objects being read, to refuse duplicates
	pending []winPending
	arena   []byte // EventData's strings, unescaped
	path    []byte // the name flatten is at
	high    int    // most keys held at once
	names   int    // bytes of the field names flatten made
	budget  int    // most bytes of field names, winNameBudget
	vals    map[string]any
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
	key, _, ok = sc.str()
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
		j = plainRun(s, j)
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

// Eight bytes at a time, for plainRun.
const (
	swarOnes  = 0x0101010101010101
	swarHighs = 0x8080808080808080
)

// plainRun returns the index of the first byte at or after j that may end
// a plain run (see winStop), reading eight bytes at a time while it can:
// Windows values (command lines, paths, hashes) are long runs. The byte it
// stops at is one winStop marks, or one of the last seven of s.
func plainRun(s string, j int) int {
	for ; j+8 <= len(s); j += 8 {
		x := uint64(s[j]) | uint64(s[j+1])<<8 | uint64(s[j+2])<<16 | uint64(s[j+3])<<24 |
			uint64(s[j+4])<<32 | uint64(s[j+5])<<40 | uint64(s[j+6])<<48 | uint64(s[j+7])<<56
		q := x ^ ('"' * swarOnes)
		b := x ^ ('\\' * swarOnes)
		// A byte's high bit is set in m where it is below 0x20, a quote or
		// a backslash (no false byte below the first true one: borrows only
		// run upwards), or not ASCII.
		m := ((x-0x20*swarOnes)|(q-swarOnes)|(b-swarOnes))&^x | x
		if m &= swarHighs; m != 0 {
			return j + bits.TrailingZeros64(m)/8
		}
	}
	return j
}

// str reads a string: the line's memory (see winScan) unless it had
// escapes, when it is a copy (fresh).
func (sc *winScan) str() (s string, fresh, ok bool) {
	if !sc.open('"') {
		return "", false, false
	}
	start := sc.i
	j := plainEnd(sc.s, start)
	if j < 0 || j >= len(sc.s) {
		return "", false, false
	}
	switch sc.s[j] {
	case '"':
		sc.i = j + 1
		return sc.s[start:j], false, true
	case '\\':
		b, ok := sc.unescape(make([]byte, 0, j-start+16), start, j)
		return string(b), true, ok
	}
	return "", false, false // a control character
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
		s, fresh, ok := sc.str()
		if len(s) > maxSensorInternValLen { // not interned: kept as is
			if !fresh {
				s = strings.Clone(s) // not the line's memory
			}
			return s, false, ok
		}
		return internValue(sc.vals, s), false, ok // interned values are copies
	case c == '-' || c >= '0' && c <= '9':
		f, ok := sc.num()
		return winNum(f), false, ok
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
				r.systemTimeText, _, ok = sc.str() // parsed, not kept
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
				e.isString, e.off = true, len(sc.arena)
				sc.arena = append(sc.arena, sc.s[sc.i:j]...)
				e.end = len(sc.arena)
				sc.i = j + 1
			case sc.s[j] == '\\':
				e.isString, e.off = true, len(sc.arena)
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
