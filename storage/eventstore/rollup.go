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

// rollupWriter is the state machine's memory of the rollups it wrote, so
// a batch seldom reads Badger: the counts written lately, and each tenant's
// latest minute with counts. Events mostly arrive in time order, so most of
// a batch's keys are in buckets after that minute, which cannot exist yet.
// Only the state machine's goroutine uses it.
type rollupWriter struct {
	cache  map[string]rollupCount
	latest map[string]uint64 // tenant -> its latest minute with rollups, +1; absent: not read yet
}

func (w *rollupWriter) reset() {
	w.cache = map[string]rollupCount{}
	w.latest = map[string]uint64{}
}

// rollupDelta is what one batch adds to one rollup key.
type rollupDelta struct {
	n      uint64
	bucket uint64 // first second of the key's bucket
	stamp  bool
	minute bool // of the minute level
}

// stampCode is the field code of a bucket's stamp, which counts every term
// added to the bucket: a reader that kept a bucket's counts knows from its
// stamp alone whether they are still current. No field has code 0.
const stampCode = 0

// rollupDeltas counts a batch's events per rollup key (stamps included),
// and finds the batch's latest minute. Aggregating the batch first makes
// the write cost per distinct (field, value, bucket), not per event;
// counting per (term, minute) before building keys keeps the loop over
// events free of allocations.
func rollupDeltas(tenant string, events []appliance.Event) (map[string]rollupDelta, uint64) {
	type termMinute struct {
		appliance.Term
		minute uint64
	}
	perMinute := make(map[termMinute]uint64, 64)
	var seen []appliance.Term
	var latest uint64
	for i := range events {
		e := &events[i]
		minute := idSecond(e.ID) / 60 * 60
		latest = max(latest, minute)
		seen = seen[:0]
		for _, t := range e.Terms {
			if rollupFields[t.Field] && !slices.Contains(seen, t) {
				seen = append(seen, t)
				perMinute[termMinute{t, minute}]++
			}
		}
	}
	deltas := make(map[string]rollupDelta, 3*len(perMinute))
	prefixR := tenantPrefix(prefixRollup, tenant)
	var kb []byte
	add := func(code byte, value string, minute, n uint64) {
		for _, l := range rollupLevels {
			kb = appendRollupKey(kb[:0], prefixR, code, l, minute, value)
			d := deltas[string(kb)]
			d.n += n
			d.bucket, d.stamp, d.minute = minute-minute%l.width, code == stampCode, l == rollupLevels[0]
			deltas[string(kb)] = d
		}
	}
	stamps := map[uint64]uint64{}
	for tm, n := range perMinute {
		add(fieldCodes[tm.Field], tm.Value, tm.minute, n)
		stamps[tm.minute] += n
	}
	for minute, n := range stamps {
		add(stampCode, "", minute, n)
	}
	return deltas, latest
}

// addRollups writes a batch's rollup counts into wb and returns the new
// hour and day counts and the batch's latest minute, to be remembered once
// the batch is committed.
func (s *Store) addRollups(wb *badger.WriteBatch, index uint64, tenant string, events []appliance.Event) (map[string]rollupCount, uint64, error) {
	deltas, latest := rollupDeltas(tenant, events)
	if len(deltas) == 0 {
		return nil, 0, nil
	}
	keys := make([]string, 0, len(deltas))
	for k := range deltas {
		keys = append(keys, k)
	}
	slices.Sort(keys) // Badger reads nearby keys faster in order
	out := make(map[string]rollupCount, len(keys))
	err := s.db.View(func(txn *badger.Txn) error {
		known, ok := s.rollups.latest[tenant]
		if !ok {
			var err error
			if known, err = latestRollupMinute(txn, tenant); err != nil {
				return err
			}
			s.rollups.latest[tenant] = known
		}
		for _, k := range keys {
			d := deltas[k]
			cur, ok := s.rollups.cache[k]
			// A bucket starting after the tenant's latest counted minute
			// has no counts yet: no need to look.
			if !ok && known > 0 && d.bucket < known {
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
			out[k] = rollupCount{count: cur.count + d.n, index: index}
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("read rollups: %w", err)
	}
	// Stamps go last: Badger commits a write batch's transactions in
	// order, so a reader that sees a bucket's new stamp sees its counts.
	for _, stamps := range []bool{false, true} {
		for k, c := range out {
			if deltas[k].stamp == stamps {
				if err := wb.Set([]byte(k), c.encode()); err != nil {
					return nil, 0, fmt.Errorf("write rollup: %w", err)
				}
			}
		}
	}
	// Minute counts are not kept: events mostly arrive in time order, so a
	// minute seldom comes back, and it would crowd out the hours and days.
	for k := range out {
		if deltas[k].minute {
			delete(out, k)
		}
	}
	return out, latest, nil
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
// its latest minute with rollups, +1 (0 when it has none).
func rollupSpan(txn *badger.Txn, tenant string) (first, latest uint64, err error) {
	latest, err = latestRollupMinute(txn, tenant)
	if err != nil || latest == 0 {
		return 0, latest, err
	}
	day := rollupLevels[len(rollupLevels)-1]
	prefix := append(tenantPrefix(prefixRollup, tenant), stampCode, day.code)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	it.Rewind()
	if !it.Valid() || len(it.Item().Key()) != len(prefix)+8 {
		return 0, 0, fmt.Errorf("tenant %q has minute stamps but no valid day stamp", tenant)
	}
	return binary.BigEndian.Uint64(it.Item().Key()[len(prefix):]), latest, nil
}

// remember keeps a committed batch's rollup counts and latest minute for
// the next batch.
func (w *rollupWriter) remember(tenant string, written map[string]rollupCount, latest uint64) {
	if len(written) == 0 {
		return
	}
	if len(w.cache)+len(written) > rollupCacheMax {
		w.cache = make(map[string]rollupCount, len(written))
	}
	for k, c := range written {
		w.cache[k] = c
	}
	w.latest[tenant] = max(w.latest[tenant], latest+1)
}

// ensureRollups rebuilds the rollups when the store lacks its marker: an
// empty store just gets the marker, one written before rollups existed gets
// its rollups from the postings first.
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
			if !rollupCode(code) {
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
			for _, l := range rollupLevels {
				rk = appendRollupKey(rk[:0], prefixR, code, l, sec, value)
				counts[string(rk)] += n
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

// rollupCode reports whether a field code has rollups.
func rollupCode(code byte) bool {
	for f := range rollupFields {
		if fieldCodes[f] == code {
			return true
		}
	}
	return false
}
