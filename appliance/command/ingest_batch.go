package command

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/minixdr/xdr/appliance"
)

const ingestBatchVersion = 1

// encodeIngestBatch writes the compact binary body:
//
//	tenant, source, batchID          (uvarint length + bytes each)
//	event count                      (uvarint)
//	per event: id (16 bytes), time (varint Unix ns), doc (uvarint length + bytes),
//	           term count (uvarint), per term: field, value (uvarint length + bytes)
func encodeIngestBatch(b *IngestBatch) []byte {
	size := 2 + 3*binary.MaxVarintLen32 + len(b.Tenant) + len(b.Source) + len(b.BatchID) + binary.MaxVarintLen32
	for i := range b.Events {
		e := &b.Events[i]
		size += 16 + 2*binary.MaxVarintLen64 + len(e.Doc) + binary.MaxVarintLen32
		for _, t := range e.Terms {
			size += 2*binary.MaxVarintLen32 + len(t.Field) + len(t.Value)
		}
	}
	buf := make([]byte, 0, size)
	buf = append(buf, byte(TypeIngestBatch), ingestBatchVersion)
	buf = appendString(buf, b.Tenant)
	buf = appendString(buf, b.Source)
	buf = appendString(buf, b.BatchID)
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

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

var errTruncated = errors.New("truncated")

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

func (r *reader) string() (string, error) {
	b, err := r.bytes()
	return string(b), err
}

func decodeIngestBatch(version byte, body []byte) (*IngestBatch, error) {
	if version != ingestBatchVersion {
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
	n, err := r.uvarint()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(r.b)) { // every event takes at least one byte
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
		if nt > uint64(len(r.b)) {
			return nil, fmt.Errorf("term count %d exceeds entry size", nt)
		}
		e.Terms = make([]appliance.Term, nt)
		for j := range e.Terms {
			if e.Terms[j].Field, err = r.string(); err != nil {
				return nil, err
			}
			if e.Terms[j].Value, err = r.string(); err != nil {
				return nil, err
			}
		}
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%d trailing bytes", len(r.b))
	}
	return &b, nil
}
