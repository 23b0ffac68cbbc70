package eventstore

import (
	"context"
	"encoding/binary"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/minixdr/xdr/appliance"
)

// SummaryWith is Summary with its document-scan threshold, for tests.
func SummaryWith(s *Store, ctx context.Context, tenant string, from, to time.Time, buckets int, fields []string, n, scanMax int) (appliance.Summary, error) {
	return s.summary(ctx, tenant, from, to, buckets, fields, n, scanMax)
}

// DropRollups deletes the rollups and their marker, leaving the store as
// one written before rollups existed.
func DropRollups(s *Store) error {
	return s.db.DropPrefix([]byte{prefixRollup}, rollupMarkerKey)
}

// SetRollupPending sets the pending counts' flush thresholds (rollup_pending.go);
// the returned func restores them.
func SetRollupPending(keys int, age time.Duration) (restore func()) {
	oldKeys, oldAge := rollupPendingMax, rollupPendingAge
	rollupPendingMax, rollupPendingAge = keys, age
	return func() { rollupPendingMax, rollupPendingAge = oldKeys, oldAge }
}

// Crash closes the store without writing its pending counts, as a process
// that died; with partial set, it first writes every other pending key as
// a flush would, but not the applied index that ends one.
func Crash(s *Store, partial bool) error {
	s.stopWarm()
	s.warming.Wait()
	if err := s.Wait(); err != nil {
		return err
	}
	if deltas := s.pending.deltas(); partial && len(deltas) > 0 {
		var half []rollupDelta
		for i := 0; i < len(deltas); i += 2 {
			half = append(half, deltas[i])
		}
		wb := s.db.NewWriteBatch()
		if err := s.addRollups(wb, s.applied, half); err != nil {
			wb.Cancel()
			return err
		}
		if err := wb.Flush(); err != nil {
			return err
		}
	}
	return s.db.Close()
}

// SearchScan is Search without the indexes: every event of the range is
// read and checked.
func SearchScan(s *Store, ctx context.Context, req appliance.EventSearch) (appliance.EventPage, error) {
	return s.search(ctx, req, false)
}

// ForgetCounts empties the readers' bucket cache, as after a restart.
func ForgetCounts(s *Store) { s.buckets.clear() }

// WaitWarm waits for Open's background read of the latest days' counts.
func WaitWarm(s *Store) { s.warming.Wait() }

// CachedBuckets is how many buckets or runs the bucket cache holds.
func CachedBuckets(s *Store) int {
	s.buckets.mu.Lock()
	defer s.buckets.mu.Unlock()
	return len(s.buckets.buckets)
}

// ForgetRuns drops the cached sums of runs of buckets, keeping the buckets
// themselves, as right after Open's background read.
func ForgetRuns(s *Store) {
	s.buckets.mu.Lock()
	defer s.buckets.mu.Unlock()
	for id, b := range s.buckets.buckets {
		if len(b.stamps) > 2 {
			delete(s.buckets.buckets, id)
			s.buckets.values -= len(b.values)
		}
	}
}

// SetRollupCacheMax bounds the rollup writer's cache, so tests reach its
// eviction; the returned func restores the bound.
func SetRollupCacheMax(n int) (restore func()) {
	old := rollupCacheMax
	rollupCacheMax = n
	return func() { rollupCacheMax = old }
}

// MakeOldRollups turns the store's rollup marker into that of layout
// version (1 to 3) and adds a key the current layout never has (an hour of
// a source address), as in a store written before the layout changed.
func MakeOldRollups(s *Store, tenant string, version int) error {
	return s.db.Update(func(txn *badger.Txn) error {
		if err := txn.Delete(rollupMarkerKey); err != nil {
			return err
		}
		if err := txn.Set(oldRollupMarkerKeys[version-1], []byte{1}); err != nil {
			return err
		}
		k := appendRollupKey(nil, tenantPrefix(prefixRollup, tenant), fieldCodes["source.ip"], rollupLevels[1], 3600, "10.0.0.1")
		return txn.Set(k, rollupCount{count: 1}.encode())
	})
}

// MakeV4Rollups turns the store's rollups into layout v4's: values of
// count and index only (the index the applied one, or, with cutShort, one
// past it for one key, as a v4 batch cut short by a crash left it), under
// the v4 marker.
func MakeV4Rollups(s *Store, cutShort bool) error {
	if err := s.Flush(); err != nil {
		return err
	}
	return s.db.Update(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixRollup}})
		var keys, vals [][]byte
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				it.Close()
				return err
			}
			c, err := decodeRollup(v)
			if err != nil {
				it.Close()
				return err
			}
			index := s.applied
			if cutShort && len(keys) == 0 {
				index++
			}
			keys = append(keys, it.Item().KeyCopy(nil))
			vals = append(vals, binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, c.count), index))
		}
		it.Close()
		for i := range keys {
			if err := txn.Set(keys[i], vals[i]); err != nil {
				return err
			}
		}
		if err := txn.Delete(rollupMarkerKey); err != nil {
			return err
		}
		return txn.Set(oldRollupMarkerKeys[3], []byte{1})
	})
}

// RollupValueLens counts the store's rollup values by length.
func RollupValueLens(s *Store) (map[int]int, error) {
	lens := map[int]int{}
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixRollup}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			lens[int(it.Item().ValueSize())]++
		}
		return nil
	})
	return lens, err
}
