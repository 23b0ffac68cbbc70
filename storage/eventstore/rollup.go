package eventstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/minixdr/xdr/appliance"
)

// Rollups: exact event counts per (field, value, time bucket), so a
// range's counts cost its buckets instead of its events or postings:
//
//	'r' tenant 0x00 field(1) level(1) bucket(8) value -> count(8) index(8) prev(8) (rollup.go)
//
// The bucket is the Unix second its minute, hour or day starts at (level
// 'M', 'H', 'D'; days in UTC); a field has the levels rollupFields gives
// it. Within a tenant, field and level the keys sort by bucket then value,
// so the counts of a run of buckets are one range scan. An event counts
// once per distinct value it has (an array field may have several), as the
// postings do.
//
// Applied batches add to counts held in memory, which are written to these
// keys together (rollup_pending.go). A key's value is its count, the
// applied index of the flush that wrote it, and its count before that
// flush, for a crash in the middle of one. Every count derives from the
// events, so every node holds the same counts once its pending ones are
// written; the index and previous count are history, so a snapshot (and
// the state digest made from it), which flushes first, holds only the
// count, and a restore gives every count index 0.
//
// rollupMarkerKey (a data key, so snapshots carry it) says the rollups cover
// every stored event in the current layout. A store written before rollups
// existed has events but no marker, one of an older layout an old marker:
// Open, and a restore of such a snapshot, rebuild the rollups from the
// postings before answering (rebuildRollups).
const prefixRollup = 'r'

var rollupMarkerKey = []byte("R rollups v5")

// oldRollupMarkerKeys mark rollups of an earlier layout, rebuilt on Open
// (v1: hours for every field; v2: the v4 layout, in a tree never released,
// rebuilt all the same; v3: minutes only for source.ip and user.name; v4:
// values without the count before their flush); the marker goes with them,
// so every node holds the same keys.
var oldRollupMarkerKeys = [][]byte{[]byte("R rollups v1"), []byte("R rollups v2"), []byte("R rollups v3"), []byte("R rollups v4")}

// rollupFields are the fields with rollups, each with its levels (indexes
// into rollupLevels): the dashboard's chart (source) and top entities, and
// the search facets. Other indexed fields are counted from their postings.
// Source addresses and user names may take a new value with nearly every
// event (a syslog stream of failed logins from everywhere): each level is
// then another key per event, so they have no hours, and a range's edges
// read their minutes (at most a day's at each end). Minutes only, with
// hours and days added up from them by readers, wrote less again but made
// the first view of 30 days read every minute key (docs/performance.md).
var rollupFields = map[string][]int{
	appliance.FieldSource: allLevels, "event.action": allLevels, "event.outcome": allLevels, "host.name": allLevels,
	"user.name": {0, 2}, "source.ip": {0, 2},
}

// allLevels are the indexes of every level; stamps have all of them.
var allLevels = []int{0, 1, 2}

// codeLevels are rollupFields by field code; nil for a field without
// rollups.
var codeLevels = func() (levels [256][]int) {
	for f, l := range rollupFields {
		levels[fieldCodes[f]] = l
	}
	return levels
}()

// rollupLevel is one bucket width.
type rollupLevel struct {
	code  byte
	width uint64 // seconds
}

// rollupLevels, finest first.
var rollupLevels = [...]rollupLevel{{'M', 60}, {'H', 3600}, {'D', 86400}}

// rollupValueLen is the length of a rollup key's value: count, flush
// index, count before that flush; snapshots hold only the count
// (rollupCountLen).
const (
	rollupCountLen   = 8
	rollupValueLen   = 24
	rollupV4ValueLen = 16 // count, index: layout v4
)

// appendRollupKey appends the key counting value in the bucket of level
// holding second; prefixR is tenantPrefix(prefixRollup, tenant).
func appendRollupKey(dst, prefixR []byte, code byte, l rollupLevel, second uint64, value string) []byte {
	dst = append(append(dst, prefixR...), code, l.code)
	dst = binary.BigEndian.AppendUint64(dst, second-second%l.width)
	return append(dst, value...)
}

// rollupCacheMax bounds the counts the writer keeps in memory (about 100
// bytes each); past it, it forgets the counts of past buckets first
// (rollupWriter.evict). It only saves reads: Badger holds the truth.
var rollupCacheMax = 200_000

// rollupCount is a rollup key's value: its count, the applied index of
// the flush that wrote it, and its count before that flush.
type rollupCount struct{ count, index, prev uint64 }

func decodeRollup(v []byte) (rollupCount, error) {
	switch len(v) {
	case rollupValueLen:
		return rollupCount{binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:]), binary.BigEndian.Uint64(v[16:])}, nil
	case rollupV4ValueLen: // kept from layout v4 (keepV4Rollups): its count is the true one
		c := binary.BigEndian.Uint64(v)
		return rollupCount{c, binary.BigEndian.Uint64(v[8:]), c}, nil
	}
	return rollupCount{}, fmt.Errorf("rollup value has %d bytes, want %d", len(v), rollupValueLen)
}

func (c rollupCount) appendTo(b []byte) []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(b, c.count), c.index), c.prev)
}

func (c rollupCount) encode() []byte { return c.appendTo(make([]byte, 0, rollupValueLen)) }

// rollupWriter is the state machine's memory of the rollups it wrote, so
// a batch seldom reads Badger. A key it does not hold needs no read when
// its bucket starts at or after both the tenant's latest counted minute
// when the writer began remembering the tenant (no key of that bucket was
// written before: events mostly arrive in time order, so most of a batch's
// keys are in such buckets) and its level's floor (every key of that bucket
// written since is still held). Only the state machine's goroutine uses it.
type rollupWriter struct {
	cache map[string]cachedRollup
	since map[string]uint64 // tenant -> its latest minute with rollups, +1, when first seen; absent: not read yet
	floor [len(rollupLevels)]uint64
	// latest is the latest minute written, of any tenant: the buckets
	// before it are the first forgotten.
	latest uint64
}

// cachedRollup is a rollup count the writer holds, with its bucket.
type cachedRollup struct {
	rollupCount
	bucket uint64
	level  int
}

func (w *rollupWriter) reset() {
	*w = rollupWriter{cache: map[string]cachedRollup{}, since: map[string]uint64{}}
}

// held is a key's count if the writer knows it without reading Badger.
func (w *rollupWriter) held(tenant, key string, bucket uint64, level int) (rollupCount, bool) {
	if c, ok := w.cache[key]; ok {
		return c.rollupCount, true
	}
	return rollupCount{}, bucket >= w.since[tenant] && bucket >= w.floor[level]
}

// evict makes room for n more counts: it forgets, finest level first, the
// buckets before the one holding the latest minute written, which events
// arriving in time order no longer add to; if that is not enough, every
// count. Each level's floor rises past what it forgot, so those keys are
// read again if a late event needs them.
func (w *rollupWriter) evict(n int) {
	target := rollupCacheMax / 2
	for level, l := range rollupLevels {
		if len(w.cache)+n <= target {
			return
		}
		current := w.latest - w.latest%l.width
		for k, c := range w.cache {
			if c.level == level && c.bucket < current {
				delete(w.cache, k)
			}
		}
		w.floor[level] = max(w.floor[level], current)
	}
	if len(w.cache)+n > target {
		clear(w.cache)
		for level, l := range rollupLevels {
			w.floor[level] = max(w.floor[level], w.latest-w.latest%l.width+l.width)
		}
	}
}

// rollupDelta is what the pending counts add to one rollup key, and the
// key's count after it.
type rollupDelta struct {
	key    string
	tenant string
	n      uint64
	bucket uint64 // first second of the key's bucket
	level  int
	count  uint64
}

// stampCode is the field code of a bucket's stamp, which counts every term
// added to the bucket: a reader that kept a bucket's counts knows from its
// stamp alone whether they are still current. No field has code 0.
const stampCode = 0

// addRollups adds deltas to their keys in wb, flushed at index: each key
// gets its new count, index and the count it had (rollupCount).
func (s *Store) addRollups(wb *badger.WriteBatch, index uint64, deltas []rollupDelta) error {
	if len(deltas) == 0 {
		return nil
	}
	w := &s.rollups
	prev := make([]uint64, len(deltas))
	err := s.db.View(func(txn *badger.Txn) error {
		for i := range deltas {
			d := &deltas[i]
			if _, ok := w.since[d.tenant]; !ok {
				known, err := latestRollupMinute(txn, d.tenant)
				if err != nil {
					return err
				}
				w.since[d.tenant] = known
			}
			cur, ok := w.held(d.tenant, d.key, d.bucket, d.level)
			if !ok {
				item, err := txn.Get([]byte(d.key))
				switch {
				case errors.Is(err, badger.ErrKeyNotFound):
				case err != nil:
					return err
				default:
					if err := item.Value(func(v []byte) (err error) { cur, err = decodeRollup(v); return err }); err != nil {
						return fmt.Errorf("rollup %q: %w", d.key, err)
					}
				}
			}
			prev[i] = cur.at(s.durable)
			d.count = prev[i] + d.n
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read rollups: %w", err)
	}
	// One buffer for every key and value: Badger keeps the slices until
	// the batch is written.
	size := 0
	for i := range deltas {
		size += len(deltas[i].key) + rollupValueLen
	}
	buf := make([]byte, 0, size)
	for i := range deltas {
		d := &deltas[i]
		from := len(buf)
		buf = append(buf, d.key...)
		buf = rollupCount{d.count, index, prev[i]}.appendTo(buf)
		if err := wb.Set(buf[from:from+len(d.key)], buf[from+len(d.key):]); err != nil {
			return fmt.Errorf("write rollup: %w", err)
		}
	}
	return nil
}

// latestRollupMinute is a tenant's latest minute with rollups, +1; 0 when
// it has none. Every counted term stamps its minute, so the last minute
// stamp is the answer.
func latestRollupMinute(txn *badger.Txn, tenant string) (uint64, error) {
	prefix := append(tenantPrefix(prefixRollup, tenant), stampCode, rollupLevels[0].code)
	it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: prefix})
	defer it.Close()
	it.Seek(append(bytes.Clone(prefix), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))
	if !it.Valid() {
		return 0, nil
	}
	k := it.Item().Key()
	if len(k) != len(prefix)+8 {
		return 0, fmt.Errorf("malformed rollup stamp key %q", k)
	}
	return binary.BigEndian.Uint64(k[len(prefix):]) + 1, nil
}

// rollupSpan is the first second of a tenant's first day with rollups and
// its latest minute with rollups, +1 (0 when it has none), pending counts
// included.
func rollupSpan(rv rollupView, tenant string) (first, latest uint64, err error) {
	pendingFirst, pendingLatest := rv.pending.span(tenant)
	latest, err = latestRollupMinute(rv.txn, tenant)
	if err != nil {
		return 0, 0, err
	}
	if latest == 0 {
		if pendingLatest == 0 {
			return 0, 0, nil
		}
		return pendingFirst, pendingLatest, nil
	}
	day := rollupLevels[len(rollupLevels)-1]
	prefix := append(tenantPrefix(prefixRollup, tenant), stampCode, day.code)
	it := rv.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	it.Rewind()
	if !it.Valid() || len(it.Item().Key()) != len(prefix)+8 {
		return 0, 0, fmt.Errorf("tenant %q has minute stamps but no valid day stamp", tenant)
	}
	first = binary.BigEndian.Uint64(it.Item().Key()[len(prefix):])
	return min(first, pendingFirst), max(latest, pendingLatest), nil
}

// remember keeps a committed flush's rollup counts for the next one.
func (w *rollupWriter) remember(written []rollupDelta, index uint64) {
	if len(written) == 0 {
		return
	}
	for i := range written {
		if d := &written[i]; d.level == 0 {
			w.latest = max(w.latest, d.bucket)
		}
	}
	if len(w.cache)+len(written) > rollupCacheMax {
		w.evict(len(written))
	}
	for i := range written {
		d := &written[i]
		w.cache[d.key] = cachedRollup{rollupCount{count: d.count, index: index}, d.bucket, d.level}
	}
}

// ensureRollups rebuilds the rollups when the store lacks its marker: an
// empty store just gets the marker, one written before rollups existed, or
// with rollups of an older layout, gets its rollups from the postings
// first.
func (s *Store) ensureRollups() error {
	s.rollups.reset()
	s.buckets.clear()
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
	if keep, err := s.keepV4Rollups(); err != nil || keep {
		return err
	}
	if hasIndex {
		start := time.Now()
		n, err := s.rebuildRollups()
		if err != nil {
			return fmt.Errorf("rebuild rollups: %w", err)
		}
		s.log.Info("rebuilt the event counts (rollups) of a store written before they existed or in an older layout", "keys", n, "took", time.Since(start).Round(time.Millisecond))
	}
	return s.db.Update(func(txn *badger.Txn) error {
		for _, k := range oldRollupMarkerKeys {
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
		return txn.Set(rollupMarkerKey, []byte{1})
	})
}

// keepV4Rollups takes rollups of layout v4, whose values lack the count
// before their last write, as they are when every key was written by a
// batch at or below the applied index (a store closed cleanly, or restored
// from a snapshot): each such count is the true one, and decodeRollup
// reads the shorter value. A key past the applied index is from a batch cut
// short by a crash, which only v4's replay could correct: then the rollups
// are rebuilt.
func (s *Store) keepV4Rollups() (bool, error) {
	v4 := oldRollupMarkerKeys[len(oldRollupMarkerKeys)-1]
	keep := false
	err := s.db.View(func(txn *badger.Txn) error {
		if _, err := txn.Get(v4); errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixRollup}, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var c rollupCount
			if err := it.Item().Value(func(v []byte) (err error) { c, err = decodeRollup(v); return err }); err != nil {
				return fmt.Errorf("rollup %q: %w", it.Item().Key(), err)
			}
			if c.index > s.applied {
				return nil
			}
		}
		keep = true
		return nil
	})
	if err != nil || !keep {
		return false, err
	}
	return true, s.db.Update(func(txn *badger.Txn) error {
		if err := txn.Delete(v4); err != nil {
			return err
		}
		return txn.Set(rollupMarkerKey, []byte{1})
	})
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
	flush := func(counts map[string]uint64) error {
		for k, c := range counts {
			if err := wb.Set([]byte(k), rollupCount{count: c, index: s.applied}.encode()); err != nil {
				return err
			}
		}
		written += len(counts)
		clear(counts)
		return nil
	}
	// A tenant's stamps add up over all its fields, whose postings come
	// one after another: they are written when the next tenant starts.
	stamps := map[string]uint64{}
	var stampPrefix []byte
	var group, rk []byte // group: 'x' tenant 0 code value 0 of the postings being counted
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixIndex}})
		defer it.Close()
		for it.Rewind(); it.Valid(); {
			k := it.Item().Key()
			tenantEnd := slices.Index(k, 0)
			if tenantEnd < 0 || len(k) < tenantEnd+2+postingSuffixLen {
				return fmt.Errorf("malformed index key %q", k)
			}
			code := k[tenantEnd+1]
			if codeLevels[code] == nil {
				it.Seek(append(bytes.Clone(k[:tenantEnd+1]), code+1)) // the next field
				continue
			}
			if head := k[:len(k)-16]; string(head) != string(group) {
				if err := flush(counts); err != nil {
					return err
				}
				group = append(group[:0], head...)
			}
			prefixR := append([]byte{prefixRollup}, k[1:tenantEnd+1]...)
			if string(prefixR) != string(stampPrefix) {
				if err := flush(stamps); err != nil {
					return err
				}
				stampPrefix = prefixR
			}
			value := string(k[tenantEnd+2 : len(k)-postingSuffixLen])
			sec, n := postingSecond(k), uint64(postingCount(it.Item()))
			for _, level := range codeLevels[code] {
				rk = appendRollupKey(rk[:0], prefixR, code, rollupLevels[level], sec, value)
				counts[string(rk)] += n
			}
			for _, l := range rollupLevels {
				stamps[string(appendRollupKey(rk[:0], prefixR, stampCode, l, sec, ""))] += n
			}
			it.Next()
		}
		if err := flush(counts); err != nil {
			return err
		}
		return flush(stamps)
	})
	if err != nil {
		return 0, err
	}
	return written, wb.Flush()
}
