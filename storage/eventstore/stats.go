package eventstore

// Aggregates. Fields with rollups (rollup.go) are counted from them for a
// range's whole minutes, hours and days; the loose seconds at its edges,
// and fields without rollups, from the postings (posting.go): each posting
// key carries a value and a second, and its value holds 16 bytes per event,
// so counting needs only keys and value sizes, or from the few documents of
// those seconds. Every event has exactly one "source" term, which makes the
// source counts an event counter.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	json "github.com/goccy/go-json"

	"github.com/minixdr/xdr/appliance"
)

// maxStatKeys bounds the posting keys one aggregate reads; past it the
// answer is marked partial rather than holding a page for seconds.
const maxStatKeys = 2_000_000

// postingCount is the number of event IDs in a posting without reading its
// value. Badger knows the exact length of an inline value, and the length of
// one in the value log to within a few header bytes; IDs are 16 bytes, so
// rounding to the nearest multiple is exact.
func postingCount(item *badger.Item) int {
	return int((item.ValueSize() + 8) / 16)
}

// walkPostings calls fn with the value and count of every posting of field
// code whose second is within [fromSec, toSec]. It seeks past the seconds
// outside the range of each value, so it reads the range's keys plus a few
// per distinct value. It reports false when it stopped at maxStatKeys.
func (s *Store) walkPostings(ctx context.Context, tenant string, code byte, fromSec, toSec uint64, fn func(value []byte, second uint64, n int)) (complete bool, err error) {
	prefix := append(tenantPrefix(prefixIndex, tenant), code)
	complete = true
	err = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		read := 0
		for it.Rewind(); it.Valid(); {
			if read++; read > maxStatKeys {
				complete = false
				return nil
			}
			if read%4096 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			k := it.Item().Key()
			if len(k) < len(prefix)+postingSuffixLen {
				it.Next()
				continue
			}
			value := k[len(prefix) : len(k)-postingSuffixLen]
			sec := postingSecond(k)
			switch {
			case sec < fromSec:
				// Jump to this value's first key in range.
				it.Seek(binary.BigEndian.AppendUint64(append(append(bytes.Clone(prefix), value...), 0), fromSec))
			case sec > toSec:
				// Jump to the next value.
				it.Seek(append(append(bytes.Clone(prefix), value...), 1))
			default:
				fn(value, sec, postingCount(it.Item()))
				it.Next()
			}
		}
		return nil
	})
	return complete, err
}

// secondsOf turns a time range into whole seconds; zero times are open.
func secondsOf(from, to time.Time) (uint64, uint64) {
	var lo, hi uint64 = 0, ^uint64(0)
	if !from.IsZero() && from.Unix() > 0 {
		lo = uint64(from.Unix())
	}
	if !to.IsZero() && to.Unix() >= 0 {
		hi = uint64(to.Unix())
	}
	return lo, hi
}

// secondRange is a time range's seconds as [lo, end), capped at
// maxSecond.
func secondRange(from, to time.Time) (lo, end uint64) {
	lo, hi := secondsOf(from, to)
	return min(lo, maxSecond), min(hi, maxSecond-1) + 1
}

// Histogram implements appliance.EventStats: each bucket's whole minutes,
// hours and days come from the rollups of the source field (every event
// has exactly one source), its loose seconds from the source postings.
func (s *Store) Histogram(ctx context.Context, tenant string, from, to time.Time, buckets int) ([]int, error) {
	if buckets <= 0 || !from.Before(to) {
		return nil, appliance.Errorf(appliance.EINVALID, "histogram needs from < to and at least one bucket")
	}
	counts := make([]int, buckets)
	lo, end := secondRange(from, to)
	if lo >= end {
		return counts, nil
	}
	bounds := bucketStarts(lo, end, buckets)
	var rolled, loose []span
	var rolledBucket, looseBucket []int
	for i := range buckets {
		for _, sp := range splitRange(bounds[i], bounds[i+1], rollupFields[appliance.FieldSource]) {
			if sp.level < 0 {
				loose, looseBucket = append(loose, sp), append(looseBucket, i)
			} else {
				rolled, rolledBucket = append(rolled, sp), append(rolledBucket, i)
			}
		}
	}
	code := fieldCodes[appliance.FieldSource]
	err := s.viewRollups(func(rv rollupView) error {
		if err := sumRollupSpans(rv, tenant, code, rolled, func(i, n int) { counts[rolledBucket[i]] += n }); err != nil {
			return err
		}
		return sumPostingSpans(ctx, rv.txn, tenant, code, loose, func(i, n int) { counts[looseBucket[i]] += n })
	})
	if err != nil {
		return nil, err
	}
	return counts, nil
}

// sumRollupSpans adds up the counts of every value of field code in each
// span, with one iterator per level, and the pending counts.
func sumRollupSpans(rv rollupView, tenant string, code byte, spans []span, add func(span, n int)) error {
	for level, l := range rollupLevels {
		prefix := append(tenantPrefix(prefixRollup, tenant), code, l.code)
		it := rv.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		for i, sp := range spans {
			if sp.level != level {
				continue
			}
			rv.pending.each(tenant, code, level, sp.from, sp.to, func(_ uint64, _ string, n uint64) { add(i, int(n)) })
			stop := binary.BigEndian.AppendUint64(bytes.Clone(prefix), sp.to)
			for it.Seek(binary.BigEndian.AppendUint64(bytes.Clone(prefix), sp.from)); it.Valid() && bytes.Compare(it.Item().Key(), stop) < 0; it.Next() {
				var c rollupCount
				if err := it.Item().Value(func(v []byte) (err error) { c, err = decodeRollup(v); return err }); err != nil {
					it.Close()
					return fmt.Errorf("rollup %q: %w", it.Item().Key(), err)
				}
				add(i, int(c.at(rv.durable)))
			}
		}
		it.Close()
	}
	return nil
}

// sumPostingSpans adds up the events of every value of field code whose
// second is in each span, from the postings: a seek per value and span, so
// only for a field of few values.
func sumPostingSpans(ctx context.Context, txn *badger.Txn, tenant string, code byte, spans []span, add func(span, n int)) error {
	if len(spans) == 0 {
		return nil
	}
	prefix := append(tenantPrefix(prefixIndex, tenant), code)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for it.Rewind(); it.Valid(); {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		k := it.Item().Key()
		if len(k) < len(prefix)+postingSuffixLen {
			return fmt.Errorf("malformed index key %q", k)
		}
		valuePrefix := bytes.Clone(k[:len(k)-postingSuffixLen+1]) // through the value's NUL
		for i, sp := range spans {
			for it.Seek(binary.BigEndian.AppendUint64(bytes.Clone(valuePrefix), sp.from)); it.Valid(); it.Next() {
				k := it.Item().Key()
				if !bytes.HasPrefix(k, valuePrefix) || len(k) != len(valuePrefix)+16 || postingSecond(k) >= sp.to {
					break
				}
				add(i, postingCount(it.Item()))
			}
		}
		// The next value.
		it.Seek(append(valuePrefix[:len(valuePrefix)-1:len(valuePrefix)-1], 1))
	}
	return nil
}

// bucketStarts is the first second of each histogram bucket, and end: the
// second sec of [lo, end) is in bucket ⌊(sec-lo)/(end-lo)·buckets⌋.
func bucketStarts(lo, end uint64, buckets int) []uint64 {
	span := float64(end - lo)
	index := func(sec uint64) int { return min(int(float64(sec-lo)/span*float64(buckets)), buckets-1) }
	starts := make([]uint64, buckets+1)
	starts[buckets] = end
	for i := 1; i < buckets; i++ {
		sec := lo + uint64(float64(i)*span/float64(buckets))
		for sec > lo && index(sec-1) >= i {
			sec--
		}
		for sec < end && index(sec) < i {
			sec++
		}
		starts[i] = max(sec, starts[i-1])
	}
	starts[0] = lo
	return starts
}

// Top implements appliance.EventStats.
func (s *Store) Top(ctx context.Context, tenant, field string, from, to time.Time, n int) (appliance.TopValues, error) {
	sum, err := s.tops(ctx, tenant, from, to, []string{field}, n, docScanMax)
	if err != nil {
		return appliance.TopValues{}, err
	}
	return sum[0], nil
}

// tops counts the values of fields in a range. A field with rollups costs
// its runs of whole buckets plus the loose seconds at the range's edges,
// which one pass over their documents counts for every field (at most
// scanMax documents; past that, the postings); another field walks its
// postings.
func (s *Store) tops(ctx context.Context, tenant string, from, to time.Time, fields []string, n, scanMax int) ([]appliance.TopValues, error) {
	for _, f := range fields {
		if _, ok := fieldCodes[f]; !ok {
			return nil, appliance.Errorf(appliance.EINVALID, "field %q has no index: use one of %v", f, appliance.IndexedFields)
		}
	}
	out := make([]appliance.TopValues, len(fields))
	lo, end := secondRange(from, to)
	if lo >= end {
		return out, nil
	}
	// Every field with rollups has minutes: their loose seconds are the
	// same.
	edges := splitRange(lo, end, allLevels)
	var rolled []string
	for _, f := range fields {
		if rollupFields[f] != nil {
			rolled = append(rolled, f)
		}
	}
	counts := map[string]map[string]int{}
	for _, f := range fields {
		counts[f] = map[string]int{}
	}
	for _, sp := range edges {
		if sp.level >= 0 || len(rolled) == 0 {
			continue
		}
		edge, err := s.countEdge(ctx, tenant, sp, rolled, scanMax)
		if err != nil {
			return nil, err
		}
		for i, f := range rolled {
			for v, c := range edge[i] {
				counts[f][v] += c
			}
		}
	}
	errs := make([]error, len(fields))
	partial := make([]bool, len(fields))
	var wg sync.WaitGroup
	for i, f := range fields {
		code, into := fieldCodes[f], counts[f]
		wg.Go(func() {
			if rollupFields[f] == nil {
				complete, err := s.walkPostings(ctx, tenant, code, lo, end-1, func(v []byte, _ uint64, c int) { into[string(v)] += c })
				partial[i], errs[i] = !complete, err
				return
			}
			gen := s.buckets.generation()
			errs[i] = s.viewRollups(func(rv rollupView) error {
				for _, sp := range splitRange(lo, end, rollupFields[f]) {
					if sp.level >= 0 {
						if err := s.spanCounts(rv, gen, tenant, code, sp, func(v string, c int) { into[v] += c }); err != nil {
							return err
						}
					}
				}
				return nil
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for i, f := range fields {
		out[i] = appliance.TopValues{Values: topOf(counts[f], n), Partial: partial[i]}
	}
	return out, nil
}

// countEdge counts fields' values among the events of a few loose seconds:
// from their documents, or, if there are more than scanMax of them, from
// the postings.
func (s *Store) countEdge(ctx context.Context, tenant string, sp span, fields []string, scanMax int) ([]map[string]int, error) {
	byField, complete, err := s.countDocs(ctx, tenant, sp.from, sp.to-1, fields, scanMax)
	if err != nil || complete {
		return byField, err
	}
	for i, f := range fields {
		into := map[string]int{}
		if _, err := s.walkPostings(ctx, tenant, fieldCodes[f], sp.from, sp.to-1, func(v []byte, _ uint64, c int) { into[string(v)] += c }); err != nil {
			return nil, err
		}
		byField[i] = into
	}
	return byField, nil
}

// topOf is the n most frequent values of counts, most frequent first, ties
// by value.
func topOf(counts map[string]int, n int) []appliance.ValueCount {
	vs := make([]appliance.ValueCount, 0, len(counts))
	for v, c := range counts {
		vs = append(vs, appliance.ValueCount{Value: v, Count: c})
	}
	slices.SortFunc(vs, func(a, b appliance.ValueCount) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.Value, b.Value)
	})
	return vs[:min(n, len(vs))]
}

// docScanMax is the most events of a range's loose seconds (under a
// minute at each edge) that Top counts from their documents; past it, the
// postings, at a seek per distinct value, are cheaper. Reading a document
// costs about as much as ten seeks.
const docScanMax = 10_000

// Summary implements appliance.EventStats.
func (s *Store) Summary(ctx context.Context, tenant string, from, to time.Time, buckets int, fields []string, n int) (appliance.Summary, error) {
	return s.summary(ctx, tenant, from, to, buckets, fields, n, docScanMax)
}

// summary is Summary that counts the loose seconds at a range's edges from
// at most scanMax documents.
func (s *Store) summary(ctx context.Context, tenant string, from, to time.Time, buckets int, fields []string, n, scanMax int) (appliance.Summary, error) {
	tops, err := s.tops(ctx, tenant, from, to, fields, n, scanMax)
	if err != nil {
		return appliance.Summary{}, err
	}
	counts, err := s.Histogram(ctx, tenant, from, to, buckets)
	if err != nil {
		return appliance.Summary{}, err
	}
	return appliance.Summary{Counts: counts, Tops: tops}, nil
}

// countDocs counts the values of fields among the events of the seconds
// [lo, hi] by reading their documents, each value as indexed and once per
// event. It stops, incomplete, past max documents.
func (s *Store) countDocs(ctx context.Context, tenant string, lo, hi uint64, fields []string, max int) (byField []map[string]int, complete bool, err error) {
	lower, upper := bounds(time.Unix(int64(lo), 0), time.Unix(int64(hi), 0).Add(time.Second-1))
	byField = make([]map[string]int, len(fields))
	for i := range byField {
		byField[i] = map[string]int{}
	}
	prefix := tenantPrefix(prefixEvent, tenant)
	complete = true
	err = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		seen := map[string]bool{}
		read := 0
		for it.Seek(append(bytes.Clone(prefix), lower[:]...)); it.Valid(); it.Next() {
			if id := idFromKey(it.Item().Key()); bytes.Compare(id[:], upper[:]) > 0 {
				return nil
			}
			if read++; read > max {
				complete = false
				return nil
			}
			if read%1024 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			var doc map[string]json.RawMessage
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &doc) }); err != nil {
				return fmt.Errorf("event document: %w", err)
			}
			for i, f := range fields {
				clear(seen)
				for _, v := range indexValues(doc[f]) {
					if !seen[v] {
						seen[v] = true
						byField[i][v]++
					}
				}
			}
		}
		return nil
	})
	return byField, complete, err
}

// indexValues are a stored field's values as its index holds them.
func indexValues(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	return appliance.AppendIndexValues(nil, v)
}
