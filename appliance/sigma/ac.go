package sigma

import "sort"

// acMachine is an Aho-Corasick automaton over bytes: one pass over a text
// reports every pattern occurring in it. Patterns are lower case and the
// scan folds ASCII letters, so an ASCII text need not be lower-cased
// first (scanValue lower-cases the others). The root's transitions are a
// dense table (every scan starts there and most bytes fall back to it);
// other states keep sorted edge lists.
type acMachine struct {
	root [256]int32
	// The trie, flattened into pointer-free arrays (the automata of a
	// large rule set hold about a million states; the garbage collector
	// need not scan them): state s's edges are edges[edgeAt[s]:edgeAt[s+1]]
	// sorted by byte, its own pattern ids out[outAt[s]:outAt[s+1]].
	edgeAt, outAt []int32
	edges         []acEdge
	out           []int32
	fail          []int32
	dict          []int32 // next state on the fail chain with output, 0 if none
	// first is the first state with output on s's fail chain, s included
	// (0 if none): the scan's only per-byte output test.
	first []int32

	// The automaton as a DFA when small enough: bytes map to classes (each
	// byte of a pattern its own, all others class 0, which always leads
	// back to the root), delta[s*nclass+class] the next state's row
	// (buildDFA).
	class  [256]uint8
	nclass int
	delta  []int32

	// pairs finds the literals of a small set faster than the automaton
	// (nil for a large set): scan uses it.
	pairs *pairFilter
}

// DFA tables (int32 cells) are bounded per automaton and per rule set; a
// larger automaton scans with the trie and fail links instead.
const (
	maxDFACells      = 1 << 20
	maxDFACellsTotal = 8 << 20
)

type acEdge struct {
	b    byte
	next int32
}

func newACMachine(patterns []string, ids []int32) *acMachine {
	// Build with per-state slices, then flatten.
	edges := [][]acEdge{nil}
	outs := [][]int32{nil}
	child := func(s int32, b byte) int32 { return findEdge(edges[s], b) }
	for i, p := range patterns {
		s := int32(0)
		for j := 0; j < len(p); j++ {
			next := child(s, p[j])
			if next < 0 {
				next = int32(len(edges))
				edges = append(edges, nil)
				outs = append(outs, nil)
				edges[s] = insertEdge(edges[s], acEdge{p[j], next})
			}
			s = next
		}
		outs[s] = append(outs[s], ids[i])
	}
	n := len(edges)
	m := &acMachine{edgeAt: make([]int32, n+1), outAt: make([]int32, n+1), fail: make([]int32, n), dict: make([]int32, n)}
	for s := 0; s < n; s++ {
		m.edgeAt[s] = int32(len(m.edges))
		m.edges = append(m.edges, edges[s]...)
		m.outAt[s] = int32(len(m.out))
		m.out = append(m.out, outs[s]...)
	}
	m.edgeAt[n], m.outAt[n] = int32(len(m.edges)), int32(len(m.out))
	for _, e := range edges[0] {
		m.root[e.b] = e.next
	}
	// Breadth-first: fail links and dictionary links.
	queue := make([]int32, 0, n)
	for _, e := range edges[0] {
		queue = append(queue, e.next)
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, e := range edges[s] {
			m.fail[e.next] = m.next(m.fail[s], e.b)
			if fl := m.fail[e.next]; m.outAt[fl+1] > m.outAt[fl] {
				m.dict[e.next] = fl
			} else {
				m.dict[e.next] = m.dict[fl]
			}
			queue = append(queue, e.next)
		}
	}
	m.pairs = newPairFilter(patterns, ids)
	m.first = make([]int32, n)
	for st := 1; st < n; st++ {
		if m.outAt[st+1] > m.outAt[st] {
			m.first[st] = int32(st)
		} else {
			m.first[st] = m.dict[st]
		}
	}
	return m
}

// buildDFA fills delta if it takes at most budget cells, in breadth-first
// order so that a state's fail state (shallower) is done before it. It
// returns the cells used.
func (m *acMachine) buildDFA(budget int) int {
	var used [256]bool
	for _, e := range m.edges {
		used[e.b] = true
	}
	m.nclass = 1
	var rep []byte // a byte of each class
	rep = append(rep, 0)
	for b := 0; b < 256; b++ {
		if used[b] {
			if m.nclass == 256 {
				return 0 // every byte used: no compression, keep the trie
			}
			m.class[b] = uint8(m.nclass)
			rep = append(rep, byte(b))
			m.nclass++
		}
	}
	for b := 'A'; b <= 'Z'; b++ {
		m.class[b] = m.class[b+'a'-'A']
	}
	n := len(m.fail)
	if n*m.nclass > min(maxDFACells, budget) {
		return 0
	}
	delta := make([]int32, n*m.nclass)
	for c := 1; c < m.nclass; c++ {
		delta[c] = m.root[rep[c]]
	}
	queue := make([]int32, 0, n)
	for _, e := range m.edges[m.edgeAt[0]:m.edgeAt[1]] {
		queue = append(queue, e.next)
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		row := delta[int(s)*m.nclass : int(s+1)*m.nclass]
		copy(row, delta[int(m.fail[s])*m.nclass:int(m.fail[s]+1)*m.nclass])
		for _, e := range m.edges[m.edgeAt[s]:m.edgeAt[s+1]] {
			row[m.class[e.b]] = e.next
			queue = append(queue, e.next)
		}
	}
	// Cells hold the next state's row offset (state × nclass), bitwise
	// negated when the state has output: the scan then reads one table
	// per byte.
	for i, next := range delta {
		delta[i] = next * int32(m.nclass)
		if m.first[next] != 0 {
			delta[i] = ^delta[i]
		}
	}
	m.delta = delta
	return len(delta)
}

func insertEdge(es []acEdge, e acEdge) []acEdge {
	i := sort.Search(len(es), func(i int) bool { return es[i].b >= e.b })
	es = append(es, acEdge{})
	copy(es[i+1:], es[i:])
	es[i] = e
	return es
}

func findEdge(es []acEdge, b byte) int32 {
	for lo, hi := 0, len(es); lo < hi; {
		mid := (lo + hi) / 2
		switch {
		case es[mid].b == b:
			return es[mid].next
		case es[mid].b < b:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return -1
}

// child is the trie edge from s on b, or -1.
func (m *acMachine) child(s int32, b byte) int32 {
	return findEdge(m.edges[m.edgeAt[s]:m.edgeAt[s+1]], b)
}

// foldASCII maps a byte to its ASCII lower case.
var foldASCII = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
	}
	for b := 'A'; b <= 'Z'; b++ {
		t[b] = byte(b + 'a' - 'A')
	}
	return t
}()

// scan reports the id of every pattern occurring in text, ASCII letters
// folded to lower case (an id may be reported more than once).
func scan[T string | []byte](m *acMachine, text T, hit func(int32)) {
	if m.pairs != nil {
		scanPairs(m.pairs, text, hit)
		return
	}
	if m.delta != nil {
		row, nc := int32(0), int32(m.nclass)
		for i := 0; i < len(text); i++ {
			row = m.delta[row+int32(m.class[text[i]])]
			if row < 0 {
				row = ^row
				m.emit(m.first[row/nc], hit)
			}
		}
		return
	}
	s := int32(0)
	for i := 0; i < len(text); i++ {
		s = m.next(s, foldASCII[text[i]])
		if o := m.first[s]; o != 0 {
			m.emit(o, hit)
		}
	}
}

// next is the state after s on b in the trie, following fail links.
func (m *acMachine) next(s int32, b byte) int32 {
	for s != 0 {
		if t := m.child(s, b); t >= 0 {
			return t
		}
		s = m.fail[s]
	}
	return m.root[b]
}

// contains reports whether any pattern occurs in text (lower case).
func (m *acMachine) contains(text string) bool {
	if m.pairs != nil {
		return scanPairs(m.pairs, text, nil)
	}
	if m.delta != nil {
		row := int32(0)
		for i := 0; i < len(text); i++ {
			if row = m.delta[row+int32(m.class[text[i]])]; row < 0 {
				return true
			}
		}
		return false
	}
	s := int32(0)
	for i := 0; i < len(text); i++ {
		if s = m.next(s, text[i]); m.first[s] != 0 {
			return true
		}
	}
	return false
}

// emit reports the outputs of o and of the states on its dictionary chain.
func (m *acMachine) emit(o int32, hit func(int32)) {
	for ; o != 0; o = m.dict[o] {
		for _, id := range m.out[m.outAt[o]:m.outAt[o+1]] {
			hit(id)
		}
	}
}
