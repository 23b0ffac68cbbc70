package eventstore

// Aggregates over the postings (posting.go): each posting key carries a
// value and a second, and its value holds 16 bytes per event, so counting
// needs only keys and value sizes, never documents. Every event has exactly
// one "source" posting, which makes the source postings a per-second event
// counter.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
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

// Histogram implements appliance.EventStats.
func (s *Store) Histogram(ctx context.Context, tenant string, from, to time.Time, buckets int) ([]int, error) {
	if buckets <= 0 || !from.Before(to) {
		return nil, appliance.Errorf(appliance.EINVALID, "histogram needs from < to and at least one bucket")
	}
	counts := make([]int, buckets)
	lo, hi := secondsOf(from, to)
	span := float64(hi-lo) + 1
	_, err := s.walkPostings(ctx, tenant, fieldCodes[appliance.FieldSource], lo, hi, func(_ []byte, sec uint64, n int) {
		i := int(float64(sec-lo) / span * float64(buckets))
		counts[min(i, buckets-1)] += n
	})
	if err != nil {
		return nil, err
	}
	return counts, nil
}

// Top implements appliance.EventStats.
func (s *Store) Top(ctx context.Context, tenant, field string, from, to time.Time, n int) (appliance.TopValues, error) {
	code, ok := fieldCodes[field]
	if !ok {
		return appliance.TopValues{}, appliance.Errorf(appliance.EINVALID, "field %q has no index: use one of %v", field, appliance.IndexedFields)
	}
	counts := map[string]int{}
	lo, hi := secondsOf(from, to)
	complete, err := s.walkPostings(ctx, tenant, code, lo, hi, func(value []byte, _ uint64, c int) {
		counts[string(value)] += c
	})
	if err != nil {
		return appliance.TopValues{}, err
	}
	return appliance.TopValues{Partial: !complete, Values: topOf(counts, n)}, nil
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

// docScanMax is the most events in a range that Summary counts by reading
// their documents: one pass serves every field, where the postings cost a
// seek per distinct value of each field (about 8,000 seeks, over 100 ms,
// for the source addresses of a million events, however short the range).
// Reading a document costs about as much as ten seeks.
const docScanMax = 10_000

// Summary implements appliance.EventStats.
func (s *Store) Summary(ctx context.Context, tenant string, from, to time.Time, buckets int, fields []string, n int) (appliance.Summary, error) {
	return s.summary(ctx, tenant, from, to, buckets, fields, n, docScanMax)
}

// summary is Summary that reads documents when the range holds at most
// scanMax events.
func (s *Store) summary(ctx context.Context, tenant string, from, to time.Time, buckets int, fields []string, n, scanMax int) (appliance.Summary, error) {
	for _, f := range fields {
		if _, ok := fieldCodes[f]; !ok {
			return appliance.Summary{}, appliance.Errorf(appliance.EINVALID, "field %q has no index: use one of %v", f, appliance.IndexedFields)
		}
	}
	counts, err := s.Histogram(ctx, tenant, from, to, buckets)
	if err != nil {
		return appliance.Summary{}, err
	}
	total := 0
	for _, c := range counts {
		total += c
	}
	out := appliance.Summary{Counts: counts, Tops: make([]appliance.TopValues, len(fields))}
	if total <= scanMax {
		byField, err := s.countDocs(ctx, tenant, from, to, fields)
		if err != nil {
			return appliance.Summary{}, err
		}
		for i := range fields {
			out.Tops[i] = appliance.TopValues{Values: topOf(byField[i], n)}
		}
		return out, nil
	}
	errs := make([]error, len(fields))
	var wg sync.WaitGroup
	for i, f := range fields {
		wg.Go(func() { out.Tops[i], errs[i] = s.Top(ctx, tenant, f, from, to, n) })
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// countDocs counts the values of fields among the events in [from, to] (to
// the second, as the postings do) by reading their documents, each value
// as indexed and once per event.
func (s *Store) countDocs(ctx context.Context, tenant string, from, to time.Time, fields []string) ([]map[string]int, error) {
	// Whole seconds, as the postings count.
	if !from.IsZero() {
		from = from.Truncate(time.Second)
	}
	if !to.IsZero() {
		to = to.Truncate(time.Second).Add(time.Second - 1)
	}
	lower, upper := bounds(from, to)
	byField := make([]map[string]int, len(fields))
	for i := range byField {
		byField[i] = map[string]int{}
	}
	prefix := tenantPrefix(prefixEvent, tenant)
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		seen := map[string]bool{}
		read := 0
		for it.Seek(append(bytes.Clone(prefix), lower[:]...)); it.Valid(); it.Next() {
			if id := idFromKey(it.Item().Key()); bytes.Compare(id[:], upper[:]) > 0 {
				return nil
			}
			if read++; read%1024 == 0 && ctx.Err() != nil {
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
	return byField, err
}

// indexValues are a stored field's values as its index holds them: a
// scalar's text, or each element's of an array.
func indexValues(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		switch e := e.(type) {
		case string:
			out = append(out, appliance.IndexValue(e))
		case float64:
			out = append(out, appliance.IndexValue(strconv.FormatFloat(e, 'f', -1, 64)))
		case bool:
			out = append(out, strconv.FormatBool(e))
		}
	}
	return out
}
