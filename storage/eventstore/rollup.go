package eventstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/minixdr/xdr/appliance"
)

// Rollups: exact event counts per (field, value, time bucket), written by
// the same apply that writes the events, so a range's counts cost its
// buckets instead of its events or postings:
//
//	'r' tenant 0x00 field(1) level(1) bucket(8) value -> count(8) index(8)
//
// The bucket is the Unix second its minute, hour or day starts at (level
// 'M', 'H', 'D'; days in UTC). Within a tenant, field and level the keys
// sort by bucket then value, so the counts of a run of buckets are one range
// scan. An event counts once per distinct value it has (an array field may
// have several), as the postings do.
//
// A key's value is its count and the Raft index of the last batch that
// added to it. Badger may commit a large write batch in several
// transactions, so a crash can leave part of a batch written without its
// applied index; the replay then skips the keys already carrying its index
// instead of adding the batch twice. Every count derives from the events, so
// every node holds the same keys and counts; the index is history, so a
// snapshot (and the state digest made from it) holds only the count, and a
// restore gives every count index 0.
//
// rollupMarkerKey (a data key, so snapshots carry it) says the rollups cover
// every stored event. A store written before rollups existed has events but
// no marker: Open, and a restore of such a snapshot, rebuild the rollups
// from the postings before answering (rebuildRollups).
const prefixRollup = 'r'

var rollupMarkerKey = []byte("R rollups v1")

// rollupFields are the fields with rollups: the dashboard's chart (source)
// and top entities, and the search facets. Other indexed fields are counted
// from their postings.
var rollupFields = map[string]bool{
	appliance.FieldSource: true, "event.action": true, "event.outcome": true,
	"user.name": true, "source.ip": true, "host.name": true,
}

// rollupLevel is one bucket width.
type rollupLevel struct {
	code  byte
	width uint64 // seconds
}

// rollupLevels, finest first.
var rollupLevels = []rollupLevel{{'M', 60}, {'H', 3600}, {'D', 86400}}

// rollupValueLen is the length of a rollup key's value: count, index;
// snapshots hold only the count (rollupCountLen).
const (
	rollupCountLen = 8
	rollupValueLen = 16
)

// appendRollupKey appends the key counting value in the bucket of level
// holding second; prefixR is tenantPrefix(prefixRollup, tenant).
func appendRollupKey(dst, prefixR []byte, code byte, l rollupLevel, second uint64, value string) []byte {
	dst = append(append(dst, prefixR...), code, l.code)
	dst = binary.BigEndian.AppendUint64(dst, second-second%l.width)
	return append(dst, value...)
}

// rollupCacheMax bounds the counts the writer keeps in memory; past it the
// cache starts over (it only saves reads: Badger holds the truth).
const rollupCacheMax = 200_000

// rollupCount is a rollup key's value.
type rollupCount struct{ count, index uint64 }

func decodeRollup(v []byte) (rollupCount, error) {
	if len(v) != rollupValueLen {
		return rollupCount{}, fmt.Errorf("rollup value has %d bytes, want %d", len(v), rollupValueLen)
	}
	return rollupCount{binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:])}, nil
}

func (c rollupCount) encode() []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(make([]byte, 0, rollupValueLen), c.count), c.index)
}

// rollupDeltas counts a batch's events per rollup key. Aggregating the batch
// first makes the write cost per distinct (field, value, bucket), not per
// event; counting per (term, minute) before building keys keeps the loop
// over events free of allocations.
func rollupDeltas(tenant string, events []appliance.Event) map[string]uint64 {
	type termMinute struct {
		appliance.Term
		minute uint64
	}
	perMinute := make(map[termMinute]uint64, 64)
	var seen []appliance.Term
	for i := range events {
		e := &events[i]
		minute := idSecond(e.ID) / 60 * 60
		seen = seen[:0]
		for _, t := range e.Terms {
			if rollupFields[t.Field] && !slices.Contains(seen, t) {
				seen = append(seen, t)
				perMinute[termMinute{t, minute}]++
			}
		}
	}
	deltas := make(map[string]uint64, 2*len(perMinute))
	prefixR := tenantPrefix(prefixRollup, tenant)
	var kb []byte
	for tm, n := range perMinute {
		for _, l := range rollupLevels {
			kb = appendRollupKey(kb[:0], prefixR, fieldCodes[tm.Field], l, tm.minute, tm.Value)
			deltas[string(kb)] += n
		}
	}
	return deltas
}

// addRollups writes a batch's rollup counts into wb and returns the new
// values, to be cached once the batch is committed.
func (s *Store) addRollups(wb *badger.WriteBatch, index uint64, tenant string, events []appliance.Event) (map[string]rollupCount, error) {
	deltas := rollupDeltas(tenant, events)
	if len(deltas) == 0 {
		return nil, nil
	}
	keys := make([]string, 0, len(deltas))
	for k := range deltas {
		keys = append(keys, k)
	}
	slices.Sort(keys) // Badger reads nearby keys faster in order
	out := make(map[string]rollupCount, len(keys))
	err := s.db.View(func(txn *badger.Txn) error {
		for _, k := range keys {
			cur, ok := s.rollupCache[k]
			if !ok {
				item, err := txn.Get([]byte(k))
				switch {
				case errors.Is(err, badger.ErrKeyNotFound):
				case err != nil:
					return err
				default:
					if err := item.Value(func(v []byte) (err error) { cur, err = decodeRollup(v); return err }); err != nil {
						return fmt.Errorf("rollup %q: %w", k, err)
					}
				}
			}
			if cur.index >= index {
				continue // written by this batch before a crash
			}
			out[k] = rollupCount{count: cur.count + deltas[k], index: index}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read rollups: %w", err)
	}
	for k, c := range out {
		if err := wb.Set([]byte(k), c.encode()); err != nil {
			return nil, fmt.Errorf("write rollup: %w", err)
		}
	}
	return out, nil
}

// cacheRollups keeps a committed batch's rollup counts for the next batch.
func (s *Store) cacheRollups(written map[string]rollupCount) {
	if len(s.rollupCache)+len(written) > rollupCacheMax {
		s.rollupCache = make(map[string]rollupCount, len(written))
	}
	for k, c := range written {
		s.rollupCache[k] = c
	}
}

// ensureRollups rebuilds the rollups when the store lacks its marker: an
// empty store just gets the marker, one written before rollups existed gets
// its rollups from the postings first.
func (s *Store) ensureRollups() error {
	s.rollupCache = map[string]rollupCount{}
	var marked, hasIndex bool
	err := s.db.View(func(txn *badger.Txn) error {
		if _, err := txn.Get(rollupMarkerKey); err == nil {
			marked = true
			return nil
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixIndex}})
		defer it.Close()
		it.Rewind()
		hasIndex = it.Valid()
		return nil
	})
	if err != nil || marked {
		return err
	}
	if hasIndex {
		start := time.Now()
		n, err := s.rebuildRollups()
		if err != nil {
			return fmt.Errorf("rebuild rollups: %w", err)
		}
		s.log.Info("rebuilt the event counts (rollups) of a store written before they existed", "keys", n, "took", time.Since(start).Round(time.Millisecond))
	}
	return s.db.Update(func(txn *badger.Txn) error { return txn.Set(rollupMarkerKey, []byte{1}) })
}

// rebuildRollups replaces every rollup with counts from the postings. The
// postings of one (tenant, field, value) are adjacent, so its counts are
// complete, and written, before the next value's start: memory stays per
// value.
func (s *Store) rebuildRollups() (int, error) {
	if err := s.db.DropPrefix([]byte{prefixRollup}); err != nil {
		return 0, err
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	written := 0
	counts := map[string]uint64{}
	flush := func() error {
		for k, c := range counts {
			if err := wb.Set([]byte(k), rollupCount{count: c, index: s.applied}.encode()); err != nil {
				return err
			}
		}
		written += len(counts)
		clear(counts)
		return nil
	}
	var group, rk []byte // group: 'x' tenant 0 code value 0 of the postings being counted
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixIndex}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			tenantEnd := slices.Index(k, 0)
			if tenantEnd < 0 || len(k) < tenantEnd+2+postingSuffixLen {
				return fmt.Errorf("malformed index key %q", k)
			}
			code := k[tenantEnd+1]
			if !rollupCode(code) {
				continue
			}
			if head := k[:len(k)-16]; string(head) != string(group) {
				if err := flush(); err != nil {
					return err
				}
				group = append(group[:0], head...)
			}
			prefixR := append([]byte{prefixRollup}, k[1:tenantEnd+1]...)
			value := string(k[tenantEnd+2 : len(k)-postingSuffixLen])
			for _, l := range rollupLevels {
				rk = appendRollupKey(rk[:0], prefixR, code, l, postingSecond(k), value)
				counts[string(rk)] += uint64(postingCount(it.Item()))
			}
		}
		return flush()
	})
	if err != nil {
		return 0, err
	}
	return written, wb.Flush()
}

// rollupCode reports whether a field code has rollups.
func rollupCode(code byte) bool {
	for f := range rollupFields {
		if fieldCodes[f] == code {
			return true
		}
	}
	return false
}
