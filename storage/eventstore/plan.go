package eventstore

import (
	"bytes"
	"cmp"
	"math"
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
	// Successive seeks of one iterator never raise upper.
	seek(upper appliance.EventID) bool
	// next moves to the next smaller ID; false when exhausted.
	next() bool
	id() appliance.EventID
	// estimate is about how many IDs the iterator yields in the planner's
	// range; unknownCount when it cannot tell cheaply.
	estimate() int
	close()
}

// unknownCount is the estimate of an iterator that cannot tell its size.
const unknownCount = math.MaxInt

// maxEstimateBuckets bounds the rollup reads of an estimate.
const maxEstimateBuckets = 400

type planner struct {
	txn          *badger.Txn
	rv           rollupView // its rollups, on txn
	tenant       string
	lower, upper appliance.EventID
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
		// The rarest term leads: its IDs are the targets the others seek to.
		slices.SortStableFunc(its, func(a, b idIter) int { return cmp.Compare(a.estimate(), b.estimate()) })
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
	// Postings are read one second at a time, mostly a key or two after each
	// seek: prefetching values after every seek cost more than it saved.
	it := p.txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: prefix})
	return &postingIter{it: it, prefix: prefix, lower: p.lower, size: p.count(code, value)}
}

// count is how many events in the planner's range have value, from the
// rollups of its whole minutes, hours and days (the loose seconds at the
// edges are left out); unknownCount for a field without rollups or a range
// of too many buckets.
func (p *planner) count(code byte, value string) int {
	if codeLevels[code] == nil {
		return unknownCount
	}
	// An open range counts from the tenant's first day to its latest minute.
	lo, end := idSecond(p.lower), min(idSecond(p.upper), maxSecond-1)+1
	first, latest, err := rollupSpan(p.rv, p.tenant)
	if err != nil || latest == 0 {
		return unknownCount
	}
	lo, end = max(lo, first), min(end, latest-1+rollupLevels[0].width)
	if lo >= end {
		return 0
	}
	spans := splitRange(lo, end, codeLevels[code])
	if estimateBuckets(spans) > maxEstimateBuckets {
		// A field without hours may have a day's minutes at each edge:
		// the days around the range, an estimate from above, are fewer.
		day := rollupLevels[len(rollupLevels)-1].width
		spans = splitRange(lo/day*day, min((end+day-1)/day*day, maxSecond), codeLevels[code])
		if estimateBuckets(spans) > maxEstimateBuckets {
			return unknownCount
		}
	}
	prefixR := tenantPrefix(prefixRollup, p.tenant)
	value = appliance.IndexValue(value)
	n := 0
	var key []byte
	for _, sp := range spans {
		if sp.level < 0 {
			continue
		}
		l := rollupLevels[sp.level]
		for b := sp.from; b < sp.to; b += l.width {
			n += int(p.rv.pending.count(p.tenant, code, sp.level, b, value))
			key = appendRollupKey(key[:0], prefixR, code, l, b, value)
			item, err := p.txn.Get(key)
			if err != nil {
				continue // none, or unreadable: an estimate only
			}
			_ = item.Value(func(v []byte) error {
				c, err := decodeRollup(v)
				n += int(c.at(p.rv.durable))
				return err
			})
		}
	}
	return n
}

// estimateBuckets is how many whole buckets spans have.
func estimateBuckets(spans []span) int {
	buckets := 0
	for _, sp := range spans {
		if sp.level >= 0 {
			buckets += int((sp.to - sp.from) / rollupLevels[sp.level].width)
		}
	}
	return buckets
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
func (s *sliceIter) estimate() int         { return len(s.ids) }
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
func (x *intersection) estimate() int         { return x.its[0].estimate() }
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

func (u *union) estimate() int {
	n := 0
	for _, it := range u.its {
		e := it.estimate()
		if e == unknownCount {
			return unknownCount
		}
		n += e
	}
	return n
}
func (u *union) close() {
	for _, it := range u.its {
		it.close()
	}
}
