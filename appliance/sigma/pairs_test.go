package sigma

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestPairFilter: the pair filter reports the same literals as the
// automaton scanned as a trie and as a DFA, on texts that hold the literals
// in any case, at the edges, overlapping and cut short.
func TestPairFilter(t *testing.T) {
	sets := [][]string{
		{"sekurlsa::", "lsadump::", "kerberos::golden", "kerberos::ptt", "\\mimilib.dll", "eo.oe.kiwi"},
		{"ab", "abc", "bc", "b c", "cab", "zz", "a\\b", "é::"},
		{" 123 ", " 1234 ", "0x7e", "5859", "&__viewstate="},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, lits := range sets {
		slices.Sort(lits)
		p := newPairFilter(lits, seqIDs(len(lits)))
		if p == nil {
			t.Fatalf("%q: no pair filter", lits)
		}
		trie, dfa := newACMachine(lits, seqIDs(len(lits))), newACMachine(lits, seqIDs(len(lits)))
		trie.pairs, dfa.pairs = nil, nil
		dfa.buildDFA(maxDFACells)
		alphabet := "abcz :\\.1234eoklsé" + strings.ToUpper("abkls")
		for n := 0; n < 3000; n++ {
			var b strings.Builder
			for b.Len() < rng.IntN(40) {
				if rng.IntN(6) == 0 {
					lit := lits[rng.IntN(len(lits))]
					if rng.IntN(2) == 0 {
						lit = strings.ToUpper(lit)
					}
					b.WriteString(lit[:rng.IntN(len(lit)+1)])
					continue
				}
				b.WriteByte(alphabet[rng.IntN(len(alphabet))])
			}
			text := b.String()
			want, viaDFA, got := found(func(h func(int32)) { scan(trie, text, h) }), found(func(h func(int32)) { scan(dfa, text, h) }), found(func(h func(int32)) { scanPairs(p, text, h) })
			if !slices.Equal(got, want) || !slices.Equal(viaDFA, want) {
				t.Fatalf("%q in %q: pairs %v, DFA %v, trie %v", lits, text, got, viaDFA, want)
			}
			if any := scanPairs(p, text, nil); any != (len(want) > 0) {
				t.Fatalf("%q in %q: pairs say any %v, trie found %v", lits, text, any, want)
			}
		}
	}
	if newPairFilter([]string{"a", "bc"}, seqIDs(2)) != nil {
		t.Error("a one-byte literal got a pair filter")
	}
	if newPairFilter(make([]string, maxPairLiterals+1), seqIDs(maxPairLiterals+1)) != nil {
		t.Error("a large set got a pair filter")
	}
}

// found collects the ids a scan reports, sorted, each once.
func found(scan func(func(int32))) []int32 {
	var ids []int32
	scan(func(id int32) { ids = append(ids, id) })
	slices.Sort(ids)
	return slices.Compact(ids)
}
