package sigma

import (
	"regexp"
	"regexp/syntax"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// The prefilter: most rules can only match if some literal text occurs in
// some field (Image ends with "\whoami.exe", CommandLine contains " -enc ").
// Compile derives, for every rule, a set of such (field slot, literal)
// atoms, at least one of which must occur for the rule to match. Match scans
// each field of the event once with an Aho-Corasick automaton of that slot's
// literals, and evaluates only the rules with an atom present, plus the
// rules no atom set could be derived for (a negation alone, a regular
// expression, a numeric comparison).

// atom is a literal (lower case) that must occur in the value of a field,
// found in one of a group of slots (the document keys a Sigma field name
// maps to, RuleSet.groups).
type atom struct {
	group int
	lit   string
	weak  bool // on a field that rarely discriminates (weakKeys)
}

// minAtomLen: shorter literals are likely in most events; an AND prefers a
// part whose literals are all at least this long.
const minAtomLen = 3

// anyGroup is the group of keyword atoms: they may occur in any field.
const anyGroup = -1

// atoms returns a set of atoms one of which occurs in every event n
// matches, or ok false when n can match without any.
func (rs *RuleSet) atoms(n node) ([]atom, bool) {
	switch n := n.(type) {
	case *fieldNode:
		return rs.fieldAtoms(n)
	case *andNode:
		// Any one part's atoms are necessary: take the most selective.
		var best []atom
		bestScore := -1
		for _, k := range n.kids {
			a, ok := rs.atoms(k)
			if !ok {
				continue
			}
			if s := atomScore(a); s > bestScore {
				best, bestScore = a, s
			}
		}
		return best, bestScore >= 0
	case *orNode:
		return rs.unionAtoms(n.kids)
	case *atLeastNode:
		return rs.unionAtoms(n.kids)
	case *keywordNode:
		var out []atom
		for _, m := range n.matchers {
			lits, ok := matcherLiterals(m)
			if !ok {
				return nil, false
			}
			for _, l := range lits {
				out = append(out, atom{group: anyGroup, lit: l})
			}
		}
		return out, len(out) > 0
	}
	return nil, false // not, exists, fieldref
}

func (rs *RuleSet) unionAtoms(kids []node) ([]atom, bool) {
	var all []atom
	for _, k := range kids {
		a, ok := rs.atoms(k)
		if !ok {
			return nil, false
		}
		all = append(all, a...)
	}
	return all, len(all) > 0
}

// atomScore ranks atom sets: longer shortest literal first, then fewer.
func atomScore(a []atom) int {
	if len(a) == 0 {
		return -1
	}
	minLen := len(a[0].lit)
	for _, x := range a {
		minLen = min(minLen, len(x.lit))
		if x.weak {
			return 0
		}
	}
	if minLen < minAtomLen {
		return 0
	}
	return min(minLen, 12)*100_000 - min(len(a), 99_999)
}

func (rs *RuleSet) fieldAtoms(n *fieldNode) ([]atom, bool) {
	if n.matchNull || len(n.matchers) == 0 {
		return nil, false
	}
	for _, s := range n.slots {
		if rs.slotIsOriginal(s) {
			return nil, false // read only on demand: no automaton for it
		}
	}
	var lits []string
	if n.all {
		// Every matcher must hold: the literals of one suffice.
		for _, m := range n.matchers {
			if l, ok := matcherLiterals(m); ok {
				lits = l
				break
			}
		}
	} else {
		for _, m := range n.matchers {
			l, ok := matcherLiterals(m)
			if !ok {
				return nil, false
			}
			lits = append(lits, l...)
		}
	}
	if len(lits) == 0 {
		return nil, false
	}
	weak := false
	for _, s := range n.slots {
		weak = weak || rs.slotWeak[s]
	}
	g := rs.group(n.slots)
	out := make([]atom, 0, len(lits))
	for _, l := range lits {
		out = append(out, atom{group: g, lit: l, weak: weak})
	}
	return out, true
}

// group interns a list of slots.
func (rs *RuleSet) group(slots []int) int {
	var b strings.Builder
	for _, s := range slots {
		b.WriteString(strconv.Itoa(s))
		b.WriteByte(',')
	}
	k := b.String()
	if g, ok := rs.groupOf[k]; ok {
		return g
	}
	if rs.groupOf == nil {
		rs.groupOf = map[string]int{}
	}
	rs.groupOf[k] = len(rs.groups)
	rs.groups = append(rs.groups, slots)
	return len(rs.groups) - 1
}

// weakKeys are fields whose values the rule index has already decided
// (channel, event ID) or that repeat across most events of a channel
// (provider): atoms there filter nothing, so an AND prefers other parts.
var weakKeys = map[string]bool{"winlog.channel": true, "winlog.event_id": true, "event.provider": true, "event.code": true}

// matcherLiterals gives literals one of which occurs in any value the
// matcher accepts.
func matcherLiterals(m matcher) ([]string, bool) {
	switch m := m.(type) {
	case litMatcher:
		return nonEmpty(m.s)
	case regexMatcher:
		return m.need, len(m.need) > 0
	case globMatcher:
		longest := ""
		for _, p := range m.p {
			if p.wild == 0 && len(p.lit) > len(longest) {
				longest = p.lit
			}
		}
		return nonEmpty(longest)
	case setMatcher:
		out := make([]string, 0, len(m.set))
		for k := range m.set {
			if k == "" {
				return nil, false
			}
			// A cased set keeps its case; atoms are found lower-cased.
			out = append(out, strings.ToLower(k))
		}
		sort.Strings(out)
		return out, true
	case containsAnyMatcher:
		return m.lits, true
	case anyOfMatcher:
		var out []string
		for _, x := range m {
			l, ok := matcherLiterals(x)
			if !ok {
				return nil, false
			}
			out = append(out, l...)
		}
		return out, true
	}
	return nil, false
}

func nonEmpty(s string) ([]string, bool) {
	if s == "" {
		return nil, false
	}
	// Values compare lower-cased (or, cased, exactly): the lower-cased
	// literal occurs in the lower-cased value either way.
	return []string{strings.ToLower(s)}, true
}

func (rs *RuleSet) slotIsOriginal(s int) bool { return rs.slotOriginal[s] }

// buildPrefilter derives every entry's atoms and the per-slot automata.
func (rs *RuleSet) buildPrefilter(cache *Cache) {
	rs.slotOriginal = make([]bool, rs.nslots)
	rs.slotWeak = make([]bool, rs.nslots)
	for k, s := range rs.slotOf {
		rs.slotOriginal[s] = strings.HasPrefix(k, "original.")
		rs.slotWeak[s] = weakKeys[k]
	}
	type key struct {
		group int
		lit   string
	}
	atomID := map[key]int{}
	perGroup := map[int][]string{}
	perGroupIDs := map[int][]int32{}
	for i, e := range rs.entries {
		e.id = i
		a, ok := rs.atoms(e.cond)
		if !ok {
			continue
		}
		e.filtered = true
		for _, x := range a {
			k := key{x.group, x.lit}
			id, seen := atomID[k]
			if !seen {
				id = len(rs.atomEntries)
				atomID[k] = id
				rs.atomEntries = append(rs.atomEntries, nil)
				perGroup[x.group] = append(perGroup[x.group], x.lit)
				perGroupIDs[x.group] = append(perGroupIDs[x.group], int32(id))
			}
			if l := rs.atomEntries[id]; len(l) == 0 || l[len(l)-1] != int32(i) {
				rs.atomEntries[id] = append(l, int32(i))
				if x.group == anyGroup {
					e.kwAtoms = append(e.kwAtoms, int32(id))
				}
			}
		}
	}
	// One automaton per group, scanned for every slot of the group, and
	// one of the keyword atoms per logsource, scanned for every field
	// (keywordAutomata). (Merging the keyword atoms into every group's
	// automaton spared that scan but multiplied the keyword states by the
	// number of groups, which took the whole DFA budget.) An automaton
	// reports its literals by their place in its sorted list (so that the
	// cache can give it to another rule set), which atoms maps to atom ids.
	rs.automata = make([][]*groupAutomaton, rs.nslots)
	var fresh []*acMachine
	automaton := func(lits []string, ids []int32) *groupAutomaton {
		m, isNew := cache.machine(lits)
		if isNew {
			fresh = append(fresh, m)
		}
		return &groupAutomaton{m: m, atoms: ids}
	}
	kwLit := make(map[int32]string, len(perGroup[anyGroup]))
	for i, id := range perGroupIDs[anyGroup] {
		kwLit[id] = perGroup[anyGroup][i]
	}
	rs.keywordAutomata(kwLit, automaton)
	groups := make([]int, 0, len(perGroup))
	for g := range perGroup {
		if g != anyGroup {
			groups = append(groups, g)
		}
	}
	sort.Ints(groups)
	budget := maxDFACellsTotal
	for _, g := range groups {
		ga := automaton(sortedAtoms(perGroup[g], perGroupIDs[g]))
		budget -= len(ga.m.delta) // a cached automaton keeps its table
		for _, s := range rs.groups[g] {
			rs.automata[s] = append(rs.automata[s], ga)
		}
	}
	// The DFA budget left goes to the smallest new automata first: the
	// most of them scan as tables.
	sort.SliceStable(fresh, func(i, j int) bool { return len(fresh[i].fail) < len(fresh[j].fail) })
	for _, m := range fresh {
		budget -= m.buildDFA(max(budget, 0))
	}
}

// groupAutomaton is an automaton as a rule set uses it: atoms[i] is the
// atom id of the automaton's literal i.
type groupAutomaton struct {
	m     *acMachine
	atoms []int32
}

// sortedAtoms sorts a group's literals, their atom ids alike.
func sortedAtoms(lits []string, ids []int32) ([]string, []int32) {
	idx := make([]int, len(lits))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return lits[idx[a]] < lits[idx[b]] })
	sl, si := make([]string, len(lits)), make([]int32, len(lits))
	for i, k := range idx {
		sl[i], si[i] = lits[k], ids[k]
	}
	return sl, si
}

// keywordAutomata builds the keyword automata: for each logsource, the
// keyword atoms of the entries an event of it meets (Windows events: those
// of their channel and those of every channel; others: of their source and
// of every source), one automaton per distinct set. Most Windows channels
// share the few atoms of rules on every channel ("Mimikatz Use"), so an
// event is not scanned for the many atoms of rules of other channels (the
// antivirus names of the Application log).
func (rs *RuleSet) keywordAutomata(kwLit map[int32]string, automaton func([]string, []int32) *groupAutomaton) {
	rs.kwChan, rs.kwSource = map[string]*groupAutomaton{}, map[string]*groupAutomaton{}
	if len(kwLit) == 0 {
		return
	}
	built := map[string]*groupAutomaton{} // by sorted literals
	build := func(sets ...[]*entry) *groupAutomaton {
		seen := map[int32]bool{}
		var lits []string
		var ids []int32
		for _, es := range sets {
			for _, e := range es {
				for _, id := range e.kwAtoms {
					if !seen[id] {
						seen[id] = true
						lits, ids = append(lits, kwLit[id]), append(ids, id)
					}
				}
			}
		}
		if len(lits) == 0 {
			return nil
		}
		lits, ids = sortedAtoms(lits, ids)
		k := strings.Join(lits, "\x00")
		if ga, ok := built[k]; ok {
			return ga
		}
		built[k] = automaton(lits, ids)
		return built[k]
	}
	rs.kwWinAny, rs.kwAnySource = build(rs.winAny), build(rs.anySource)
	chans := map[string][][]*entry{}
	for ch, byID := range rs.winByChanID {
		for _, es := range byID {
			chans[ch] = append(chans[ch], es)
		}
	}
	for ch, es := range rs.winByChan {
		chans[ch] = append(chans[ch], es)
	}
	for ch, sets := range chans {
		if ga := build(append(sets, rs.winAny)...); ga != rs.kwWinAny {
			rs.kwChan[ch] = ga
		}
	}
	for src, es := range rs.bySource {
		if ga := build(es, rs.anySource); ga != rs.kwAnySource {
			rs.kwSource[src] = ga
		}
	}
}

// indexUnfiltered fills the unf* index: the entries without atoms.
func (rs *RuleSet) indexUnfiltered() {
	unf := func(es []*entry) []*entry {
		var out []*entry
		for _, e := range es {
			if !e.filtered {
				out = append(out, e)
			}
		}
		return out
	}
	rs.unfByChanID, rs.unfByChan, rs.unfBySource = map[string]map[int][]*entry{}, map[string][]*entry{}, map[string][]*entry{}
	for ch, byID := range rs.winByChanID {
		m := map[int][]*entry{}
		for id, es := range byID {
			if u := unf(es); len(u) > 0 {
				m[id] = u
			}
		}
		rs.unfByChanID[ch] = m
	}
	for ch, es := range rs.winByChan {
		rs.unfByChan[ch] = unf(es)
	}
	for src, es := range rs.bySource {
		rs.unfBySource[src] = unf(es)
	}
	rs.unfWinAny, rs.unfAny = unf(rs.winAny), unf(rs.anySource)
}

// keywordScan gives the keyword automaton for an event's candidates
// (lowChan: its channel lower-cased), nil when none has keyword atoms.
func (rs *RuleSet) keywordScan(ev *Event, lowChan []byte) *groupAutomaton {
	if ev.windows {
		if ga, ok := rs.kwChan[string(lowChan)]; ok {
			return ga
		}
		return rs.kwWinAny
	}
	if ga, ok := rs.kwSource[ev.Source]; ok {
		return ga
	}
	return rs.kwAnySource
}

// setAndPrefilter fills the slots from the event's fields and marks the
// entries whose atoms occur in them (one slot lookup per field for both).
// Fields are scanned for keyword atoms only when a candidate entry of the
// event has some (kw: the automaton of its logsource's keyword atoms).
func (st *matchState) setAndPrefilter(rs *RuleSet, fields []evField, kw *groupAutomaton) {
	for i := range fields {
		v := &fields[i].v
		s, ok := rs.slotOf[fields[i].key]
		var gas []*groupAutomaton
		if ok {
			if st.stamp[s] != st.gen {
				st.vals[s] = v
				st.stamp[s] = st.gen
			}
			gas = rs.automata[s]
		}
		if len(gas) > 0 || kw != nil {
			st.scanValue(gas, kw, v)
		}
	}
}

// scanValue scans a value (each element of a list) with the automata of
// its slot and the keyword automaton (if any; keyword atoms are searched
// in strings only, as keywordNode does). The automata fold ASCII case;
// text with other bytes is lower-cased first (once for all automata), as
// the matchers see it.
func (st *matchState) scanValue(gas []*groupAutomaton, kw *groupAutomaton, v *evValue) {
	if v.kind == kList {
		for j := range v.list {
			st.scanValue(gas, kw, &v.list[j])
		}
		return
	}
	text := v.s
	if !isASCII(text) {
		st.lowBuf = appendLower(st.lowBuf[:0], text)
		text = unsafe.String(unsafe.SliceData(st.lowBuf), len(st.lowBuf))
	}
	for _, ga := range gas {
		st.atoms = ga.atoms
		scan(ga.m, text, st.hit)
	}
	if kw != nil && v.kind == kString {
		st.atoms = kw.atoms
		scan(kw.m, text, st.hit)
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// hitAtom records literal lit of the automaton being scanned.
func (st *matchState) hitAtom(lit int32) {
	id := st.atoms[lit]
	if st.atomStamp[id] == st.gen {
		return
	}
	st.atomStamp[id] = st.gen
	for _, e := range st.rs.atomEntries[id] {
		if st.entryStamp[e] != st.gen {
			st.entryStamp[e] = st.gen
			st.hits = append(st.hits, e)
		}
	}
}

// regexLiterals finds literals one of which occurs in every match of re:
// from the parsed expression, a literal that every match must contain
// (the longest of a concatenation, one per branch of an alternation).
func regexLiterals(re *regexp.Regexp) ([]string, bool) {
	tree, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return nil, false
	}
	lits := requiredLiterals(tree.Simplify())
	if len(lits) == 0 {
		return nil, false
	}
	for i, l := range lits {
		if l == "" {
			return nil, false
		}
		lits[i] = strings.ToLower(l)
	}
	return lits, true
}

func requiredLiterals(re *syntax.Regexp) []string {
	switch re.Op {
	case syntax.OpLiteral:
		return []string{string(re.Rune)}
	case syntax.OpCapture, syntax.OpPlus:
		return requiredLiterals(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min > 0 {
			return requiredLiterals(re.Sub[0])
		}
	case syntax.OpConcat:
		var best []string
		bestLen := 0
		for _, sub := range re.Sub {
			l := requiredLiterals(sub)
			if len(l) == 0 {
				continue
			}
			short := len(l[0])
			for _, x := range l {
				short = min(short, len(x))
			}
			if short > bestLen {
				best, bestLen = l, short
			}
		}
		return best
	case syntax.OpAlternate:
		var all []string
		for _, sub := range re.Sub {
			l := requiredLiterals(sub)
			if len(l) == 0 {
				return nil
			}
			all = append(all, l...)
		}
		return all
	}
	return nil
}
