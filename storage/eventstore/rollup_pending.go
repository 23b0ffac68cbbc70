package eventstore

import (
	"encoding/binary"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/minixdr/xdr/appliance"
)

// Pending rollups. Writing a batch's counts with the batch made them cost a
// Badger key per distinct (field, value, bucket) per batch: on a stream of
// logins from a new address nearly every event, more keys than the events
// and their postings together, and Badger's memtable inserts were the
// node's largest cost (docs/performance.md). So the counts of applied
// batches are added up in memory and written together, each key once, when
// they are many or a few seconds old, and before a snapshot or close.
//
// The applied index on disk then moves only with those writes (a flush):
// after a crash, Raft replays the entries after it, which rewrite their
// events and keys unchanged and count again what was lost from memory. The
// log keeps those entries, since a snapshot flushes first. A flush is one
// write batch that Badger may commit in several transactions; a crash can
// leave some of its keys written without the applied index that follows
// them. Each key therefore keeps the count it had before the flush: a key
// whose flush index is above the applied index on disk is from an
// unfinished flush, and its earlier count is the true one (rollupCount.at).
//
// Readers see Badger and the pending counts together (rollupView): a flush
// swaps in an empty set, with its applied index, only once Badger holds its
// counts; a reader that began before holds the old set and index, by which
// the keys the flush wrote are from an unfinished flush.

// Flush thresholds: the distinct keys held (about 100 bytes each), and the
// age of the oldest count, which bounds the replay after a crash.
var (
	rollupPendingMax = 250_000
	rollupPendingAge = 5 * time.Second
)

// pendingField names one field (code stampCode: the stamps, under value
// "") and level of a tenant's pending counts.
type pendingField struct {
	code  byte
	level uint8 // index into rollupLevels
}

// pendingRollups are counts applied but not yet in Badger. The state
// machine adds to the current set; readers hold the set their view began
// with, which stops changing once a flush replaces it.
type pendingRollups struct {
	mu      sync.RWMutex
	tenants map[string]*tenantPending
	keys    int
	since   time.Time // when the oldest count was added
}

// tenantPending are one tenant's pending counts: bucket start -> value ->
// count, per field and level.
type tenantPending struct {
	fields map[pendingField]map[uint64]map[string]uint64
	// firstDay and latest (+1) are the first day and latest minute with
	// counts, as rollupSpan.
	firstDay, latest uint64
}

func newPendingRollups() *pendingRollups {
	return &pendingRollups{tenants: map[string]*tenantPending{}}
}

// add counts a batch's events: once per distinct rollup value an event
// has, in every level of its field, and in the stamps of its buckets.
// Counting per (term, minute) first keeps the loop over the events free of
// map writes under the lock.
func (p *pendingRollups) add(tenant string, events []appliance.Event, now time.Time) {
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
			if rollupFields[t.Field] != nil && !slices.Contains(seen, t) {
				seen = append(seen, t)
				perMinute[termMinute{t, minute}]++
			}
		}
	}
	if len(perMinute) == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.keys == 0 {
		p.since = now
	}
	tp := p.tenants[tenant]
	if tp == nil {
		tp = &tenantPending{fields: map[pendingField]map[uint64]map[string]uint64{}, firstDay: maxSecond}
		p.tenants[strings.Clone(tenant)] = tp
	}
	count := func(code byte, levels []int, minute uint64, value string, n uint64) {
		for _, level := range levels {
			f := pendingField{code, uint8(level)}
			buckets := tp.fields[f]
			if buckets == nil {
				buckets = map[uint64]map[string]uint64{}
				tp.fields[f] = buckets
			}
			start := minute - minute%rollupLevels[level].width
			values := buckets[start]
			if values == nil {
				values = map[string]uint64{}
				buckets[start] = values
			}
			if _, ok := values[value]; !ok {
				// The value may point into the entry's buffer, which must
				// not live as long as the count.
				value = strings.Clone(value)
				p.keys++
			}
			values[value] += n
		}
	}
	day := rollupLevels[len(rollupLevels)-1].width
	for tm, n := range perMinute {
		count(fieldCodes[tm.Field], rollupFields[tm.Field], tm.minute, tm.Value, n)
		count(stampCode, allLevels, tm.minute, "", n)
		tp.latest = max(tp.latest, tm.minute+1)
		tp.firstDay = min(tp.firstDay, tm.minute-tm.minute%day)
	}
}

// due reports whether the pending counts should be written now.
func (p *pendingRollups) due(now time.Time) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.keys >= rollupPendingMax || (p.keys > 0 && now.Sub(p.since) >= rollupPendingAge)
}

func (p *pendingRollups) empty() bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.keys == 0
}

// deltas lists the pending counts as rollup keys to add to.
func (p *pendingRollups) deltas() []rollupDelta {
	p.mu.RLock()
	defer p.mu.RUnlock()
	out := make([]rollupDelta, 0, p.keys)
	var kb []byte
	for tenant, tp := range p.tenants {
		prefixR := tenantPrefix(prefixRollup, tenant)
		for f, buckets := range tp.fields {
			l := rollupLevels[f.level]
			for start, values := range buckets {
				for v, n := range values {
					kb = appendRollupKey(kb[:0], prefixR, f.code, l, start, v)
					out = append(out, rollupDelta{key: string(kb), n: n, bucket: start, level: int(f.level), tenant: tenant})
				}
			}
		}
	}
	return out
}

// each calls fn with the pending counts of a tenant's field code in the
// buckets of level within [from, to).
func (p *pendingRollups) each(tenant string, code byte, level int, from, to uint64, fn func(bucket uint64, value string, n uint64)) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	tp := p.tenants[tenant]
	if tp == nil {
		return
	}
	buckets := tp.fields[pendingField{code, uint8(level)}]
	emit := func(start uint64, values map[string]uint64) {
		for v, n := range values {
			fn(start, v, n)
		}
	}
	// Whichever is fewer: the pending buckets, or the range's.
	if width := rollupLevels[level].width; uint64(len(buckets)) > (to-from)/width {
		for start := from - from%width; start < to; start += width {
			if start >= from {
				emit(start, buckets[start])
			}
		}
		return
	}
	for start, values := range buckets {
		if start >= from && start < to {
			emit(start, values)
		}
	}
}

// count is the pending count of one key.
func (p *pendingRollups) count(tenant string, code byte, level int, bucket uint64, value string) uint64 {
	p.mu.RLock()
	defer p.mu.RUnlock()
	tp := p.tenants[tenant]
	if tp == nil {
		return 0
	}
	return tp.fields[pendingField{code, uint8(level)}][bucket][value]
}

// span is the first day and latest minute (+1) of a tenant's pending
// counts, as rollupSpan; latest 0 when there are none.
func (p *pendingRollups) span(tenant string) (firstDay, latest uint64) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if tp := p.tenants[tenant]; tp != nil {
		return tp.firstDay, tp.latest
	}
	return maxSecond, 0
}

// rollupView is a consistent reading of the rollups: a Badger transaction
// and the pending counts not yet in it, and the applied index on disk that
// tells an unfinished flush's keys (rollupCount.at).
type rollupView struct {
	txn     *badger.Txn
	pending *pendingRollups
	durable uint64
}

// viewRollups runs fn on a rollup view; fn may use its transaction for
// the store's other keys too.
func (s *Store) viewRollups(fn func(rv rollupView) error) error {
	s.flushMu.RLock()
	rv := rollupView{txn: s.db.NewTransaction(false), pending: s.pending, durable: s.durable}
	s.flushMu.RUnlock()
	defer rv.txn.Discard()
	return fn(rv)
}

// at is a key's count for a reader or writer that knows the applied index
// on disk: a key written by a flush past it is from an unfinished one.
func (c rollupCount) at(durable uint64) uint64 {
	if c.index > durable {
		return c.prev
	}
	return c.count
}

// flushRollups writes the pending counts into wb, with index as the
// applied index after them, and returns what the writer should remember
// once wb is committed.
func (s *Store) flushRollups(wb *badger.WriteBatch, index uint64) ([]rollupDelta, error) {
	deltas := s.pending.deltas()
	if err := s.addRollups(wb, index, deltas); err != nil {
		return nil, err
	}
	if err := wb.Set(appliedKey, binary.BigEndian.AppendUint64(nil, index)); err != nil {
		return nil, err
	}
	return deltas, nil
}
