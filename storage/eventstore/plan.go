package eventstore

import (
	"bytes"
	"slices"
	"strconv"

	"github.com/dgraph-io/badger/v4"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/query"
)

// idIter yields event IDs in descending order, never below the planner's
// lower bound.
type idIter interface {
	// seek positions at the largest ID <= upper; false when there is none.
	seek(upper appliance.EventID) bool
	// next moves to the next smaller ID; false when exhausted.
	next() bool
	id() appliance.EventID
	close()
}

type planner struct {
	txn    *badger.Txn
	tenant string
	lower  appliance.EventID
}

// plan returns an iterator over a superset of the events matching e, or nil
// when no index helps and the caller must scan.
func (p *planner) plan(e query.Expr) idIter {
	switch e := e.(type) {
	case *query.Term:
		return p.term(e)
	case *query.And:
		var its []idIter
		for _, t := range e.Terms {
			if it := p.plan(t); it != nil {
				its = append(its, it)
			}
		}
		switch len(its) {
		case 0:
			return nil
		case 1:
			return its[0]
		}
		return &intersection{its: its}
	case *query.Or:
		its := make([]idIter, 0, len(e.Terms))
		for _, t := range e.Terms {
			it := p.plan(t)
			if it == nil {
				for _, o := range its {
					o.close()
				}
				return nil
			}
			its = append(its, it)
		}
		return &union{its: its}
	}
	return nil
}

func (p *planner) term(t *query.Term) idIter {
	code, ok := fieldCodes[t.Field]
	if !ok {
		return nil
	}
	switch {
	case t.Op == query.OpEq:
		it := p.exact(code, t.Value)
		// Numbers are indexed in canonical form (22, not 22.0 or 022), and
		// the query language matches them by value: look up both spellings.
		if f, err := strconv.ParseFloat(t.Value, 64); err == nil {
			if canon := strconv.FormatFloat(f, 'f', -1, 64); canon != appliance.IndexValue(t.Value) {
				return &union{its: []idIter{it, p.exact(code, canon)}}
			}
		}
		return it
	case t.Op == query.OpPrefix && t.Value != "":
		return p.prefixIDs(indexValuePrefix(p.tenant, code, t.Value, false))
	}
	return nil
}

func (p *planner) exact(code byte, value string) idIter {
	prefix := indexValuePrefix(p.tenant, code, value, true)
	it := p.txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: prefix, PrefetchValues: true, PrefetchSize: 16})
	return &postingIter{it: it, prefix: prefix, lower: p.lower}
}

// prefixIDs collects the IDs of every value with a prefix: index keys sort by
// value before ID, so only a sorted copy gives time order.
func (p *planner) prefixIDs(prefix []byte) idIter {
	it := p.txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
	defer it.Close()
	var ids []appliance.EventID
	for it.Rewind(); it.Valid(); it.Next() {
		start := len(ids)
		if err := it.Item().Value(func(v []byte) error { ids = decodeIDs(ids, v); return nil }); err != nil {
			return nil
		}
		// Drop what is below the time range (the upper end is the seek's).
		kept := ids[:start]
		for _, id := range ids[start:] {
			if bytes.Compare(id[:], p.lower[:]) >= 0 {
				kept = append(kept, id)
			}
		}
		ids = kept
		if len(ids) > maxPrefixIDs {
			return nil
		}
	}
	slices.SortFunc(ids, func(a, b appliance.EventID) int { return bytes.Compare(b[:], a[:]) })
	ids = slices.Compact(ids)
	return &sliceIter{ids: ids}
}

// sliceIter walks IDs collected in descending order.
type sliceIter struct {
	ids []appliance.EventID
	pos int
}

func (s *sliceIter) seek(upper appliance.EventID) bool {
	s.pos, _ = slices.BinarySearchFunc(s.ids, upper, func(a, b appliance.EventID) int { return bytes.Compare(b[:], a[:]) })
	return s.pos < len(s.ids)
}

func (s *sliceIter) next() bool {
	s.pos++
	return s.pos < len(s.ids)
}

func (s *sliceIter) id() appliance.EventID { return s.ids[s.pos] }
func (s *sliceIter) close()                {}

// intersection yields IDs present in every child (leapfrog join).
type intersection struct {
	its []idIter
	cur appliance.EventID
}

func (x *intersection) seek(upper appliance.EventID) bool {
	target := upper
	for {
		agreed := true
		for _, it := range x.its {
			if !it.seek(target) {
				return false
			}
			if id := it.id(); id != target {
				if bytes.Compare(id[:], target[:]) > 0 {
					panic("eventstore: index iterator sought past its bound")
				}
				target, agreed = id, false
			}
		}
		if agreed {
			x.cur = target
			return true
		}
	}
}

func (x *intersection) next() bool {
	b, ok := before(x.cur)
	return ok && x.seek(b)
}

func (x *intersection) id() appliance.EventID { return x.cur }
func (x *intersection) close() {
	for _, it := range x.its {
		it.close()
	}
}

// union yields IDs present in any child, once each.
type union struct {
	its  []idIter
	live []bool
	cur  appliance.EventID
}

func (u *union) seek(upper appliance.EventID) bool {
	u.live = make([]bool, len(u.its))
	for i, it := range u.its {
		u.live[i] = it.seek(upper)
	}
	return u.pick()
}

func (u *union) pick() bool {
	found := false
	for i, it := range u.its {
		if !u.live[i] {
			continue
		}
		if id := it.id(); !found || bytes.Compare(id[:], u.cur[:]) > 0 {
			u.cur, found = id, true
		}
	}
	return found
}

func (u *union) next() bool {
	for i, it := range u.its {
		if u.live[i] && it.id() == u.cur {
			u.live[i] = it.next()
		}
	}
	return u.pick()
}

func (u *union) id() appliance.EventID { return u.cur }
func (u *union) close() {
	for _, it := range u.its {
		it.close()
	}
}
