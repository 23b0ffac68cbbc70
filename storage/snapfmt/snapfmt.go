// Package snapfmt is the framing of snapshot streams: a sequence of records,
// each one kind byte, a uvarint length and the payload. Both stores write
// their part of a snapshot with it, and the digest hashes the same records,
// so "equal digests" means "equal snapshots".
package snapfmt

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// MaxRecord bounds a record so a corrupt length cannot make a reader
// allocate without limit.
const MaxRecord = 64 << 20

// Writer writes records to an underlying writer.
type Writer struct {
	w   *bufio.Writer
	hdr [1 + binary.MaxVarintLen64]byte
}

// NewWriter returns a Writer on w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: bufio.NewWriterSize(w, 256<<10)} }

// Record writes one record whose payload is the concatenation of parts.
func (w *Writer) Record(kind byte, parts ...[]byte) error {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	if n > MaxRecord {
		return fmt.Errorf("snapshot record of %d bytes exceeds %d", n, MaxRecord)
	}
	w.hdr[0] = kind
	l := binary.PutUvarint(w.hdr[1:], uint64(n))
	if _, err := w.w.Write(w.hdr[:1+l]); err != nil {
		return err
	}
	for _, p := range parts {
		if _, err := w.w.Write(p); err != nil {
			return err
		}
	}
	return nil
}

// Flush writes buffered records through.
func (w *Writer) Flush() error { return w.w.Flush() }

// Reader reads records.
type Reader struct {
	r   *bufio.Reader
	buf []byte
}

// NewReader returns a Reader on r.
func NewReader(r io.Reader) *Reader { return &Reader{r: bufio.NewReaderSize(r, 256<<10)} }

// ErrTruncated reports a stream that ended inside a record.
var ErrTruncated = errors.New("snapshot stream is truncated")

// Next returns the next record. The payload is valid until the next call.
// At a clean end of stream it returns io.EOF.
func (r *Reader) Next() (kind byte, payload []byte, err error) {
	kind, err = r.r.ReadByte()
	if err != nil {
		return 0, nil, err // io.EOF at a record boundary is a clean end
	}
	n, err := binary.ReadUvarint(r.r)
	if err != nil {
		return 0, nil, ErrTruncated
	}
	if n > MaxRecord {
		return 0, nil, fmt.Errorf("snapshot record of %d bytes exceeds %d", n, MaxRecord)
	}
	if uint64(cap(r.buf)) < n {
		r.buf = make([]byte, n)
	}
	r.buf = r.buf[:n]
	if _, err := io.ReadFull(r.r, r.buf); err != nil {
		return 0, nil, ErrTruncated
	}
	return kind, r.buf, nil
}

// RecordWriter is what the stores dump into: a Writer, or a wrapper that
// counts or hashes.
type RecordWriter interface {
	Record(kind byte, parts ...[]byte) error
}
