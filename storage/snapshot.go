package storage

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/raft"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/storage/eventstore"
	"github.com/minixdr/xdr/storage/snapfmt"
	"github.com/minixdr/xdr/storage/sqlstore"
)

// Snapshot stream records of this package (the stores add their own kinds).
const (
	recordHeader  = 'H' // JSON snapshotHeader, first
	recordTrailer = 'Z' // uvarint count of records before it, last
)

// FormatVersion of the snapshot stream. Bump it on any incompatible change;
// Restore refuses versions it does not know.
const FormatVersion = 1

type snapshotHeader struct {
	Format  int    `json:"format"`
	Applied uint64 `json:"applied"` // log index the snapshot reflects
	Schema  int    `json:"schema"`  // SQLite schema version
}

// view is both stores fixed at one log index.
type view struct {
	applied uint64
	sqlTx   *sql.Tx
	events  *eventstore.Snapshot
}

// flushEvents writes the event store's pending counts, holding off applies.
func (s *Store) flushEvents() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.Events.Flush(); err != nil {
		return fmt.Errorf("write event counts: %w", err)
	}
	return nil
}

// openView opens read views of both stores at the same log index. It holds
// the apply lock only while the views are being established.
func (s *Store) openView(ctx context.Context) (*view, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	events, err := s.Events.Snapshot()
	if err != nil {
		return nil, fmt.Errorf("open event store view: %w", err)
	}
	// After a crash the event store applies again the entries since it
	// last wrote its counts, which SQLite already holds: until it has
	// caught up, the two stores are not at one index and no view of both
	// is a state the log ever had (Raft tries its snapshot again later).
	if ev, sq := s.Events.Applied(), s.SQL.Applied(); ev != sq {
		events.Release()
		return nil, appliance.Errorf(appliance.EUNAVAILABLE, "the stores are catching up after a restart (event store at log index %d, relational store at %d); try again shortly", ev, sq)
	}
	tx, err := s.SQL.ReadTx(ctx)
	if err != nil {
		events.Release()
		return nil, fmt.Errorf("open sqlite read view: %w", err)
	}
	// A WAL read transaction fixes its snapshot at its first read.
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema`).Scan(&n); err != nil {
		tx.Rollback()
		events.Release()
		return nil, fmt.Errorf("open sqlite read view: %w", err)
	}
	return &view{
		applied: s.applied(),
		sqlTx:   tx,
		events:  events,
	}, nil
}

func (v *view) release() {
	v.sqlTx.Rollback()
	v.events.Release()
}

// writeBody writes the state records (everything but header and trailer).
func (v *view) writeBody(w snapfmt.RecordWriter) error {
	if err := sqlstore.Dump(context.Background(), v.sqlTx, w); err != nil {
		return fmt.Errorf("snapshot relational store: %w", err)
	}
	if err := v.events.Dump(w); err != nil {
		return fmt.Errorf("snapshot event store: %w", err)
	}
	return nil
}

// countingWriter counts records so the trailer can prove completeness.
type countingWriter struct {
	*snapfmt.Writer
	n uint64
}

func (c *countingWriter) Record(kind byte, parts ...[]byte) error {
	c.n++
	return c.Writer.Record(kind, parts...)
}

// WriteSnapshot streams a full snapshot of the current state to w. Memory
// use is bounded by one record, whatever the size of the stores.
func (s *Store) WriteSnapshot(ctx context.Context, w io.Writer) (applied uint64, err error) {
	v, err := s.openView(ctx)
	if err != nil {
		return 0, err
	}
	defer v.release()
	return v.applied, v.write(w)
}

func (v *view) write(out io.Writer) error {
	w := snapfmt.NewWriter(out)
	hdr, _ := json.Marshal(snapshotHeader{Format: FormatVersion, Applied: v.applied, Schema: sqlstore.SchemaVersion()})
	if err := w.Record(recordHeader, hdr); err != nil {
		return err
	}
	cw := &countingWriter{Writer: w}
	if err := v.writeBody(cw); err != nil {
		return err
	}
	if err := w.Record(recordTrailer, binary.AppendUvarint(nil, cw.n)); err != nil {
		return err
	}
	return w.Flush()
}

// Digest is a SHA-256 over the replicated state at the current applied
// index: equal on two nodes exactly when their snapshots' contents are
// equal. It returns the index too, since digests compare only at equal
// indexes.
func (s *Store) Digest(ctx context.Context) (digest string, applied uint64, err error) {
	v, err := s.openView(ctx)
	if err != nil {
		return "", 0, err
	}
	defer v.release()
	h := sha256.New()
	w := snapfmt.NewWriter(h)
	if err := v.writeBody(w); err != nil {
		return "", 0, err
	}
	if err := w.Flush(); err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), v.applied, nil
}

// Snapshot implements raft.FSM. It syncs both stores first so that once Raft
// has the snapshot and drops older log entries, nothing applied before it
// exists only in the page cache.
func (s *Store) Snapshot() (raft.FSMSnapshot, error) {
	if err := s.SQL.Sync(); err != nil {
		return nil, fmt.Errorf("sync relational store: %w", err)
	}
	// Raft drops the entries before the snapshot: the event counts they
	// added must be on disk, not only in memory (eventstore.Flush).
	if err := s.flushEvents(); err != nil {
		return nil, err
	}
	if err := s.Events.Sync(); err != nil {
		return nil, fmt.Errorf("sync event store: %w", err)
	}
	v, err := s.openView(context.Background())
	if err != nil {
		return nil, err
	}
	return fsmSnapshot{v}, nil
}

type fsmSnapshot struct{ v *view }

func (f fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := f.v.write(sink); err != nil {
		sink.Cancel()
		return fmt.Errorf("persist snapshot: %w", err)
	}
	return sink.Close()
}

func (f fsmSnapshot) Release() { f.v.release() }

// Restore implements raft.FSM: it replaces all state with a snapshot's.
func (s *Store) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	_, err := s.RestoreFrom(rc)
	return err
}

// RestoreFrom replaces all state with the snapshot read from r and returns
// the log index it reflects. A snapshot that is truncated, of an unknown
// format or of a schema version the relational store cannot bring forward
// (sqlstore.Loader.FromSchema) is refused; the relational store
// then keeps its old content, and the event store is left empty with applied
// index 0, so the node cannot serve stale state as current.
func (s *Store) RestoreFrom(r io.Reader) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rd := snapfmt.NewReader(r)
	kind, payload, err := rd.Next()
	if err != nil || kind != recordHeader {
		return 0, fmt.Errorf("restore: not a snapshot stream (no header)")
	}
	var hdr snapshotHeader
	if err := json.Unmarshal(payload, &hdr); err != nil {
		return 0, fmt.Errorf("restore: bad header: %w", err)
	}
	if hdr.Format != FormatVersion {
		return 0, fmt.Errorf("restore: snapshot format %d, this build reads %d", hdr.Format, FormatVersion)
	}
	sl, err := s.SQL.NewLoader(context.Background())
	if err != nil {
		return 0, err
	}
	if err := sl.FromSchema(hdr.Schema); err != nil {
		sl.Abort()
		return 0, fmt.Errorf("restore: %w", err)
	}
	el, err := s.Events.NewLoader()
	if err != nil {
		sl.Abort()
		return 0, err
	}
	if err := loadRecords(rd, sl, el); err != nil {
		sl.Abort()
		el.Abort()
		return 0, fmt.Errorf("restore: %w", err)
	}
	// SQLite first: its commit can still refuse the snapshot (deferred
	// foreign keys). Were the events committed first, their applied index
	// would claim the snapshot's while the relational store kept its old
	// content. The other way round a failure leaves the event store empty at
	// applied index 0, as documented above.
	if err := sl.Commit(hdr.Applied); err != nil {
		el.Abort()
		return 0, fmt.Errorf("restore: %w", err)
	}
	if err := el.Commit(hdr.Applied); err != nil {
		return 0, fmt.Errorf("restore: %w", err)
	}
	// Compiled rules, matchers and correlators were built from the old state.
	s.det.Reset()
	return hdr.Applied, nil
}

func loadRecords(rd *snapfmt.Reader, sl *sqlstore.Loader, el *eventstore.Loader) error {
	var n uint64
	for {
		kind, payload, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return snapfmt.ErrTruncated
		}
		if err != nil {
			return err
		}
		switch kind {
		case recordTrailer:
			want, k := binary.Uvarint(payload)
			if k <= 0 || want != n {
				return fmt.Errorf("snapshot trailer counts %d records, stream had %d", want, n)
			}
			return nil
		case eventstore.RecordKV:
			err = el.Record(payload)
		default:
			err = sl.Record(kind, payload)
		}
		if err != nil {
			return err
		}
		n++
	}
}
