package sigma

import (
	"container/heap"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Correlator evaluates the correlation rules of a RuleSet over the stream
// of matched events. It uses event time only (never the wall clock), so the
// same sequence of Observe calls gives the same hits on every node, and its
// state serialises (MarshalBinary) so a snapshot carries it.
//
// Windows. A group (correlation rule + group-by values) keeps the
// observations of the last timespan before the newest event time it has
// seen. Conditions that only grow (gt, gte) fire as soon as they hold; the
// group's window is then emptied, so the next hit needs new events. Other
// conditions (lt, lte, eq, neq) are decided when the window closes: a
// window opens at its first event and closes once the correlator's newest
// event time (over all events) passes its start + timespan.
//
// Out-of-order events are placed by their time: an event older than the
// newest event time (the watermark) minus the timespan, or than its group's
// newest time minus the timespan, is too late and is ignored; otherwise it
// counts, and temporal_ordered checks the order of event times, not of
// arrival.
//
// Groups that stop receiving events are dropped, on event time alone: a
// sliding group once its newest event is more than twice its timespan
// behind the watermark (no event that is not too late can then share a
// window with any of its observations, so dropping it changes no hit), an
// at-close group when its window closes. The state is thus bounded by the
// events of the last two timespans, not by every group key ever seen. A
// Correlator is not safe for concurrent use.
type Correlator struct {
	rs        *RuleSet
	defs      []*corrDef
	groups    map[string]*corrGroup // by defIndex \x00 group key
	watermark int64                 // newest event time observed, Unix ns
	closing   closeHeap             // at-close groups by window end
	expiring  closeHeap             // sliding groups by when they may be dropped
	nobs      int                   // observations in all groups (Observations)
}

// CorrelationHit is one firing of a correlation rule.
type CorrelationHit struct {
	Rule     *Rule
	GroupKey string   // "field=value" pairs of the group-by fields, comma-separated
	EventIDs []string // the events of the window, oldest first
	Time     time.Time
}

// corrDef is a correlation rule resolved against the rule set.
type corrDef struct {
	rule   *Rule
	refs   map[*Rule]int        // referenced rule → its position in rules
	keys   map[*Rule][][]string // per referenced rule: document keys of each group-by field
	value  map[*Rule][]string   // value_count: document keys of the counted field
	atEnd  bool                 // decided when the window closes
	maxObs int
}

// corrGroup is the state of one group (state.go serialises it).
type corrGroup struct {
	Def   int // index in Correlator.defs
	Key   string
	Obs   []corrObs
	Start int64 // at-close groups: window start

	// expiry is the end of the group's entry in Correlator.expiring (an
	// entry with another end is stale); 0: none.
	expiry int64

	// distinct counts the observations by counted value (value_count) or
	// by rule (temporal), kept up to date as observations come and go so
	// a condition is checked without a pass over the window; nil until
	// first needed (a restored group rebuilds it).
	distinct map[string]int
}

type corrObs struct {
	T     int64 // event time, Unix ns
	Rule  int   // position in the correlation's rules
	ID    string
	Value string // value_count: the counted value
}

// maxGroupObs bounds the observations a group keeps (the oldest go first).
const maxGroupObs = 10_000

// NewCorrelator prepares the correlation rules of rs.
func NewCorrelator(rs *RuleSet) *Correlator {
	c := &Correlator{rs: rs, groups: map[string]*corrGroup{}}
	for _, r := range rs.correlations {
		c.defs = append(c.defs, rs.corrDef(r))
	}
	return c
}

func (rs *RuleSet) corrDef(r *Rule) *corrDef {
	cr := r.Correlation
	d := &corrDef{rule: r, refs: map[*Rule]int{}, keys: map[*Rule][][]string{}, value: map[*Rule][]string{}, maxObs: maxGroupObs}
	for _, cmp := range cr.Condition {
		if cmp.Op != "gt" && cmp.Op != "gte" {
			d.atEnd = true
		}
	}
	for i, ref := range cr.Rules {
		base := rs.ruleByRef(ref)
		if base == nil || base.Correlation != nil {
			continue
		}
		if _, dup := d.refs[base]; !dup {
			d.refs[base] = i
		}
		sels, _ := selectors(base.Logsource) // it compiled, so it has some
		for _, g := range cr.GroupBy {
			d.keys[base] = append(d.keys[base], selectorKeys(aliasFor(cr, g, base), sels))
		}
		if cr.Field != "" {
			d.value[base] = selectorKeys(aliasFor(cr, cr.Field, base), sels)
		}
	}
	return d
}

// aliasFor is the referenced rule's own name for a group-by field.
func aliasFor(c *Correlation, field string, r *Rule) string {
	if m, ok := c.Aliases[field]; ok {
		for _, k := range []string{r.ID, r.Name} {
			if f, ok := m[k]; ok && k != "" {
				return f
			}
		}
	}
	return field
}

// selectorKeys is where a field may be, over all of a rule's selectors
// (a process_creation rule reads Image from Sysmon 1 and from 4688's
// NewProcessName).
func selectorKeys(field string, sels []selector) []string {
	var keys []string
	for i := range sels {
		for _, k := range fieldKeys(field, &sels[i]) {
			keys = appendOnce(keys, k)
		}
	}
	return keys
}

// Observe feeds one event with the detection rules it matched (Match's
// result) and its event time, and returns the correlation hits it causes,
// in rule order then group key order.
func (c *Correlator) Observe(ev *Event, ts time.Time, matched []*Rule) []CorrelationHit {
	t := ts.UnixNano()
	var hits []CorrelationHit
	if t > c.watermark {
		c.watermark = t
		hits = c.closeWindows()
		c.expireGroups()
	}
	for di, d := range c.defs {
		for _, m := range matched {
			pos, ok := d.refs[m]
			if !ok {
				continue
			}
			// The ID and value are copied: as slices of the event's
			// document they would keep all of it alive for the window.
			obs := corrObs{T: t, Rule: pos, ID: strings.Clone(ev.ID)}
			if d.rule.Correlation.Type == "value_count" {
				v, ok := firstValue(ev, d.value[m])
				if !ok {
					continue // no value to count
				}
				obs.Value = strings.Clone(v)
			}
			key := groupKey(d.rule.Correlation.GroupBy, ev, d.keys[m])
			if h, ok := c.add(di, d, key, obs); ok {
				hits = append(hits, h)
			}
		}
	}
	sort.SliceStable(hits, func(i, j int) bool {
		a, b := c.defIndex(hits[i].Rule), c.defIndex(hits[j].Rule)
		if a != b {
			return a < b
		}
		return hits[i].GroupKey < hits[j].GroupKey
	})
	return hits
}

func (c *Correlator) defIndex(r *Rule) int {
	for i, d := range c.defs {
		if d.rule == r {
			return i
		}
	}
	return -1
}

// add records an observation in its group; an eager condition is checked.
func (c *Correlator) add(di int, d *corrDef, key string, o corrObs) (CorrelationHit, bool) {
	span := int64(d.rule.Correlation.Timespan)
	gk := strconv.Itoa(di) + "\x00" + key
	g := c.groups[gk]
	if g == nil {
		g = &corrGroup{Def: di, Key: key}
		c.groups[gk] = g
	}
	before := len(g.Obs)
	defer func() {
		after := 0
		if c.groups[gk] == g {
			after = len(g.Obs)
		}
		c.nobs += after - before
	}()
	if d.atEnd {
		// Observe closed the windows that ended before this event, so
		// an open window here contains o unless o is late.
		if o.T+span < c.watermark || (len(g.Obs) > 0 && o.T < g.Start) {
			if len(g.Obs) == 0 {
				delete(c.groups, gk)
			}
			return CorrelationHit{}, false // too late for any open window
		}
		if len(g.Obs) == 0 {
			g.Start = o.T
			heap.Push(&c.closing, closeItem{end: o.T + span, key: gk})
		}
		g.insert(d, o)
		return CorrelationHit{}, false
	}
	newest := o.T
	if n := len(g.Obs); n > 0 && g.Obs[n-1].T > newest {
		newest = g.Obs[n-1].T
	}
	if o.T < newest-span || o.T+span < c.watermark {
		if len(g.Obs) == 0 {
			delete(c.groups, gk)
		}
		return CorrelationHit{}, false // too late for the window
	}
	g.insert(d, o)
	if g.expiry == 0 {
		c.queueExpiry(gk, g, span)
	}
	// Slide: keep the last timespan before the newest event.
	drop := 0
	for drop < len(g.Obs) && g.Obs[drop].T < newest-span {
		drop++
	}
	g.dropOldest(d, drop)
	if !d.holds(g) {
		return CorrelationHit{}, false
	}
	h := d.hit(g)
	delete(c.groups, gk)
	return h, true
}

// insert keeps observations ordered by time (arrival order among equals),
// at most d.maxObs (the oldest go).
func (g *corrGroup) insert(d *corrDef, o corrObs) {
	i := sort.Search(len(g.Obs), func(i int) bool { return g.Obs[i].T > o.T })
	g.Obs = append(g.Obs, corrObs{})
	copy(g.Obs[i+1:], g.Obs[i:])
	g.Obs[i] = o
	if g.distinct != nil {
		g.distinct[d.distinctKey(o)]++
	}
	if len(g.Obs) > d.maxObs {
		g.dropOldest(d, len(g.Obs)-d.maxObs)
	}
}

// dropOldest removes the n oldest observations.
func (g *corrGroup) dropOldest(d *corrDef, n int) {
	if g.distinct != nil {
		for _, o := range g.Obs[:n] {
			k := d.distinctKey(o)
			if g.distinct[k]--; g.distinct[k] == 0 {
				delete(g.distinct, k)
			}
		}
	}
	g.Obs = g.Obs[n:]
}

// distinctKey is what value_count and temporal count distinct values of.
func (d *corrDef) distinctKey(o corrObs) string {
	if d.rule.Correlation.Type == "temporal" {
		return strconv.Itoa(o.Rule)
	}
	return o.Value
}

// countDistinct is the number of distinct values (or rules) in the window.
func (g *corrGroup) countDistinct(d *corrDef) int {
	if g.distinct == nil {
		g.distinct = make(map[string]int, len(g.Obs))
		for _, o := range g.Obs {
			g.distinct[d.distinctKey(o)]++
		}
	}
	return len(g.distinct)
}

// closeWindows decides the at-close groups whose window ended before the
// watermark.
func (c *Correlator) closeWindows() []CorrelationHit {
	var hits []CorrelationHit
	for c.closing.Len() > 0 && c.closing[0].end < c.watermark {
		it := heap.Pop(&c.closing).(closeItem)
		g := c.groups[it.key]
		if g == nil {
			continue
		}
		delete(c.groups, it.key)
		c.nobs -= len(g.Obs)
		d := c.defs[g.Def]
		if d.holds(g) {
			hits = append(hits, d.hit(g))
		}
	}
	return hits
}

// queueExpiry puts a sliding group in the expiring heap at the time it
// may be dropped (twice its timespan after its newest observation).
func (c *Correlator) queueExpiry(gk string, g *corrGroup, span int64) {
	g.expiry = g.Obs[len(g.Obs)-1].T + 2*span
	heap.Push(&c.expiring, closeItem{end: g.expiry, key: gk})
}

// expireGroups drops the sliding groups whose newest observation is more
// than twice their timespan behind the watermark. An entry whose group
// has had newer observations since is queued again at its new time, so
// a group is dropped at the first watermark past its time whatever the
// heap's history (a restored correlator drops the same groups).
func (c *Correlator) expireGroups() {
	for c.expiring.Len() > 0 && c.expiring[0].end < c.watermark {
		it := heap.Pop(&c.expiring).(closeItem)
		g := c.groups[it.key]
		if g == nil || g.expiry != it.end {
			continue // dropped, or fired and begun again: a stale entry
		}
		span := int64(c.defs[g.Def].rule.Correlation.Timespan)
		if n := len(g.Obs); n > 0 && g.Obs[n-1].T+2*span >= c.watermark {
			c.queueExpiry(it.key, g, span)
			continue
		}
		delete(c.groups, it.key)
		c.nobs -= len(g.Obs)
	}
}

// holds evaluates the correlation condition on a group's window.
func (d *corrDef) holds(g *corrGroup) bool {
	cr := d.rule.Correlation
	var n int64
	switch cr.Type {
	case "event_count":
		n = int64(len(g.Obs))
	case "value_count", "temporal":
		n = int64(g.countDistinct(d))
	case "temporal_ordered":
		n = int64(orderedPrefix(g.Obs, len(cr.Rules)))
	}
	for _, cmp := range cr.Condition {
		if !cmp.holds(n) {
			return false
		}
	}
	return true
}

// orderedPrefix is how many of the rules, in order, occur one after the
// other (by event time) in the window.
func orderedPrefix(obs []corrObs, rules int) int {
	next := 0
	for _, o := range obs { // ordered by time
		if next < rules && o.Rule == next {
			next++
		}
	}
	return next
}

func (d *corrDef) hit(g *corrGroup) CorrelationHit {
	ids := make([]string, 0, len(g.Obs))
	for _, o := range g.Obs {
		ids = append(ids, o.ID)
	}
	last := int64(0)
	if n := len(g.Obs); n > 0 {
		last = g.Obs[n-1].T
	}
	return CorrelationHit{Rule: d.rule, GroupKey: g.Key, EventIDs: ids, Time: time.Unix(0, last).UTC()}
}

func firstValue(ev *Event, keys []string) (string, bool) {
	for _, k := range keys {
		if v, ok := ev.Field(k); ok {
			return v, true
		}
	}
	return "", false
}

var groupValueEscaper = strings.NewReplacer("%", "%25", ",", "%2C", "=", "%3D")

// groupKey renders the group-by values: "field=value" pairs, with , = and
// % in values escaped. A missing field groups as an empty value.
func groupKey(fields []string, ev *Event, keys [][]string) string {
	var b strings.Builder
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		v := ""
		if i < len(keys) {
			v, _ = firstValue(ev, keys[i])
		}
		b.WriteString(f)
		b.WriteByte('=')
		b.WriteString(groupValueEscaper.Replace(v))
	}
	return b.String()
}

// closeItem is a window end in the closing heap (earliest first, then key,
// so the order is the same on every node).
type closeItem struct {
	end int64
	key string
}

type closeHeap []closeItem

func (h closeHeap) Len() int { return len(h) }
func (h closeHeap) Less(i, j int) bool {
	if h[i].end != h[j].end {
		return h[i].end < h[j].end
	}
	return h[i].key < h[j].key
}
func (h closeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *closeHeap) Push(x any)   { *h = append(*h, x.(closeItem)) }
func (h *closeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func ruleRef(r *Rule) string {
	if r.ID != "" {
		return r.ID
	}
	return r.Title
}
