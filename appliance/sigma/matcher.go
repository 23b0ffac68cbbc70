package sigma

import (
	"fmt"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"sort"
	"strings"
)

// matcher tests one scalar value of an event.
type matcher interface {
	match(v *value) bool
}

// newStringMatcher picks the cheapest test for a pattern: equality, prefix,
// suffix, substring, or a general wildcard match. Patterns are lower-cased
// at compile time and compared with the value's lower-cased form, unless
// cased.
func newStringMatcher(p pattern, cased bool) matcher {
	if !cased {
		p = p.lower()
	}
	b := strBase{cased: cased}
	lits, lead, trail, simple := p.shape()
	switch {
	case !simple:
		return globMatcher{strBase: b, p: p}
	case len(lits) == 0 && (lead || trail):
		return anyString{}
	case len(lits) == 0:
		return litMatcher{strBase: b, op: litEqual}
	case lead && trail:
		return litMatcher{strBase: b, op: litContains, s: lits[0]}
	case lead:
		return litMatcher{strBase: b, op: litSuffix, s: lits[0]}
	case trail:
		return litMatcher{strBase: b, op: litPrefix, s: lits[0]}
	}
	return litMatcher{strBase: b, op: litEqual, s: lits[0]}
}

// shape describes a pattern that is at most one literal between optional
// * at either end; simple is false for anything else.
func (p pattern) shape() (lits []string, lead, trail, simple bool) {
	parts := p
	if len(parts) > 0 && parts[0].wild == '*' {
		lead = true
		parts = parts[1:]
	}
	if len(parts) > 0 && parts[len(parts)-1].wild == '*' {
		trail = true
		parts = parts[:len(parts)-1]
	}
	for _, part := range parts {
		if part.wild != 0 {
			return nil, false, false, false
		}
		lits = append(lits, part.lit)
	}
	return lits, lead, trail, len(lits) <= 1
}

// strBase picks the compared form of a value: strings, numbers and
// booleans compare as text.
type strBase struct{ cased bool }

func (b strBase) text(v *value) (string, bool) {
	if v.kind == kNull || v.kind == kList {
		return "", false
	}
	if b.cased {
		return v.s, true
	}
	return v.low, true
}

type anyString struct{}

func (anyString) match(v *value) bool { return v.kind != kNull && v.kind != kList }

// litMatcher compares a value with one literal: equal, prefix, suffix or
// substring.
type litMatcher struct {
	strBase
	op litOp
	s  string
}

type litOp uint8

const (
	litEqual litOp = iota
	litPrefix
	litSuffix
	litContains
)

func (m litMatcher) match(v *value) bool {
	t, ok := m.text(v)
	if !ok {
		return false
	}
	switch m.op {
	case litEqual:
		return t == m.s
	case litPrefix:
		return strings.HasPrefix(t, m.s)
	case litSuffix:
		return strings.HasSuffix(t, m.s)
	}
	return strings.Contains(t, m.s)
}

type globMatcher struct {
	strBase
	p pattern
}

func (m globMatcher) match(v *value) bool {
	t, ok := m.text(v)
	return ok && matchParts(m.p, t)
}

// setMatcher is many exact values at once.
type setMatcher struct {
	strBase
	set map[string]struct{}
}

func (m setMatcher) match(v *value) bool {
	t, ok := m.text(v)
	if !ok {
		return false
	}
	_, hit := m.set[t]
	return hit
}

// groupExact merges the equality tests of an any-of list into one set.
func groupExact(ms []matcher) []matcher {
	var sets [2]map[string]struct{} // by cased
	var out []matcher
	for _, m := range ms {
		if e, ok := m.(litMatcher); ok && e.op == litEqual {
			i := 0
			if e.cased {
				i = 1
			}
			if sets[i] == nil {
				sets[i] = map[string]struct{}{}
			}
			sets[i][e.s] = struct{}{}
			continue
		}
		out = append(out, m)
	}
	for i, s := range sets {
		switch {
		case len(s) == 1:
			for k := range s {
				out = append(out, litMatcher{strBase{i == 1}, litEqual, k})
			}
		case len(s) > 1:
			out = append(out, setMatcher{strBase{i == 1}, s})
		}
	}
	return out
}

// containsAnyMatcher is many case-insensitive substrings at once: one
// automaton pass over the value instead of a search per substring (some
// SigmaHQ rules list a hundred).
type containsAnyMatcher struct {
	m    *acMachine
	lits []string // lower case: the prefilter's atoms
}

// minContainsGroup is how many substrings make an automaton worth it
// (fewer would be faster as one pass too, but each automaton of a few
// literals costs ~10 KB: at 4, the Windows set held 78 MB instead of 56).
const minContainsGroup = 16

// maxMatcherDFACells bounds a containsAnyMatcher's table (a larger one
// scans with the trie).
const maxMatcherDFACells = 1 << 12

func (m containsAnyMatcher) match(v *value) bool {
	if v.kind == kNull || v.kind == kList {
		return false
	}
	return m.m.contains(v.low)
}

// groupContains merges the case-insensitive substring tests of an any-of
// list into one automaton.
func groupContains(ms []matcher, cache *Cache) []matcher {
	var lits []string
	var out []matcher
	for _, m := range ms {
		if c, ok := m.(litMatcher); ok && c.op == litContains && !c.cased && c.s != "" {
			lits = append(lits, c.s)
			continue
		}
		out = append(out, m)
	}
	if len(lits) < minContainsGroup {
		return ms
	}
	sort.Strings(lits) // one cache key for one set
	m, fresh := cache.machine(lits)
	if fresh {
		m.buildDFA(maxMatcherDFACells)
	}
	return append(out, containsAnyMatcher{m: m, lits: lits})
}

// anyOfMatcher matches when any of its matchers does.
type anyOfMatcher []matcher

func (m anyOfMatcher) match(v *value) bool {
	for _, x := range m {
		if x.match(v) {
			return true
		}
	}
	return false
}

func anyOf(ms []matcher) matcher {
	if len(ms) == 1 {
		return ms[0]
	}
	return anyOfMatcher(ms)
}

// regexMatcher is |re: on the value as written (case matters unless |i).
// need are literals one of which every match contains (lower case, from
// the expression): a substring test on the lower-cased value spares most
// runs of the regular expression.
type regexMatcher struct {
	re     *regexp.Regexp
	need   []string
	minLen int // no shorter value matches (in characters, so in bytes too)
	run    *byteRun
}

// byteRun is a run of at least n bytes of a set that every match holds
// (SNAKE's "\s[a-fA-F0-9]{64}\s"): a loop over the bytes rules most
// values out before the regular expression runs.
type byteRun struct {
	set [256]bool
	n   int
}

func newRegexMatcher(re *regexp.Regexp) matcher {
	if n, ok := longLineRegexp(re); ok {
		return longLineMatcher{n}
	}
	need, _ := regexLiterals(re)
	m := regexMatcher{re: re, need: need}
	if tree, err := syntax.Parse(re.String(), syntax.Perl); err == nil {
		m.minLen = minWidth(tree.Simplify())
		m.run = requiredRun(tree)
	}
	return m
}

// minRun: shorter runs are in most values; not worth a pass.
const minRun = 8

// requiredRun finds, among the parts of re's top-level concatenation, the
// longest C{n,…} with n ≥ minRun and C a class of ASCII characters (with
// (?i) the parser has folded it already), or nil.
func requiredRun(re *syntax.Regexp) *byteRun {
	for re.Op == syntax.OpCapture {
		re = re.Sub[0]
	}
	parts := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		parts = re.Sub
	}
	var best *syntax.Regexp
	for _, p := range parts {
		if p.Op != syntax.OpRepeat || p.Min < minRun || p.Sub[0].Op != syntax.OpCharClass {
			continue
		}
		ascii := true
		for _, r := range p.Sub[0].Rune {
			ascii = ascii && r < 0x80
		}
		if ascii && (best == nil || p.Min > best.Min) {
			best = p
		}
	}
	if best == nil {
		return nil
	}
	run := &byteRun{n: best.Min}
	ranges := best.Sub[0].Rune
	for i := 0; i+1 < len(ranges); i += 2 {
		for r := ranges[i]; r <= ranges[i+1]; r++ {
			run.set[r] = true
		}
	}
	return run
}

// in reports whether s has the run.
func (r *byteRun) in(s string) bool {
	n := 0
	for i := 0; i < len(s); i++ {
		if !r.set[s[i]] {
			n = 0
		} else if n++; n >= r.n {
			return true
		}
	}
	return false
}

// minWidth is the fewest characters a match of re has.
func minWidth(re *syntax.Regexp) int {
	switch re.Op {
	case syntax.OpLiteral:
		return len(re.Rune)
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return 1
	case syntax.OpCapture, syntax.OpPlus:
		return minWidth(re.Sub[0])
	case syntax.OpRepeat:
		return min(re.Min*minWidth(re.Sub[0]), 1<<20)
	case syntax.OpConcat:
		n := 0
		for _, s := range re.Sub {
			n += minWidth(s)
		}
		return n
	case syntax.OpAlternate:
		n := -1
		for _, s := range re.Sub {
			if w := minWidth(s); n < 0 || w < n {
				n = w
			}
		}
		return max(n, 0)
	}
	return 0
}

func (m regexMatcher) match(v *value) bool {
	if v.kind == kNull || v.kind == kList || len(v.s) < m.minLen {
		return false
	}
	if len(m.need) > 0 {
		found := false
		for _, n := range m.need {
			if strings.Contains(v.low, n) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if m.run != nil && !m.run.in(v.s) {
		return false
	}
	return m.re.MatchString(v.s)
}

// longLineMatcher is the common ".{N,}" (a value with a line of at least N
// characters), which RE2 runs as an automaton of N states.
type longLineMatcher struct{ n int }

func (m longLineMatcher) match(v *value) bool {
	if v.kind == kNull || v.kind == kList || len(v.s) < m.n {
		return false
	}
	run := 0
	for _, r := range v.s {
		if r == '\n' {
			run = 0
			continue
		}
		if run++; run >= m.n {
			return true
		}
	}
	return false
}

// longLineRegexp recognises ".{N,}" unanchored, without flags that change
// what "." matches.
func longLineRegexp(re *regexp.Regexp) (int, bool) {
	tree, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return 0, false
	}
	if tree.Op == syntax.OpRepeat && tree.Max == -1 && tree.Min > 0 && len(tree.Sub) == 1 && tree.Sub[0].Op == syntax.OpAnyCharNotNL {
		return tree.Min, true
	}
	return 0, false
}

// cidrMatcher is |cidr: the value is an IP address in the network.
type cidrMatcher struct{ prefix netip.Prefix }

func newCIDRMatcher(s string) (matcher, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("|cidr: %q is not a CIDR network", s)
	}
	return cidrMatcher{p.Masked()}, nil
}

func (m cidrMatcher) match(v *value) bool {
	if v.kind != kString {
		return false
	}
	a, err := netip.ParseAddr(strings.TrimSpace(v.s))
	if err != nil {
		return false
	}
	return m.prefix.Contains(a.Unmap())
}
