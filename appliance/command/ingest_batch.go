package command

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/klauspost/compress/s2"

	"github.com/minixdr/xdr/appliance"
)

// Versions of the IngestBatch body. Version 2 is version 1's body
// compressed as one S2 block: event documents are JSON and compress about
// 3-5x, which cuts what the Raft log writes, fsyncs and sends to every
// follower for a few hundred microseconds of CPU per 1,000 events.
const (
	ingestBatchPlain      = 1
	ingestBatchCompressed = 2
)

// maxDecodedBatch bounds a compressed body's decoded size (a body is at
// most the 32 MiB ingest limit plus index terms).
const maxDecodedBatch = 256 << 20

const flagIdempotent = 1 << 0

// encodeIngestBatch returns the version 1 entry of b.
func encodeIngestBatch(b *IngestBatch) []byte {
	return appendIngestBatch(append(make([]byte, 0, 2+ingestBatchSize(b)), byte(TypeIngestBatch), ingestBatchPlain), b)
}

// ingestBatchSize bounds the size of b's body.
func ingestBatchSize(b *IngestBatch) int {
	size := 1 + binary.MaxVarintLen32 + 8 + 3*binary.MaxVarintLen32 + len(b.Tenant) + len(b.Source) + len(b.BatchID) + binary.MaxVarintLen32
	for i := range b.Events {
		e := &b.Events[i]
		size += 16 + 2*binary.MaxVarintLen64 + len(e.Doc) + binary.MaxVarintLen32
		for _, t := range e.Terms {
			size += 2*binary.MaxVarintLen32 + len(t.Field) + len(t.Value)
		}
	}
	return size
}

// appendIngestBatch appends the compact binary body of b:
//
//	tenant, source, batchID          (uvarint length + bytes each)
//	flags (1 byte: bit 0 idempotent), part (uvarint), digest (8 bytes big-endian)
//	event count                      (uvarint)
//	per event: id (16 bytes), time (varint Unix ns), doc (uvarint length + bytes),
//	           term count (uvarint), per term: field, value (uvarint length + bytes)
func appendIngestBatch(buf []byte, b *IngestBatch) []byte {
	buf = appendString(buf, b.Tenant)
	buf = appendString(buf, b.Source)
	buf = appendString(buf, b.BatchID)
	var flags byte
	if b.Idempotent {
		flags |= flagIdempotent
	}
	buf = append(buf, flags)
	buf = binary.AppendUvarint(buf, uint64(b.Part))
	buf = binary.BigEndian.AppendUint64(buf, b.Digest)
	buf = binary.AppendUvarint(buf, uint64(len(b.Events)))
	for i := range b.Events {
		e := &b.Events[i]
		buf = append(buf, e.ID[:]...)
		buf = binary.AppendVarint(buf, e.Timestamp.UnixNano())
		buf = binary.AppendUvarint(buf, uint64(len(e.Doc)))
		buf = append(buf, e.Doc...)
		buf = binary.AppendUvarint(buf, uint64(len(e.Terms)))
		for _, t := range e.Terms {
			buf = appendString(buf, t.Field)
			buf = appendString(buf, t.Value)
		}
	}
	return buf
}

// encodeCompressedIngestBatch returns the version 2 entry of b. The plain
// body and the compressor's output are scratch space reused from batch to
// batch; only the entry itself, a fraction of their size, is allocated.
func encodeCompressedIngestBatch(b *IngestBatch) []byte {
	plain := getScratch(ingestBatchSize(b))
	*plain = appendIngestBatch((*plain)[:0], b)
	comp := getScratch(s2.MaxEncodedLen(len(*plain)))
	enc := s2.Encode((*comp)[:cap(*comp)], *plain)
	out := make([]byte, 2+len(enc))
	out[0], out[1] = byte(TypeIngestBatch), ingestBatchCompressed
	copy(out[2:], enc)
	putScratch(plain)
	putScratch(comp)
	return out
}

// scratch holds encoding buffers between batches.
var scratch sync.Pool

// maxScratch is the largest buffer kept for reuse: the body of a full
// 8 MiB ingest entry, with room for its terms.
const maxScratch = 32 << 20

func getScratch(n int) *[]byte {
	if b, ok := scratch.Get().(*[]byte); ok && cap(*b) >= n {
		return b
	}
	b := make([]byte, 0, n)
	return &b
}

func putScratch(b *[]byte) {
	if cap(*b) <= maxScratch {
		scratch.Put(b)
	}
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

var errTruncated = errors.New("truncated")

// The smallest encodings: an event is its ID, a one-byte time, an empty
// document and no terms; a term is two empty strings.
const (
	minEventBytes = 16 + 1 + 1 + 1
	minTermBytes  = 1 + 1
)

type reader struct{ b []byte }

func (r *reader) uvarint() (uint64, error) {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		return 0, errTruncated
	}
	r.b = r.b[n:]
	return v, nil
}

func (r *reader) varint() (int64, error) {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		return 0, errTruncated
	}
	r.b = r.b[n:]
	return v, nil
}

func (r *reader) bytes() ([]byte, error) {
	n, err := r.uvarint()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(r.b)) {
		return nil, errTruncated
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v, nil
}

// readTerms reads an event's n terms. Their text is copied out of the
// entry as one string, which the terms' fields and values slice: one
// allocation per event rather than two per term, on the apply path; a term
// kept after the batch is gone pins only its own event's terms.
func readTerms(r *reader, n int) ([]appliance.Term, error) {
	start := r.b
	type span struct{ field, value [2]int }
	var stack [16]span
	spans := stack[:0]
	at := func() int { return len(start) - len(r.b) }
	for range n {
		var sp span
		for k := range 2 {
			b, err := r.bytes()
			if err != nil {
				return nil, err
			}
			end := at()
			if k == 0 {
				sp.field = [2]int{end - len(b), end}
			} else {
				sp.value = [2]int{end - len(b), end}
			}
		}
		spans = append(spans, sp)
	}
	text := string(start[:at()])
	terms := make([]appliance.Term, n)
	for j, sp := range spans {
		terms[j] = appliance.Term{Field: text[sp.field[0]:sp.field[1]], Value: text[sp.value[0]:sp.value[1]]}
	}
	return terms, nil
}

func (r *reader) string() (string, error) {
	b, err := r.bytes()
	return string(b), err
}

func decodeIngestBatch(version byte, body []byte) (*IngestBatch, error) {
	switch version {
	case ingestBatchPlain:
	case ingestBatchCompressed:
		n, err := s2.DecodedLen(body)
		if err != nil || n > maxDecodedBatch {
			return nil, fmt.Errorf("decode IngestBatch: bad compressed body (%d bytes decoded, %v)", n, err)
		}
		if body, err = s2.Decode(make([]byte, n), body); err != nil {
			return nil, fmt.Errorf("decode IngestBatch: %w", err)
		}
	default:
		return nil, fmt.Errorf("IngestBatch: unknown version %d", version)
	}
	b, err := readIngestBatch(&reader{b: body})
	if err != nil {
		return nil, fmt.Errorf("decode IngestBatch: %w", err)
	}
	return b, nil
}

func readIngestBatch(r *reader) (*IngestBatch, error) {
	var b IngestBatch
	var err error
	if b.Tenant, err = r.string(); err != nil {
		return nil, err
	}
	if b.Source, err = r.string(); err != nil {
		return nil, err
	}
	if b.BatchID, err = r.string(); err != nil {
		return nil, err
	}
	if len(r.b) < 1 {
		return nil, errTruncated
	}
	flags := r.b[0]
	r.b = r.b[1:]
	if flags&^flagIdempotent != 0 {
		return nil, fmt.Errorf("unknown flags %#x", flags)
	}
	b.Idempotent = flags&flagIdempotent != 0
	part, err := r.uvarint()
	if err != nil {
		return nil, err
	}
	if part > 1<<31 {
		return nil, fmt.Errorf("part %d out of range", part)
	}
	b.Part = uint32(part)
	if len(r.b) < 8 {
		return nil, errTruncated
	}
	b.Digest = binary.BigEndian.Uint64(r.b)
	r.b = r.b[8:]
	n, err := r.uvarint()
	if err != nil {
		return nil, err
	}
	// Bound the count by what the entry can hold before allocating for it,
	// so a corrupt count cannot make Decode allocate far beyond the entry.
	if n > uint64(len(r.b))/minEventBytes {
		return nil, fmt.Errorf("event count %d exceeds entry size", n)
	}
	b.Events = make([]appliance.Event, n)
	for i := range b.Events {
		e := &b.Events[i]
		if len(r.b) < 16 {
			return nil, errTruncated
		}
		copy(e.ID[:], r.b[:16])
		r.b = r.b[16:]
		ns, err := r.varint()
		if err != nil {
			return nil, err
		}
		e.Timestamp = time.Unix(0, ns).UTC()
		if e.Doc, err = r.bytes(); err != nil {
			return nil, err
		}
		nt, err := r.uvarint()
		if err != nil {
			return nil, err
		}
		if nt > uint64(len(r.b))/minTermBytes {
			return nil, fmt.Errorf("term count %d exceeds entry size", nt)
		}
		if e.Terms, err = readTerms(r, int(nt)); err != nil {
			return nil, err
		}
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%d trailing bytes", len(r.b))
	}
	return &b, nil
}
