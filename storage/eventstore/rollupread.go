package eventstore

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// maxSecond caps open ranges (year 36812), so bucket arithmetic never
// overflows.
const maxSecond = 1 << 40

// span is a run of seconds [from, to) counted one way: level >= 0 is whole
// buckets of rollupLevels[level], level -1 is loose seconds at an edge.
type span struct {
	level    int
	from, to uint64
}

// splitRange cuts [lo, end) into runs of whole days, flanked by whole hours,
// whole minutes and loose seconds, so 30 days read about 30 day buckets,
// up to 46 hours and 118 minutes, and at most two edges of under a minute.
func splitRange(lo, end uint64) []span {
	var left, right []span
	level := -1
	for ; level+1 < len(rollupLevels); level++ {
		w := rollupLevels[level+1].width
		a, b := (lo+w-1)/w*w, end/w*w
		if a >= b {
			break
		}
		if lo < a {
			left = append(left, span{level, lo, a})
		}
		if b < end {
			right = append([]span{{level, b, end}}, right...)
		}
		lo, end = a, b
	}
	if lo < end {
		left = append(left, span{level, lo, end})
	}
	return append(left, right...)
}

// readRollups calls fn with the value and count of every rollup key of
// field code in the whole buckets of sp.
func readRollups(txn *badger.Txn, tenant string, code byte, sp span, fn func(value []byte, n int)) error {
	l := rollupLevels[sp.level]
	prefix := append(tenantPrefix(prefixRollup, tenant), code, l.code)
	stop := binary.BigEndian.AppendUint64(bytes.Clone(prefix), sp.to)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 256})
	defer it.Close()
	for it.Seek(binary.BigEndian.AppendUint64(bytes.Clone(prefix), sp.from)); it.Valid(); it.Next() {
		item := it.Item()
		k := item.Key()
		if bytes.Compare(k, stop) >= 0 {
			return nil
		}
		err := item.Value(func(v []byte) error {
			c, err := decodeRollup(v)
			if err != nil {
				return fmt.Errorf("rollup %q: %w", k, err)
			}
			fn(k[len(prefix)+8:], int(c.count))
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
