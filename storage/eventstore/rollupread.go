package eventstore

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"

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

// splitRange cuts [lo, end) into runs of whole buckets of levels (indexes
// into rollupLevels, finest first, the minute first): with every level,
// whole days flanked by whole hours, whole minutes and loose seconds, so 30
// days read about 30 day buckets, up to 46 hours and 118 minutes, and at
// most two edges of under a minute.
func splitRange(lo, end uint64, levels []int) []span {
	var left, right []span
	level := -1
	for _, next := range levels {
		w := rollupLevels[next].width
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
		lo, end, level = a, b, next
	}
	if lo < end {
		left = append(left, span{level, lo, end})
	}
	return append(left, right...)
}

// readRollups calls fn with the value and count of every rollup key of
// field code in the whole buckets of sp, pending counts included.
func readRollups(rv rollupView, tenant string, code byte, sp span, fn func(value []byte, n int)) error {
	return readRollupsKeyed(rv, tenant, code, sp, func(_ uint64, v []byte, n int) { fn(v, n) })
}

// readRollupsKeyed is readRollups that also tells each key's bucket: the
// keys in Badger in key order, each with its pending count added, then
// those only pending, in no order.
func readRollupsKeyed(rv rollupView, tenant string, code byte, sp span, fn func(bucket uint64, value []byte, n int)) error {
	type bucketValue struct {
		bucket uint64
		value  string
	}
	var pending map[bucketValue]uint64
	rv.pending.each(tenant, code, sp.level, sp.from, sp.to, func(bucket uint64, value string, n uint64) {
		if pending == nil {
			pending = map[bucketValue]uint64{}
		}
		pending[bucketValue{bucket, value}] = n
	})
	l := rollupLevels[sp.level]
	prefix := append(tenantPrefix(prefixRollup, tenant), code, l.code)
	stop := binary.BigEndian.AppendUint64(bytes.Clone(prefix), sp.to)
	it := rv.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for it.Seek(binary.BigEndian.AppendUint64(bytes.Clone(prefix), sp.from)); it.Valid(); it.Next() {
		item := it.Item()
		k := item.Key()
		if bytes.Compare(k, stop) >= 0 {
			break
		}
		err := item.Value(func(v []byte) error {
			c, err := decodeRollup(v)
			if err != nil {
				return fmt.Errorf("rollup %q: %w", k, err)
			}
			bucket, value := binary.BigEndian.Uint64(k[len(prefix):]), k[len(prefix)+8:]
			n := c.at(rv.durable)
			if pending != nil {
				bv := bucketValue{bucket, string(value)}
				if p, ok := pending[bv]; ok {
					n += p
					delete(pending, bv)
				}
			}
			if n > 0 { // 0: made by a flush a crash cut short, nothing counted yet
				fn(bucket, value, int(n))
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	for bv, n := range pending {
		fn(bv.bucket, []byte(bv.value), int(n))
	}
	return nil
}

// bucketCacheMax bounds the values the bucket cache holds (about 60 bytes
// each); past it, it forgets buckets at random until a new one fits.
const bucketCacheMax = 1_000_000

// bucketCache keeps the counts of whole hour and day buckets as read, and
// of runs of them added up, with the stamps they were read at: a bucket
// whose stamp has not moved has not changed (every counted term moves it),
// so a range's counts then cost only its stamps, one key per bucket,
// instead of a key per value, and a run of days already added up is not
// added again. Runs of minutes under an hour (the edges of a field with
// hours) are small and read each time; a field without hours has up to a
// day of minutes at each edge of a range, which are kept like hours. A
// restore empties it (stamps start over).
type bucketCache struct {
	mu      sync.Mutex
	buckets map[bucketID]*bucketCounts
	values  int
	// gen counts the clears: a reader that began before one (its read
	// transaction may predate a restore) must not keep what it read.
	gen uint64
}

// generation is taken before a reader opens its read transaction.
func (c *bucketCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// bucketID names one bucket (to = its end) or a run of them.
type bucketID struct {
	tenant      string
	code, level byte
	from, to    uint64
}

type bucketCounts struct {
	stamps []uint64 // bucket, stamp, bucket, stamp... when read
	values []string
	counts []int
}

func (c *bucketCache) get(id bucketID, stamps []uint64) *bucketCounts {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b := c.buckets[id]; b != nil && slices.Equal(b.stamps, stamps) {
		return b
	}
	return nil
}

func (c *bucketCache) put(gen uint64, id bucketID, b *bucketCounts) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.buckets == nil {
		c.buckets = map[bucketID]*bucketCounts{}
	}
	if old := c.buckets[id]; old != nil {
		c.values -= len(old.values)
	}
	for k, old := range c.buckets { // in random order
		if c.values+len(b.values) <= bucketCacheMax {
			break
		}
		delete(c.buckets, k)
		c.values -= len(old.values)
	}
	c.buckets[id] = b
	c.values += len(b.values)
}

func (c *bucketCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buckets, c.values = nil, 0
	c.gen++
}

// spanCounts calls fn with every value and count of field code in the
// whole buckets of sp: hours and days through the bucket cache. gen is the
// cache's generation from before txn began.
func (s *Store) spanCounts(rv rollupView, gen uint64, tenant string, code byte, sp span, fn func(value string, n int)) error {
	if sp.level == 0 && sp.to-sp.from <= rollupLevels[1].width {
		return readRollups(rv, tenant, code, sp, func(v []byte, n int) { fn(string(v), n) })
	}
	l := rollupLevels[sp.level]
	type stamp struct{ bucket, n uint64 }
	var read []stamp
	err := readRollupsKeyed(rv, tenant, stampCode, sp, func(bucket uint64, _ []byte, n int) { read = append(read, stamp{bucket, uint64(n)}) })
	if err != nil {
		return err
	}
	slices.SortFunc(read, func(a, b stamp) int { return cmp.Compare(a.bucket, b.bucket) })
	stamps := make([]uint64, 0, 2*len(read)) // bucket, stamp, in bucket order
	for _, st := range read {
		stamps = append(stamps, st.bucket, st.n)
	}
	bucket := func(i int) (*bucketCounts, error) {
		from := stamps[i]
		id := bucketID{tenant, code, l.code, from, from + l.width}
		if b := s.buckets.get(id, stamps[i:i+2]); b != nil {
			return b, nil
		}
		b := &bucketCounts{stamps: stamps[i : i+2 : i+2]}
		err := readRollups(rv, tenant, code, span{sp.level, from, from + l.width}, func(v []byte, n int) {
			b.values = append(b.values, string(v))
			b.counts = append(b.counts, n)
		})
		if err != nil {
			return nil, err
		}
		s.buckets.put(gen, id, b)
		return b, nil
	}
	emit := func(b *bucketCounts) {
		for i, v := range b.values {
			fn(v, b.counts[i])
		}
	}
	switch len(stamps) {
	case 0:
		return nil
	case 2:
		b, err := bucket(0)
		if err == nil {
			emit(b)
		}
		return err
	}
	// Several buckets: their sum is kept too, as long as none changes.
	id := bucketID{tenant, code, l.code, sp.from, sp.to}
	if run := s.buckets.get(id, stamps); run != nil {
		emit(run)
		return nil
	}
	sum := map[string]int{}
	for i := 0; i < len(stamps); i += 2 {
		b, err := bucket(i)
		if err != nil {
			return err
		}
		for j, v := range b.values {
			sum[v] += b.counts[j]
		}
	}
	run := &bucketCounts{stamps: stamps, values: make([]string, 0, len(sum)), counts: make([]int, 0, len(sum))}
	for v, n := range sum {
		run.values = append(run.values, v)
		run.counts = append(run.counts, n)
	}
	s.buckets.put(gen, id, run)
	emit(run)
	return nil
}
