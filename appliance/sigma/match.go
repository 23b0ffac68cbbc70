package sigma

import (
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"
)

// matchState is the per-call working memory of Match: the event's values
// by slot. Slots are valid when their stamp is the current generation, so
// nothing is cleared between events.
type matchState struct {
	rs    *RuleSet
	vals  []*evValue // the event's values, by slot
	stamp []uint32
	// own[s] is vals[s] with its lower-cased form, made on first need
	// (ownStamp): most fields are never evaluated, only scanned.
	own        []value
	ownStamp   []uint32
	gen        uint32
	ev         *Event
	origLoaded bool
	seen       []uint32    // by rule index: matched already
	entryStamp []uint32    // by entry id: an atom occurs (prefilter)
	atomStamp  []uint32    // by atom id: reported already
	hit        func(int32) // hitAtom, bound once
	hits       []int32     // filtered entries (by id) with an atom found
	lowBuf     []byte      // a non-ASCII value lower-cased for a scan
	lowArena   []byte      // the values lower-cased for the matchers (lower)
	atoms      []int32     // the atom ids of the automaton being scanned
}

func (rs *RuleSet) newState() *matchState {
	st := &matchState{
		rs:         rs,
		vals:       make([]*evValue, rs.nslots),
		stamp:      make([]uint32, rs.nslots),
		own:        make([]value, rs.nslots),
		ownStamp:   make([]uint32, rs.nslots),
		seen:       make([]uint32, rs.nindex),
		entryStamp: make([]uint32, len(rs.entries)),
		atomStamp:  make([]uint32, len(rs.atomEntries)),
	}
	st.hit = st.hitAtom
	return st
}

func (st *matchState) load(rs *RuleSet, ev *Event, kw *groupAutomaton) {
	st.gen++
	if st.gen == 0 {
		clear(st.stamp)
		clear(st.ownStamp)
		clear(st.seen)
		clear(st.entryStamp)
		clear(st.atomStamp)
		st.gen = 1
	}
	st.ev = ev
	st.origLoaded = false
	if cap(st.lowArena) > 1<<20 {
		st.lowArena = nil // one huge event does not pin its memory
	}
	st.lowArena = st.lowArena[:0]
	st.hits = st.hits[:0]
	st.setAndPrefilter(rs, ev.fields, kw)
}

func (st *matchState) set(rs *RuleSet, fields []evField) {
	for i := range fields {
		if s, ok := rs.slotOf[fields[i].key]; ok && st.stamp[s] != st.gen {
			st.vals[s] = &fields[i].v
			st.stamp[s] = st.gen
		}
	}
}

func (st *matchState) loadOriginal(rs *RuleSet) {
	if !st.origLoaded {
		st.origLoaded = true
		st.set(rs, st.ev.original())
	}
}

// get returns the value of the first candidate slot the event has, with
// its lower-cased form.
func (st *matchState) get(slots []int) *value {
	for _, s := range slots {
		if st.stamp[s] == st.gen {
			if st.ownStamp[s] != st.gen {
				st.own[s] = st.withLow(st.vals[s])
				st.ownStamp[s] = st.gen
			}
			return &st.own[s]
		}
	}
	return nil
}

// value is a field value as the matchers see it: an event's value with
// its lower-cased form.
type value struct {
	kind   valueKind
	s, low string
	list   []value
}

// withLow is v as a value (for a list, its elements too).
func (st *matchState) withLow(v *evValue) value {
	c := value{kind: v.kind, s: v.s, low: v.s}
	switch c.kind {
	case kString:
		c.low = st.lower(c.s)
	case kList:
		c.list = make([]value, len(v.list))
		for i := range v.list {
			c.list[i] = st.withLow(&v.list[i])
		}
	}
	return c
}

// lower is strings.ToLower, for ASCII text into the state's arena (valid
// until the next event: load empties it), so that an event's values are
// lower-cased without allocating.
func (st *matchState) lower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			if !isASCII(s[i:]) {
				return strings.ToLower(s)
			}
			// Earlier strings keep the old array if append moves it.
			start := len(st.lowArena)
			st.lowArena = appendLower(st.lowArena, s)
			return unsafe.String(&st.lowArena[start], len(s))
		}
	}
	return s
}

// Match appends to dst the detection rules that match ev, each once, in
// the order of the rules given to Compile.
func (rs *RuleSet) Match(ev *Event, dst []*Rule) []*Rule {
	st := rs.pool.Get().(*matchState)
	// The channel lower-cased on the stack: map look-ups by string(bytes)
	// do not allocate.
	var buf [128]byte
	lowChan := appendLower(buf[:0], ev.channel)
	st.load(rs, ev, rs.keywordScan(ev, lowChan))
	start := len(dst)
	// The entries that take the event: the unfiltered ones from the
	// index, the filtered ones among those an atom let through.
	rs.unfiltered(ev, lowChan, func(e *entry) { dst = st.try(e, dst) })
	for _, id := range st.hits {
		if e := rs.entries[id]; e.takes(ev, lowChan) {
			dst = st.try(e, dst)
		}
	}
	st.ev = nil
	rs.pool.Put(st)
	sortByIndex(dst[start:], rs)
	return dst
}

// MatchDocument is NewEvent then Match for a caller that needs the event
// only if it matched: the event is read in place, its strings pointing
// into doc and into reused memory, and gets copies of its own (detach)
// only when some rule matched, to be handed to the caller (ev); a document
// that matches nothing allocates nothing. doc must not change during the
// call. It is safe for concurrent use.
func (rs *RuleSet) MatchDocument(doc []byte, dst []*Rule) (ev *Event, _ []*Rule, _ error) {
	e := docEvents.Get().(*Event)
	scratch := readScratch.Get().(*eventScratch)
	defer scratch.release()
	err := e.read(unsafe.String(unsafe.SliceData(doc), len(doc)), e.fields, scratch, true)
	start := len(dst)
	if err == nil {
		if dst = rs.Match(e, dst); len(dst) > start {
			e.detach(scratch.arena)
			return e, dst, nil // the caller's now; the pool makes another
		}
	}
	fields := e.fields
	clear(fields) // drop the document's strings
	if cap(fields) <= 1024 {
		*e = Event{fields: fields[:0]}
		docEvents.Put(e)
	}
	return nil, dst, err
}

// docEvents are MatchDocument's events: zero but for their fields' memory.
var docEvents = sync.Pool{New: func() any { return &Event{} }}

// sortByIndex orders matches by rule order (insertion sort: few matches).
func sortByIndex(rules []*Rule, rs *RuleSet) {
	for i := 1; i < len(rules); i++ {
		for j := i; j > 0 && rs.order[rules[j]] < rs.order[rules[j-1]]; j-- {
			rules[j], rules[j-1] = rules[j-1], rules[j]
		}
	}
}

// try evaluates e on the loaded event, appending its rule to dst if it
// matches and has not matched already.
func (st *matchState) try(e *entry, dst []*Rule) []*Rule {
	if st.seen[e.index] == st.gen {
		return dst
	}
	if e.needOrig {
		st.loadOriginal(st.rs)
	}
	if e.cond.eval(st) {
		st.seen[e.index] = st.gen
		dst = append(dst, e.rule)
	}
	return dst
}

// unfiltered calls fn with every unfiltered entry whose selector takes ev.
// Windows entries come from the channel/event ID index, which is their
// whole test.
func (rs *RuleSet) unfiltered(ev *Event, ch []byte, fn func(*entry)) {
	if ev.windows {
		for _, e := range rs.unfByChanID[string(ch)][ev.eventID] {
			fn(e)
		}
		for _, e := range rs.unfByChan[string(ch)] {
			fn(e)
		}
		for _, e := range rs.unfWinAny {
			fn(e)
		}
		return
	}
	for _, e := range rs.unfBySource[ev.Source] {
		if e.sel.takes(ev) {
			fn(e)
		}
	}
	for _, e := range rs.unfAny {
		if e.sel.takes(ev) {
			fn(e)
		}
	}
}

// takes reports whether the entry's selector takes ev (ch: its channel
// lower-cased), as the index of RuleSet.add decides it.
func (e *entry) takes(ev *Event, ch []byte) bool {
	if e.windows != ev.windows {
		return false
	}
	if !ev.windows {
		if len(e.sel.sources) > 0 && !e.sel.hasSource(ev.Source) {
			return false
		}
		return e.sel.takes(ev)
	}
	if len(e.lowChannels) == 0 {
		return true
	}
	found := false
	for _, c := range e.lowChannels {
		if c == string(ch) {
			found = true
			break
		}
	}
	if !found || len(e.sel.eventIDs) == 0 {
		return found
	}
	for _, id := range e.sel.eventIDs {
		if id == ev.eventID {
			return true
		}
	}
	return false
}

// takes reports whether the selector's source and dataset fit ev (the
// index already chose channel and event ID).
func (s *selector) takes(ev *Event) bool {
	if len(s.sources) > 0 && ev.Source != "" && !s.hasSource(ev.Source) {
		return false
	}
	if s.dataset != "" && !strings.EqualFold(ev.dataset, s.dataset) {
		return false
	}
	return true
}

// node is a compiled condition.
type node interface {
	eval(st *matchState) bool
}

type andNode struct{ kids []node }

func (n *andNode) eval(st *matchState) bool {
	for _, k := range n.kids {
		if !k.eval(st) {
			return false
		}
	}
	return true
}

type orNode struct{ kids []node }

func (n *orNode) eval(st *matchState) bool {
	for _, k := range n.kids {
		if k.eval(st) {
			return true
		}
	}
	return false
}

type notNode struct{ kid node }

func (n *notNode) eval(st *matchState) bool { return !n.kid.eval(st) }

// atLeastNode is "N of …" for N > 1.
type atLeastNode struct {
	n    int
	kids []node
}

func (n *atLeastNode) eval(st *matchState) bool {
	c := 0
	for _, k := range n.kids {
		if k.eval(st) {
			if c++; c >= n.n {
				return true
			}
		}
	}
	return false
}

// fieldNode is one "field|modifiers: values".
type fieldNode struct {
	slots     []int
	matchers  []matcher // any matches (all: every one)
	all       bool
	matchNull bool // a null value: the field is absent or null
	never     bool
}

func (n *fieldNode) eval(st *matchState) bool {
	v := st.get(n.slots)
	if v == nil || v.kind == kNull {
		return n.matchNull
	}
	if n.never {
		return false
	}
	if v.kind == kList {
		return n.evalList(v.list)
	}
	if n.all {
		for _, m := range n.matchers {
			if !m.match(v) {
				return false
			}
		}
		return len(n.matchers) > 0
	}
	for _, m := range n.matchers {
		if m.match(v) {
			return true
		}
	}
	return false
}

// evalList matches a list value: any element may match a value (with all,
// every value must match some element).
func (n *fieldNode) evalList(list []value) bool {
	if n.all {
		for _, m := range n.matchers {
			found := false
			for i := range list {
				if m.match(&list[i]) {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		return len(n.matchers) > 0
	}
	for i := range list {
		for _, m := range n.matchers {
			if m.match(&list[i]) {
				return true
			}
		}
	}
	return false
}

// existsNode is "field|exists: true/false".
type existsNode struct {
	slots []int
	want  bool
}

func (n *existsNode) eval(st *matchState) bool {
	v := st.get(n.slots)
	return (v != nil && v.kind != kNull) == n.want
}

// fieldrefNode compares a field with another field of the same event.
type fieldrefNode struct {
	slots, other []int
	anchor       string // "", contains, startswith, endswith
	cased        bool
}

func (n *fieldrefNode) eval(st *matchState) bool {
	a, b := st.get(n.slots), st.get(n.other)
	if a == nil || b == nil || a.kind == kNull || b.kind == kNull || a.kind == kList || b.kind == kList {
		return false
	}
	x, y := a.low, b.low
	if n.cased {
		x, y = a.s, b.s
	}
	switch n.anchor {
	case "contains":
		return strings.Contains(x, y)
	case "startswith":
		return strings.HasPrefix(x, y)
	case "endswith":
		return strings.HasSuffix(x, y)
	}
	return x == y
}

// keywordNode searches every string value of the event.
type keywordNode struct{ matchers []matcher }

func (n *keywordNode) eval(st *matchState) bool {
	for i := range st.ev.fields {
		v := &st.ev.fields[i].v
		if v.kind == kString {
			if n.matchValue(st, v) {
				return true
			}
			continue
		}
		for j := range v.list {
			if v.list[j].kind == kString && n.matchValue(st, &v.list[j]) {
				return true
			}
		}
	}
	return false
}

func (n *keywordNode) matchValue(st *matchState, v *evValue) bool {
	lv := st.withLow(v)
	for _, m := range n.matchers {
		if m.match(&lv) {
			return true
		}
	}
	return false
}

// numMatcher is |lt, |lte, |gt, |gte.
type numMatcher struct {
	op string
	n  float64
}

func (m numMatcher) match(v *value) bool {
	if v.kind != kNumber && v.kind != kString {
		return false
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v.s), 64)
	if err != nil {
		return false
	}
	switch m.op {
	case "lt":
		return f < m.n
	case "lte":
		return f <= m.n
	case "gt":
		return f > m.n
	}
	return f >= m.n
}

// order sorts the parts of every AND and OR cheapest first (the result does
// not depend on the order; the time does: a cheap part that fails spares
// the regular expression after it) and returns n's estimated cost.
func order(n node) int {
	switch n := n.(type) {
	case *andNode:
		return orderKids(n.kids)
	case *orNode:
		return orderKids(n.kids)
	case *atLeastNode:
		return orderKids(n.kids)
	case *notNode:
		return order(n.kid)
	case *fieldNode:
		c := 1
		for _, m := range n.matchers {
			c += matcherCost(m)
		}
		return c
	case *keywordNode:
		return 200
	}
	return 2 // exists, fieldref
}

func orderKids(kids []node) int {
	costs := make(map[node]int, len(kids))
	total := 0
	for _, k := range kids {
		costs[k] = order(k)
		total += costs[k]
	}
	sort.SliceStable(kids, func(i, j int) bool { return costs[kids[i]] < costs[kids[j]] })
	return total
}

func matcherCost(m matcher) int {
	switch m := m.(type) {
	case setMatcher, anyString:
		return 1
	case litMatcher:
		return [...]int{litEqual: 1, litPrefix: 2, litSuffix: 2, litContains: 4}[m.op]
	case numMatcher, cidrMatcher, longLineMatcher:
		return 4
	case globMatcher, containsAnyMatcher:
		return 6
	case regexMatcher:
		return 50
	case anyOfMatcher:
		c := 0
		for _, x := range m {
			c += matcherCost(x)
		}
		return c
	}
	return 4
}

// Selects reports whether any detection rule of the set can take events of
// an ingest source, so a caller can skip reading events no rule looks at.
// Windows rules can take the windows and sysmon sources, and json events
// that carry winlog.channel.
func (rs *RuleSet) Selects(source string) bool {
	if len(rs.bySource[source]) > 0 || len(rs.anySource) > 0 {
		return true
	}
	switch source {
	case "windows", "sysmon", "json":
		return len(rs.winByChanID) > 0 || len(rs.winByChan) > 0 || len(rs.winAny) > 0
	}
	return false
}
