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
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"

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
	out := appliance.TopValues{Partial: !complete, Values: make([]appliance.ValueCount, 0, len(counts))}
	for v, c := range counts {
		out.Values = append(out.Values, appliance.ValueCount{Value: v, Count: c})
	}
	slices.SortFunc(out.Values, func(a, b appliance.ValueCount) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.Value, b.Value)
	})
	if len(out.Values) > n {
		out.Values = out.Values[:n]
	}
	return out, nil
}
