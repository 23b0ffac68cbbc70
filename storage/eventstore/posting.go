package eventstore

import (
	"bytes"
	"encoding/binary"
	"slices"

	"github.com/dgraph-io/badger/v4"

	"github.com/minixdr/xdr/appliance"
)

// Postings. An index entry is not one key per (value, event) but one key
// per (value, second of event time, batch), whose value lists the IDs of
// that batch's events with that value in that second:
//
//	'x' tenant 0x00 field(1) value 0x00 second(8) tag(8) -> id(16) id(16) ... ascending
//
// The tag tells the postings of different batches apart: it is the hash
// half of the posting's smallest event ID, so it derives from the events
// alone (the same content gives the same keys on every node, whatever log
// index applied it) and differs between batches, whose events differ.
// A batch of a thousand events from one shipper covers a few seconds, so a
// low-cardinality value (an outcome, a host, a user) costs one key per batch
// instead of one per event: Badger's write cost is per key, and this cut it
// several-fold (docs/performance.md). Reading a value newest first walks its
// keys in reverse, one second at a time, merging the few postings of each
// second in memory.

// postingSuffixLen is the fixed tail after the value: NUL, second, tag.
const postingSuffixLen = 1 + 8 + 8

// idSecond is the second (Unix) of an ID's event time.
func idSecond(id appliance.EventID) uint64 {
	return binary.BigEndian.Uint64(id[:8]) / 1e9
}

// postingSecond reads the second of a posting key.
func postingSecond(k []byte) uint64 {
	return binary.BigEndian.Uint64(k[len(k)-16 : len(k)-8])
}

// decodeIDs appends the IDs of a posting value.
func decodeIDs(dst []appliance.EventID, v []byte) []appliance.EventID {
	for ; len(v) >= 16; v = v[16:] {
		var id appliance.EventID
		copy(id[:], v[:16])
		dst = append(dst, id)
	}
	return dst
}

// postingGroups groups a batch's index terms by value and second: key
// without its tag -> IDs.
func postingGroups(prefixX []byte, events []appliance.Event) map[string][]appliance.EventID {
	groups := make(map[string][]appliance.EventID, 64)
	var kb []byte
	for i := range events {
		e := &events[i]
		second := idSecond(e.ID)
		for _, t := range e.Terms {
			code, ok := fieldCodes[t.Field]
			if !ok {
				continue
			}
			kb = kb[:0]
			kb = append(append(kb, prefixX...), code)
			kb = append(append(kb, t.Value...), 0)
			kb = binary.BigEndian.AppendUint64(kb, second)
			groups[string(kb)] = append(groups[string(kb)], e.ID)
		}
	}
	return groups
}

// encodePosting completes a group's key with its tag and renders its IDs,
// sorted and de-duplicated (an array field may repeat a value).
func encodePosting(groupKey string, ids []appliance.EventID) (key, value []byte) {
	slices.SortFunc(ids, func(a, b appliance.EventID) int { return bytes.Compare(a[:], b[:]) })
	ids = slices.Compact(ids)
	key = append([]byte(groupKey), ids[0][8:]...)
	value = make([]byte, 0, 16*len(ids))
	for _, id := range ids {
		value = append(value, id[:]...)
	}
	return key, value
}

// postingIter walks the postings of one exact value newest first, a second
// at a time.
type postingIter struct {
	it     *badger.Iterator
	prefix []byte // 'x' tenant 0 code value 0
	lower  appliance.EventID
	ids    []appliance.EventID // the loaded second, descending
	pos    int
	second uint64 // of the loaded ids
	loaded bool
	size   int // estimate
}

// gallop is how many keys a posting iterator steps over one by one before
// it seeks instead: an intersection mostly moves a common term's iterator a
// few keys down, and stepping is cheaper than a seek for that.
const gallop = 16

func (p *postingIter) seek(upper appliance.EventID) bool {
	// Seek targets never increase, so the current ID, when at or below
	// upper, is the answer.
	if p.loaded {
		if cur := p.ids[p.pos]; bytes.Compare(cur[:], upper[:]) <= 0 {
			return p.valid()
		}
	}
	sec := idSecond(upper)
	if !p.loaded || p.second != sec {
		p.moveTo(sec)
		if !p.load() {
			return false
		}
	}
	// Skip IDs above upper within the loaded second.
	p.pos, _ = slices.BinarySearchFunc(p.ids, upper, func(a, b appliance.EventID) int { return bytes.Compare(b[:], a[:]) })
	if p.pos == len(p.ids) {
		if !p.load() {
			return false
		}
	}
	return p.valid()
}

// moveTo puts the Badger iterator on the newest key of a second at or
// before sec: by stepping when it is a few keys away, else by seeking.
func (p *postingIter) moveTo(sec uint64) {
	if p.loaded {
		for range gallop {
			if !p.it.Valid() || postingSecond(p.it.Item().Key()) <= sec {
				return
			}
			p.it.Next()
		}
	}
	seekKey := binary.BigEndian.AppendUint64(bytes.Clone(p.prefix), sec)
	p.it.Seek(append(seekKey, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))
}

func (p *postingIter) next() bool {
	p.pos++
	if p.pos == len(p.ids) && !p.load() {
		return false
	}
	return p.valid()
}

func (p *postingIter) valid() bool {
	id := p.ids[p.pos]
	return bytes.Compare(id[:], p.lower[:]) >= 0
}

// load reads every posting of the next (lower) second the iterator stands
// on, and leaves the iterator on the first key of the second after it.
func (p *postingIter) load() bool {
	p.ids, p.pos, p.loaded = p.ids[:0], 0, false
	for !p.loaded || len(p.ids) == 0 {
		if !p.it.Valid() {
			return false
		}
		p.second, p.loaded = postingSecond(p.it.Item().Key()), true
		for ; p.it.Valid(); p.it.Next() {
			k := p.it.Item().Key()
			if len(k) != len(p.prefix)+16 || postingSecond(k) != p.second {
				break
			}
			if err := p.it.Item().Value(func(v []byte) error { p.ids = decodeIDs(p.ids, v); return nil }); err != nil {
				return false
			}
		}
	}
	slices.SortFunc(p.ids, func(a, b appliance.EventID) int { return bytes.Compare(b[:], a[:]) })
	p.ids = slices.Compact(p.ids)
	return true
}

func (p *postingIter) id() appliance.EventID { return p.ids[p.pos] }
func (p *postingIter) estimate() int         { return p.size }
func (p *postingIter) close()                { p.it.Close() }
