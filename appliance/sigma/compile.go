package sigma

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// RuleSet is an immutable compiled set of rules, safe for concurrent use.
type RuleSet struct {
	rules        []*Rule // every rule given, detection and correlation, in order
	correlations []*Rule
	entries      []*entry
	slotOf       map[string]int // document key → slot
	nslots       int

	// Candidate entries of an event. Windows events: by channel (lower
	// case) and event ID, by channel for any ID, and for any channel.
	winByChanID map[string]map[int][]*entry
	winByChan   map[string][]*entry
	winAny      []*entry
	bySource    map[string][]*entry // non-Windows events, by source
	anySource   []*entry            // selectors without a source
	nindex      int                 // entry.index values are below this
	order       map[*Rule]int       // position in rules: Match's result order

	// The prefilter (prefilter.go).
	slotOriginal []bool              // the slot's key is in the original
	slotWeak     []bool              // atoms on the slot rarely discriminate
	atomEntries  [][]int32           // atom id → entries (by id) it lets through
	groups       [][]int             // slot lists that atoms refer to
	groupOf      map[string]int      // interned groups
	automata     [][]*groupAutomaton // by slot: the automata of the groups holding it
	// The unfiltered entries of the index above, by the same keys: Match
	// evaluates these for every event they take, and the filtered ones
	// only when an atom of theirs occurred (matchState.hits).
	unfByChanID map[string]map[int][]*entry
	unfByChan   map[string][]*entry
	unfWinAny   []*entry
	unfBySource map[string][]*entry
	unfAny      []*entry
	// The automata of the keyword atoms of an event's candidates, nil if
	// they have none (only then are the fields outside every group not
	// scanned): Windows events by channel (lower case), kwWinAny for the
	// channels without keyword rules of their own; others by source, or
	// kwAnySource.
	kwWinAny, kwAnySource *groupAutomaton
	kwChan, kwSource      map[string]*groupAutomaton

	pool sync.Pool
}

// entry is a detection rule compiled for one of its logsource selectors.
type entry struct {
	rule     *Rule
	index    int // of the rule in RuleSet.rules: one match per rule
	sel      *selector
	cond     node
	needOrig bool // reads fields of the original
	id       int  // position in RuleSet.entries
	filtered bool // evaluated only when one of its atoms occurs
	// kwAtoms are its keyword atoms (ids), found in any field.
	kwAtoms     []int32
	lowChannels []string // sel.channels lower-cased (takesWindows)
	windows     bool     // sel.isWindows(), asked for every candidate
}

// Options tune compilation.
type Options struct {
	// Placeholders are the values of %name% placeholders in |expand
	// values (e.g. "Admins_Workstations": {"WS01", "WS02"}). A placeholder
	// without values matches nothing.
	Placeholders map[string][]string
	// Cache, if set, carries automata and regular expressions from the
	// previous compile with the same cache (see Cache).
	Cache *Cache
}

// CompileError says why a rule did not compile.
type CompileError struct {
	Rule *Rule
	Err  error
}

func (e *CompileError) Error() string { return e.Rule.label() + ": " + e.Err.Error() }
func (e *CompileError) Unwrap() error { return e.Err }

// Compile compiles rules with default options. Rules that fail are left
// out, each with a *CompileError naming it; the rest compile.
func Compile(rules []*Rule) (*RuleSet, []error) {
	return CompileWith(rules, Options{})
}

// CompileWith is Compile with options.
func CompileWith(rules []*Rule, opts Options) (*RuleSet, []error) {
	opts.Cache.begin()
	defer opts.Cache.end()
	rs := &RuleSet{
		slotOf:      map[string]int{},
		winByChanID: map[string]map[int][]*entry{},
		winByChan:   map[string][]*entry{},
		bySource:    map[string][]*entry{},
	}
	var errs []error
	for _, r := range rules {
		if r == nil {
			continue
		}
		if r.Correlation != nil {
			rs.rules = append(rs.rules, r)
			rs.correlations = append(rs.correlations, r)
			continue
		}
		if r.detection == nil {
			errs = append(errs, &CompileError{r, fmt.Errorf("rule has no detection (build rules with ParseRules)")})
			continue
		}
		entries, err := rs.compileRule(r, len(rs.rules), opts)
		if err != nil {
			errs = append(errs, &CompileError{r, err})
			continue
		}
		rs.rules = append(rs.rules, r)
		for _, e := range entries {
			rs.add(e)
		}
	}
	if err := rs.checkCorrelations(); err != nil {
		errs = append(errs, err...)
	}
	rs.nindex = len(rs.rules)
	rs.order = make(map[*Rule]int, len(rs.rules))
	for i, r := range rs.rules {
		rs.order[r] = i
	}
	rs.buildPrefilter(opts.Cache)
	rs.indexUnfiltered()
	rs.pool.New = func() any { return rs.newState() }
	return rs, errs
}

// Rules returns every compiled rule (detection and correlation).
func (rs *RuleSet) Rules() []*Rule { return rs.rules }

func (rs *RuleSet) compileRule(r *Rule, index int, opts Options) ([]*entry, error) {
	sels, err := selectors(r.Logsource)
	if err != nil {
		return nil, err
	}
	var out []*entry
	for i := range sels {
		c := &compiler{rs: rs, sel: &sels[i], det: r.detection, opts: opts, idents: map[string]node{}}
		cond, err := c.condition()
		if err != nil {
			return nil, err
		}
		if len(sels[i].where) > 0 {
			w, err := c.where()
			if err != nil {
				return nil, err
			}
			cond = &andNode{kids: []node{w, cond}}
		}
		order(cond)
		out = append(out, &entry{rule: r, index: index, sel: &sels[i], cond: cond, needOrig: c.needOrig})
	}
	return out, nil
}

func (rs *RuleSet) add(e *entry) {
	rs.entries = append(rs.entries, e)
	for _, ch := range e.sel.channels {
		e.lowChannels = append(e.lowChannels, strings.ToLower(ch))
	}
	sel := e.sel
	if e.windows = sel.isWindows(); !e.windows {
		if len(sel.sources) == 0 {
			rs.anySource = append(rs.anySource, e)
		}
		for _, s := range sel.sources {
			rs.bySource[s] = append(rs.bySource[s], e)
		}
		return
	}
	if len(sel.channels) == 0 {
		rs.winAny = append(rs.winAny, e)
		return
	}
	for _, ch := range sel.channels {
		ch = strings.ToLower(ch)
		if len(sel.eventIDs) == 0 {
			rs.winByChan[ch] = append(rs.winByChan[ch], e)
			continue
		}
		m := rs.winByChanID[ch]
		if m == nil {
			m = map[int][]*entry{}
			rs.winByChanID[ch] = m
		}
		for _, id := range sel.eventIDs {
			m[id] = append(m[id], e)
		}
	}
}

// slot returns the slot of a document key, adding it.
func (rs *RuleSet) slot(key string) int {
	if s, ok := rs.slotOf[key]; ok {
		return s
	}
	s := rs.nslots
	rs.slotOf[key] = s
	rs.nslots++
	return s
}

// compiler compiles one rule's detection for one selector.
type compiler struct {
	rs       *RuleSet
	sel      *selector
	det      *detection
	opts     Options
	idents   map[string]node
	needOrig bool
}

func (c *compiler) condition() (node, error) {
	var kids []node
	for _, e := range c.det.conds {
		n, err := c.expr(e)
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
	}
	if len(kids) == 1 {
		return kids[0], nil
	}
	return &orNode{kids: kids}, nil
}

func (c *compiler) expr(e *condExpr) (node, error) {
	switch e.op {
	case opIdent:
		return c.ident(e.name)
	case opOf:
		names := e.resolve(c.det.names)
		kids := make([]node, 0, len(names))
		for _, name := range names {
			n, err := c.ident(name)
			if err != nil {
				return nil, err
			}
			kids = append(kids, n)
		}
		switch {
		case e.quant == quantAll:
			return &andNode{kids: kids}, nil
		case e.quant == 1:
			return &orNode{kids: kids}, nil
		default:
			return &atLeastNode{n: e.quant, kids: kids}, nil
		}
	case opNot:
		k, err := c.expr(e.kids[0])
		if err != nil {
			return nil, err
		}
		return &notNode{kid: k}, nil
	}
	kids := make([]node, 0, len(e.kids))
	for _, k := range e.kids {
		n, err := c.expr(k)
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
	}
	if e.op == opAnd {
		return &andNode{kids: kids}, nil
	}
	return &orNode{kids: kids}, nil
}

// ident compiles a search identifier once per rule and selector.
func (c *compiler) ident(name string) (node, error) {
	if n, ok := c.idents[name]; ok {
		return n, nil
	}
	id := c.det.idents[name]
	if id == nil {
		return nil, fmt.Errorf("condition names %q, which the detection does not define", name)
	}
	var n node
	if id.keywords != nil {
		k, err := c.keywords(id.keywords)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		n = k
	} else {
		var alts []node
		for _, m := range id.maps {
			var all []node
			for _, fs := range m {
				f, err := c.field(fs)
				if err != nil {
					return nil, fmt.Errorf("%s.%s: %w", name, fs.key(), err)
				}
				all = append(all, f)
			}
			if len(all) == 1 {
				alts = append(alts, all[0])
			} else {
				alts = append(alts, &andNode{kids: all})
			}
		}
		if len(alts) == 1 {
			n = alts[0]
		} else {
			n = &orNode{kids: alts}
		}
	}
	c.idents[name] = n
	return n, nil
}

func (fs *fieldSpec) key() string {
	if len(fs.mods) == 0 {
		return fs.field
	}
	return fs.field + "|" + strings.Join(fs.mods, "|")
}

func (c *compiler) slots(field string) []int {
	keys := fieldKeys(field, c.sel)
	out := make([]int, len(keys))
	for i, k := range keys {
		out[i] = c.rs.slot(k)
		if strings.HasPrefix(k, "original.") {
			c.needOrig = true
		}
	}
	return out
}

// where compiles the selector's EventData conditions.
func (c *compiler) where() (node, error) {
	var kids []node
	for f, v := range c.sel.where {
		n, err := c.field(&fieldSpec{field: f, values: []rawValue{{s: v}}})
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
	}
	return &andNode{kids: kids}, nil
}

// field compiles one "field|modifiers: values".
func (c *compiler) field(fs *fieldSpec) (node, error) {
	if fs.field == "" {
		return c.keywords(fs) // "'|all': [a, b]": keywords, every one
	}
	vs := specOf(fs)
	f := &fieldNode{slots: c.slots(fs.field), all: vs.all}
	switch vs.compare {
	case "exists":
		return &existsNode{slots: f.slots, want: fs.values[0].s == "true"}, nil
	case "fieldref":
		return c.fieldref(fs, f, vs)
	}
	for _, v := range fs.values {
		if v.null {
			f.matchNull = true
			continue
		}
		ms, err := valueMatchers(v, vs, c.opts)
		if err != nil {
			return nil, err
		}
		if vs.all {
			// Each value must match: one matcher per value, its
			// variants (windash, base64offset) any of them.
			f.matchers = append(f.matchers, anyOf(ms))
		} else {
			f.matchers = append(f.matchers, ms...)
		}
	}
	if !vs.all {
		f.matchers = groupContains(groupExact(f.matchers), c.opts.Cache)
	}
	if len(f.matchers) == 0 && !f.matchNull {
		if len(fs.values) == 0 {
			return nil, fmt.Errorf("no values")
		}
		f.never = true // e.g. |expand with a placeholder that has no values
	}
	return f, nil
}

func (c *compiler) fieldref(fs *fieldSpec, f *fieldNode, vs valueSpec) (node, error) {
	var kids []node
	for _, v := range fs.values {
		if v.null || v.s == "" {
			return nil, fmt.Errorf("|fieldref needs a field name")
		}
		kids = append(kids, &fieldrefNode{slots: f.slots, other: c.slots(v.s), anchor: vs.anchor, cased: vs.cased})
	}
	if vs.all || len(kids) == 1 {
		if len(kids) == 1 {
			return kids[0], nil
		}
		return &andNode{kids: kids}, nil
	}
	return &orNode{kids: kids}, nil
}

// keywords compiles a keyword list: each value is searched (as contains)
// in every string of the event; any value may match.
func (c *compiler) keywords(fs *fieldSpec) (node, error) {
	vs := specOf(fs)
	if vs.compare == "" {
		vs.compare = "contains"
	}
	var ms []matcher
	var all []node // with |all: every value, each somewhere in the event
	for _, v := range fs.values {
		if v.null {
			continue
		}
		m, err := valueMatchers(v, vs, c.opts)
		if err != nil {
			return nil, err
		}
		ms = append(ms, m...)
		all = append(all, &keywordNode{matchers: m})
	}
	if vs.all && len(all) > 1 {
		return &andNode{kids: all}, nil
	}
	return &keywordNode{matchers: ms}, nil
}

// valueMatchers compiles one value under the field's modifiers.
func valueMatchers(v rawValue, vs valueSpec, opts Options) ([]matcher, error) {
	switch vs.compare {
	case "re":
		m, err := opts.Cache.regexp(v.s, vs.reFlags)
		if err != nil {
			return nil, err
		}
		return []matcher{m}, nil
	case "cidr":
		m, err := newCIDRMatcher(v.s)
		if err != nil {
			return nil, err
		}
		return []matcher{m}, nil
	case "lt", "lte", "gt", "gte":
		n, err := strconv.ParseFloat(v.s, 64)
		if err != nil {
			return nil, fmt.Errorf("|%s: %q is not a number", vs.compare, v.s)
		}
		return []matcher{numMatcher{op: vs.compare, n: n}}, nil
	}
	// Numbers and booleans compare as their text.
	pats := []pattern{literalPattern(v.s)}
	if !v.number && !v.boolean {
		var err error
		if pats, err = expandValues(v, vs, opts.Placeholders); err != nil {
			return nil, err
		}
	}
	out := make([]matcher, 0, len(pats))
	for _, p := range pats {
		p = p.wrap(vs.compare == "contains" || vs.compare == "endswith", vs.compare == "contains" || vs.compare == "startswith")
		out = append(out, newStringMatcher(p, vs.cased))
	}
	return out, nil
}
