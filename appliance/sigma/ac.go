package sigma

import "sort"

// acMachine is an Aho-Corasick automaton over bytes: one pass over a text
// reports every pattern occurring in it. The root's transitions are a
// dense table (every scan starts there and most bytes fall back to it);
// other states keep sorted edge lists.
type acMachine struct {
	root  [256]int32
	edges [][]acEdge
	fail  []int32
	dict  []int32   // next state on the fail chain with output, 0 if none
	out   [][]int32 // pattern ids ending at the state
}

type acEdge struct {
	b    byte
	next int32
}

func newACMachine(patterns []string, ids []int32) *acMachine {
	m := &acMachine{edges: [][]acEdge{nil}, out: [][]int32{nil}}
	for i, p := range patterns {
		s := int32(0)
		for j := 0; j < len(p); j++ {
			next := m.child(s, p[j])
			if next < 0 {
				next = int32(len(m.edges))
				m.edges = append(m.edges, nil)
				m.out = append(m.out, nil)
				m.addEdge(s, p[j], next)
			}
			s = next
		}
		m.out[s] = append(m.out[s], ids[i])
	}
	for _, e := range m.edges[0] {
		m.root[e.b] = e.next
	}
	// Breadth-first: fail links and dictionary links.
	m.fail = make([]int32, len(m.edges))
	m.dict = make([]int32, len(m.edges))
	queue := make([]int32, 0, len(m.edges))
	for _, e := range m.edges[0] {
		queue = append(queue, e.next)
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, e := range m.edges[s] {
			f := m.fail[s]
			for {
				if t := m.step(f, e.b); t >= 0 && t != e.next {
					m.fail[e.next] = t
					break
				}
				if f == 0 {
					m.fail[e.next] = 0
					break
				}
				f = m.fail[f]
			}
			if fl := m.fail[e.next]; len(m.out[fl]) > 0 {
				m.dict[e.next] = fl
			} else {
				m.dict[e.next] = m.dict[fl]
			}
			queue = append(queue, e.next)
		}
	}
	return m
}

func (m *acMachine) addEdge(s int32, b byte, next int32) {
	es := m.edges[s]
	i := sort.Search(len(es), func(i int) bool { return es[i].b >= b })
	es = append(es, acEdge{})
	copy(es[i+1:], es[i:])
	es[i] = acEdge{b, next}
	m.edges[s] = es
}

// child is the trie edge from s on b, or -1.
func (m *acMachine) child(s int32, b byte) int32 {
	es := m.edges[s]
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

// step is the trie edge from s, where the root has an edge for every
// byte (to itself when no pattern starts with it).
func (m *acMachine) step(s int32, b byte) int32 {
	if s == 0 {
		return m.root[b]
	}
	return m.child(s, b)
}

// scan reports the id of every pattern occurring in text (an id may be
// reported more than once).
func (m *acMachine) scan(text string, hit func(int32)) {
	s := int32(0)
	for i := 0; i < len(text); i++ {
		b := text[i]
		for {
			if s == 0 {
				s = m.root[b]
				break
			}
			if t := m.child(s, b); t >= 0 {
				s = t
				break
			}
			s = m.fail[s]
		}
		for o := s; o != 0; o = m.dict[o] {
			for _, id := range m.out[o] {
				hit(id)
			}
		}
	}
}
