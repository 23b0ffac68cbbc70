package eventstore

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// warmDays is how many of each tenant's latest days warm reads: the
// dashboard's longest range.
const warmDays = 30

// warmFields are the rollup fields warm reads: all of them, in a fixed
// order.
var warmFields = slices.Sorted(maps.Keys(rollupFields))

// warm reads, in the background after Open, each tenant's latest days of
// counts into the bucket cache: the first view of a long range after a
// restart would otherwise read a key per value and day (a few hundred
// milliseconds for 30 days of 6,000 addresses, docs/performance.md). It
// stops when the store closes.
func (s *Store) warm(ctx context.Context) {
	start := time.Now()
	days := 0
	for _, tenant := range s.rollupTenants() {
		var first, latest uint64
		err := s.viewRollups(func(rv rollupView) (err error) {
			first, latest, err = rollupSpan(rv, tenant)
			return err
		})
		if err != nil || latest == 0 {
			continue
		}
		// The whole days before the latest: views read the latest day's
		// hours and minutes, which change with every batch.
		level := len(rollupLevels) - 1
		width := rollupLevels[level].width
		today := (latest - 1) / width * width
		for i := uint64(1); i <= warmDays && i*width <= today && today-i*width >= first; i++ {
			sp := span{level, today - i*width, today - (i-1)*width}
			for _, f := range warmFields {
				if ctx.Err() != nil {
					return
				}
				gen := s.buckets.generation()
				err := s.viewRollups(func(rv rollupView) error {
					return s.spanCounts(rv, gen, tenant, fieldCodes[f], sp, func(string, int) {})
				})
				if err != nil {
					s.log.Warn("reading the latest days' counts", "tenant", tenant, "err", err)
					return
				}
			}
			days++
		}
	}
	if days > 0 {
		s.log.Info("read the latest days' event counts", "days", days, "took", time.Since(start).Round(time.Millisecond))
	}
}

// rollupTenants lists the tenants with rollups, by seeking from one
// tenant's keys to the next's.
func (s *Store) rollupTenants() []string {
	var tenants []string
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixRollup}})
		defer it.Close()
		for it.Rewind(); it.Valid(); {
			k := it.Item().Key()
			end := bytes.IndexByte(k, 0)
			if end < 0 {
				return nil
			}
			tenants = append(tenants, string(k[1:end]))
			it.Seek(append(bytes.Clone(k[:end]), 1))
		}
		return nil
	})
	if err != nil {
		// Only the warm-up is lost: the counts are read when first asked.
		s.log.Warn("listing the tenants with event counts", "err", err)
	}
	return tenants
}
