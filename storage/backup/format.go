package backup

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/minixdr/xdr/storage/snapfmt"
)

// FormatVersion of the container. Bump it on any incompatible change; a
// reader refuses versions it does not know.
const FormatVersion = 1

// PartState is the part holding the storage snapshot stream.
const PartState = "state"

// Container records (snapfmt framing, inside the age encryption).
const (
	recordHeader   = 'B' // JSON Header, first
	recordPart     = 'P' // name of the part whose data follows
	recordData     = 'D' // a chunk of the current part
	recordManifest = 'M' // JSON Manifest, last
)

// Limits on what a reader accepts, so a crafted file cannot make it
// allocate much: anyone with a recipient's public key can write a valid
// encrypted file.
const (
	maxChunk   = 1 << 20
	maxJSON    = 64 << 10
	maxParts   = 16
	maxNameLen = 64
)

// Header opens a backup. It carries the format version first so that a
// reader of another version stops before reading any data.
type Header struct {
	Format    int       `json:"format"`
	ClusterID string    `json:"cluster_id"`
	Created   time.Time `json:"created"`
}

// Manifest closes a backup: what the header said, the Raft index the state
// reflects (known only once the snapshot is written), and every part's size
// and SHA-256.
type Manifest struct {
	Format    int       `json:"format"`
	ClusterID string    `json:"cluster_id"`
	RaftIndex uint64    `json:"raft_index"`
	Created   time.Time `json:"created"`
	// Schema is the relational schema version of the state: a build
	// restores its own and those it can bring forward
	// (storage.Store.RestoreFrom, sqlstore.Loader.FromSchema).
	Schema int    `json:"schema"`
	Parts  []Part `json:"parts"`
}

// Part is one part's entry in the manifest.
type Part struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Size is the total size of the parts.
func (m Manifest) Size() int64 {
	var n int64
	for _, p := range m.Parts {
		n += p.Size
	}
	return n
}

// writer writes the container.
type writer struct {
	w     *snapfmt.Writer
	hdr   Header
	parts []Part
	cur   *partSum
}

type partSum struct {
	name string
	size int64
	h    hash.Hash
}

func newWriter(out io.Writer, hdr Header) (*writer, error) {
	w := &writer{w: snapfmt.NewWriter(out), hdr: hdr}
	b, err := json.Marshal(hdr)
	if err != nil {
		return nil, err
	}
	return w, w.w.Record(recordHeader, b)
}

// part starts the next part; the returned writer's data goes into it.
func (w *writer) part(name string) (io.Writer, error) {
	w.endPart()
	w.cur = &partSum{name: name, h: sha256.New()}
	return partWriter{w}, w.w.Record(recordPart, []byte(name))
}

func (w *writer) endPart() {
	if w.cur != nil {
		w.parts = append(w.parts, Part{Name: w.cur.name, Size: w.cur.size, SHA256: hex.EncodeToString(w.cur.h.Sum(nil))})
		w.cur = nil
	}
}

type partWriter struct{ w *writer }

func (p partWriter) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		c := b[:min(len(b), maxChunk)]
		if err := p.w.w.Record(recordData, c); err != nil {
			return n - len(b), err
		}
		p.w.cur.h.Write(c)
		p.w.cur.size += int64(len(c))
		b = b[len(c):]
	}
	return n, nil
}

// close writes the manifest and flushes.
func (w *writer) close(raftIndex uint64, schema int) (Manifest, error) {
	w.endPart()
	m := Manifest{Format: w.hdr.Format, ClusterID: w.hdr.ClusterID, RaftIndex: raftIndex, Created: w.hdr.Created, Schema: schema, Parts: w.parts}
	b, err := json.Marshal(m)
	if err != nil {
		return m, err
	}
	if err := w.w.Record(recordManifest, b); err != nil {
		return m, err
	}
	return m, w.w.Flush()
}

// FormatError is a container that is not what this build writes: damaged,
// truncated or of another version.
type FormatError struct{ Msg string }

func (e *FormatError) Error() string { return e.Msg }

func formatErr(format string, args ...any) error {
	return &FormatError{Msg: fmt.Sprintf(format, args...)}
}

// Reader reads a container, checking every part against the manifest.
type Reader struct {
	rd     *snapfmt.Reader
	hdr    Header
	parts  []Part // as read
	cur    *partReader
	kind   byte // the record read ahead, 0 if none
	data   []byte
	man    *Manifest
	offset int64 // records read, for error messages
	err    error // the first error reading records: readers above may hide it
	src    *damageReader
}

// NewReader reads the header of a container.
func NewReader(r io.Reader) (*Reader, error) {
	rd := &Reader{rd: snapfmt.NewReader(r)}
	kind, payload, err := rd.next()
	if err != nil {
		return nil, err
	}
	if kind != recordHeader {
		return nil, formatErr("not a Mini-XDR backup (no header record)")
	}
	if err := decodeJSON(payload, &rd.hdr); err != nil {
		return nil, formatErr("backup header: %v", err)
	}
	if rd.hdr.Format != FormatVersion {
		return nil, formatErr("backup format version %d; this build reads version %d", rd.hdr.Format, FormatVersion)
	}
	return rd, nil
}

func decodeJSON(b []byte, v any) error {
	if len(b) > maxJSON {
		return fmt.Errorf("%d bytes of JSON exceed %d", len(b), maxJSON)
	}
	return json.Unmarshal(b, v)
}

func (r *Reader) next() (byte, []byte, error) {
	if r.kind != 0 {
		k, d := r.kind, r.data
		r.kind, r.data = 0, nil
		return k, d, nil
	}
	if r.err != nil {
		return 0, nil, r.err
	}
	kind, payload, err := r.rd.Next()
	r.offset++
	var fe *FormatError
	switch {
	case err != nil && r.src != nil && r.src.err != nil:
		r.err = r.src.err // the decryption failure under a short read
	case errors.As(err, &fe):
		r.err = err
	case errors.Is(err, io.EOF) || errors.Is(err, snapfmt.ErrTruncated):
		r.err = formatErr("backup is truncated (ends inside record %d)", r.offset)
	case err != nil:
		r.err = fmt.Errorf("backup record %d: %w", r.offset, err)
	}
	return kind, payload, r.err
}

// Err is the first error met reading the container, if any. A consumer of a
// part's data (the snapshot loader) may report a damaged or truncated part
// as its own kind of error; this is the underlying cause.
func (r *Reader) Err() error { return r.err }

// Header is the backup's header.
func (r *Reader) Header() Header { return r.hdr }

// NextPart returns the next part's name and data. After the last part it
// reads and checks the manifest and returns io.EOF.
func (r *Reader) NextPart() (string, io.Reader, error) {
	if r.cur != nil {
		if _, err := io.Copy(io.Discard, r.cur); err != nil {
			return "", nil, err
		}
		r.cur = nil
	}
	if r.man != nil {
		return "", nil, io.EOF
	}
	kind, payload, err := r.next()
	if err != nil {
		return "", nil, err
	}
	switch kind {
	case recordPart:
		if len(payload) == 0 || len(payload) > maxNameLen {
			return "", nil, formatErr("backup record %d: part name of %d bytes", r.offset, len(payload))
		}
		if len(r.parts) == maxParts {
			return "", nil, formatErr("backup has more than %d parts", maxParts)
		}
		r.cur = &partReader{r: r, sum: partSum{name: string(payload), h: sha256.New()}}
		return r.cur.sum.name, r.cur, nil
	case recordManifest:
		return "", nil, r.readManifest(payload)
	}
	return "", nil, formatErr("backup record %d: unexpected record kind %q", r.offset, kind)
}

func (r *Reader) readManifest(payload []byte) error {
	var m Manifest
	if err := decodeJSON(payload, &m); err != nil {
		return formatErr("backup manifest: %v", err)
	}
	if _, _, err := r.rd.Next(); !errors.Is(err, io.EOF) {
		return formatErr("backup has data after its manifest")
	}
	if m.Format != r.hdr.Format || m.ClusterID != r.hdr.ClusterID || !m.Created.Equal(r.hdr.Created) {
		return formatErr("backup manifest does not match its header")
	}
	if len(m.Parts) != len(r.parts) {
		return formatErr("backup manifest lists %d parts, the file has %d", len(m.Parts), len(r.parts))
	}
	for i, p := range m.Parts {
		if p != r.parts[i] {
			return formatErr("backup part %q: manifest says %d bytes with SHA-256 %s, the file has %d bytes with %s",
				p.Name, p.Size, p.SHA256, r.parts[i].Size, r.parts[i].SHA256)
		}
	}
	r.man = &m
	return io.EOF
}

// Manifest returns the checked manifest once NextPart returned io.EOF.
func (r *Reader) Manifest() (Manifest, bool) {
	if r.man == nil {
		return Manifest{}, false
	}
	return *r.man, true
}

type partReader struct {
	r    *Reader
	sum  partSum
	buf  []byte
	done bool
}

func (p *partReader) Read(b []byte) (int, error) {
	for len(p.buf) == 0 {
		if p.done {
			return 0, io.EOF
		}
		kind, payload, err := p.r.next()
		if err != nil {
			return 0, err
		}
		if kind != recordData {
			// The part ends at the next record, which is read again.
			p.r.kind, p.r.data = kind, payload
			p.done = true
			p.r.parts = append(p.r.parts, Part{Name: p.sum.name, Size: p.sum.size, SHA256: hex.EncodeToString(p.sum.h.Sum(nil))})
			return 0, io.EOF
		}
		if len(payload) > maxChunk {
			return 0, formatErr("backup record %d: data chunk of %d bytes exceeds %d", p.r.offset, len(payload), maxChunk)
		}
		p.sum.h.Write(payload)
		p.sum.size += int64(len(payload))
		p.buf = payload
	}
	n := copy(b, p.buf)
	p.buf = p.buf[n:]
	return n, nil
}
