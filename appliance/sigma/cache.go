package sigma

import (
	"crypto/sha256"
	"encoding/binary"
	"sync"
)

// Cache carries, from one compile of a rule set to the next, what
// compiling builds from its input alone: the prefilter's automata (by
// their literals) and the regular-expression matchers (by their text).
// After a rule change only the automata whose literals changed are built
// again, which is most of a compile's time (Options.Cache).
//
// It serves one compile at a time; what it holds is immutable once that
// compile ends, so the rule sets compiled with it share it safely. Each
// compile keeps, for the next, only what it used: the cache does not grow
// with the history of rule changes. Whether
// an automaton scans as a table (DFA) may depend on that history; what it
// finds does not, so every node matches the same events whatever its
// cache holds.
type Cache struct {
	mu       sync.Mutex // guards the maps
	machines map[[sha256.Size]byte]*acMachine
	regexps  map[string]matcher
	// What the compile in progress used (becomes the cache at its end).
	nextMachines map[[sha256.Size]byte]*acMachine
	nextRegexps  map[string]matcher
}

// NewCache returns an empty cache.
func NewCache() *Cache { return &Cache{} }

// begin starts a compile: what it looks up is kept for the next.
func (c *Cache) begin() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.nextMachines = map[[sha256.Size]byte]*acMachine{}
	c.nextRegexps = map[string]matcher{}
	c.mu.Unlock()
}

// end finishes a compile: the cache is now what it used.
func (c *Cache) end() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.machines, c.regexps = c.nextMachines, c.nextRegexps
	c.nextMachines, c.nextRegexps = nil, nil
	c.mu.Unlock()
}

// machine returns the automaton of lits (id i for lits[i]) from the cache,
// or built, with fresh true (its DFA is then the caller's to build).
func (c *Cache) machine(lits []string) (m *acMachine, fresh bool) {
	if c == nil {
		return newACMachine(lits, seqIDs(len(lits))), true
	}
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, l := range lits {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(l)))])
		h.Write([]byte(l))
	}
	var key [sha256.Size]byte
	h.Sum(key[:0])
	c.mu.Lock()
	defer c.mu.Unlock()
	if m = c.machines[key]; m == nil {
		m = c.nextMachines[key]
	}
	if m == nil {
		m, fresh = newACMachine(lits, seqIDs(len(lits))), true
	}
	if c.nextMachines != nil {
		c.nextMachines[key] = m
	}
	return m, fresh
}

func seqIDs(n int) []int32 {
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = int32(i)
	}
	return ids
}

// regexp returns the matcher of |re expr with flags, compiled or cached.
func (c *Cache) regexp(expr, flags string) (matcher, error) {
	key := flags + "\x00" + expr
	if c != nil {
		c.mu.Lock()
		m := c.regexps[key]
		if m == nil {
			m = c.nextRegexps[key]
		}
		c.mu.Unlock()
		if m != nil {
			c.keepRegexp(key, m)
			return m, nil
		}
	}
	re, err := compileRegexp(expr, flags)
	if err != nil {
		return nil, err
	}
	m := newRegexMatcher(re)
	c.keepRegexp(key, m)
	return m, nil
}

func (c *Cache) keepRegexp(key string, m matcher) {
	if c == nil {
		return
	}
	c.mu.Lock()
	if c.nextRegexps != nil {
		c.nextRegexps[key] = m
	}
	c.mu.Unlock()
}
