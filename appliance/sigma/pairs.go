package sigma

import "sort"

// pairFilter finds a few literals faster than the automaton: each literal
// is indexed by its rarest pair of adjacent bytes (by byteWeight), the scan
// tests every pair of the text against a bit table, and only at a pair
// some literal has does it compare those literals in place. The automaton
// reads one table cell per byte, each depending on the last (a chain of
// memory loads); the pairs are independent of each other, so the processor
// tests several at once. Used for small literal sets (the keyword
// literals, scanned in every field of every Windows event), where a pair
// occurs rarely.
type pairFilter struct {
	bits  [1 << 16 / 64]uint64 // pair (first<<8 | second) → some literal has it
	keys  []uint16             // the pairs that index literals, sorted
	at    []int32              // key j's literals are cands[at[j]:at[j+1]]
	cands []pairCand
	text  string // the literals, concatenated
}

// pairCand is a literal text[off:off+n] with its pair at offset k.
type pairCand struct {
	off, n, k, id int32
}

// maxPairLiterals: more literals make most pairs someone's, and the
// compares cost more than the automaton.
const maxPairLiterals = 256

// newPairFilter indexes patterns (lower case) by their rarest pair, or
// returns nil when the set is too large or has a literal shorter than a
// pair.
func newPairFilter(patterns []string, ids []int32) *pairFilter {
	if len(patterns) > maxPairLiterals {
		return nil
	}
	type entry struct {
		pair uint16
		c    pairCand
	}
	entries := make([]entry, 0, len(patterns))
	p := &pairFilter{}
	for i, lit := range patterns {
		if len(lit) < 2 {
			return nil
		}
		best, bestW := 0, -1
		for k := 0; k+1 < len(lit); k++ {
			if w := byteWeight(lit[k]) * byteWeight(lit[k+1]); bestW < 0 || w < bestW {
				best, bestW = k, w
			}
		}
		pair := uint16(lit[best])<<8 | uint16(lit[best+1])
		entries = append(entries, entry{pair, pairCand{off: int32(len(p.text)), n: int32(len(lit)), k: int32(best), id: ids[i]}})
		p.text += lit
	}
	sort.SliceStable(entries, func(a, b int) bool { return entries[a].pair < entries[b].pair })
	for i, e := range entries {
		if i == 0 || e.pair != entries[i-1].pair {
			p.keys = append(p.keys, e.pair)
			p.at = append(p.at, int32(i))
			p.bits[e.pair>>6] |= 1 << (e.pair & 63)
		}
		p.cands = append(p.cands, e.c)
	}
	p.at = append(p.at, int32(len(entries)))
	return p
}

// byteWeight estimates how common a (lower-case) byte is in event text:
// frequent letters, digits and path punctuation high, the rest low.
func byteWeight(c byte) int {
	switch c {
	case 'e', 't', 'a', 'o', 'i', 'n', 's', 'r':
		return 8
	case ' ', '\\', '.', '-', '_', '/':
		return 6
	case 'h', 'l', 'd', 'c', 'u', 'm', 'f', 'p', 'g', 'w', 'y', 'b':
		return 5
	}
	switch {
	case '0' <= c && c <= '9':
		return 4
	case 'a' <= c && c <= 'z':
		return 2
	}
	return 1
}

// scanPairs reports the id of every literal of p occurring in text, ASCII
// letters folded to lower case, as scan does with the automaton; with hit
// nil it only reports whether any occurs, stopping at the first.
func scanPairs[T string | []byte](p *pairFilter, text T, hit func(int32)) bool {
	if len(text) < 2 {
		return false
	}
	found := false
	prev := uint32(foldASCII[text[0]])
	for i := 1; i < len(text); i++ {
		c := uint32(foldASCII[text[i]])
		pair := prev<<8 | c
		prev = c
		if p.bits[pair>>6&1023]&(1<<(pair&63)) != 0 && verifyPair(p, text, i-1, uint16(pair), hit) {
			if hit == nil {
				return true
			}
			found = true
		}
	}
	return found
}

// verifyPair compares the literals indexed by pair with text where the
// pair occurs at pos, reporting each found to hit (if not nil) and
// whether any was.
func verifyPair[T string | []byte](p *pairFilter, text T, pos int, pair uint16, hit func(int32)) bool {
	j := sort.Search(len(p.keys), func(j int) bool { return p.keys[j] >= pair })
	found := false
	for _, c := range p.cands[p.at[j]:p.at[j+1]] {
		start := pos - int(c.k)
		if start < 0 || start+int(c.n) > len(text) {
			continue
		}
		lit := p.text[c.off : c.off+c.n]
		same := true
		for x := 0; x < len(lit); x++ {
			if foldASCII[text[start+x]] != lit[x] {
				same = false
				break
			}
		}
		if same {
			if hit == nil {
				return true
			}
			hit(c.id)
			found = true
		}
	}
	return found
}
