// Package eventstore keeps events and their secondary indexes in Badger.
//
// The state machine is the only writer. The applied index on disk moves
// when the rollup counts held in memory are written (rollup_pending.go):
// after a restart, entries after it are applied again, which is harmless
// because every event and index key and value derives from the command,
// and the counts they add were lost with the memory. Searches and counts
// run on Badger read transactions and never block writes.
//
// It must not import cluster or ui.
package eventstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/storage/snapfmt"
)

// RecordKV is the snapshot record kind of one Badger key/value pair.
const RecordKV = 'K'

// Store is the event store.
type Store struct {
	db      *badger.DB
	applied uint64 // the last entry applied, as the state machine sees it
	// written is the last entry Badger has written (Applied); inflight
	// the batch being written, under commitMu.
	written     atomic.Uint64
	commitMu    sync.Mutex
	inflight    *commit
	writeBehind bool
	log         *slog.Logger
	rollups     rollupWriter
	buckets     bucketCache
	// pending are the counts not yet in Badger; durable is the applied
	// index on disk, the last entry whose counts are. flushMu is held to
	// change them, and to read them for a view (rollupView).
	flushMu sync.RWMutex
	pending *pendingRollups
	durable uint64
	// warming reads the latest days' counts after Open (warm.go).
	warming  sync.WaitGroup
	stopWarm context.CancelFunc
}

// Options tunes the store; zero values take defaults sized for a 2-core,
// few-GiB appliance.
type Options struct {
	// EncryptionKey, when set (16, 24 or 32 bytes), encrypts data at rest.
	EncryptionKey []byte
	// WriteBehind makes ApplyBatch return once the batch is handed to
	// Badger, which writes it while the caller goes on (the state machine
	// applies the next entry meanwhile); Applied counts a batch once it is
	// written, and every method that writes or must see the applied state
	// waits for it first. Without it ApplyBatch returns once written.
	WriteBehind bool
}

// Open opens (creating if needed) the store in dir.
func Open(dir string, opts Options, log *slog.Logger) (*Store, error) {
	bo := badger.DefaultOptions(dir).
		WithLogger(badgerLogger{log}).
		WithSyncWrites(false). // the Raft log is the durable record; see package doc
		WithNumVersionsToKeep(1).
		WithDetectConflicts(false). // the state machine is the only writer
		WithCompression(options.None).
		// Memory is sized so a node stays well under 1 GiB while ingesting
		// at full speed (docs/performance.md).
		WithMemTableSize(32 << 20).
		WithNumMemtables(3).
		WithNumLevelZeroTables(4).
		WithNumCompactors(2).
		WithBlockCacheSize(32 << 20).
		WithIndexCacheSize(16 << 20).
		// Documents go to the value log and the LSM tree holds only keys,
		// pointers and postings: compaction then rewrites little, and its
		// table builders stay small (with documents inline they took over
		// 1 GiB during a 1M-event ingest).
		WithValueThreshold(256).
		WithValueLogFileSize(256 << 20)
	if len(opts.EncryptionKey) > 0 {
		bo = bo.WithEncryptionKey(opts.EncryptionKey)
	}
	db, err := badger.Open(bo)
	if err != nil {
		return nil, fmt.Errorf("open event store %s: %w", dir, err)
	}
	s := &Store{db: db, log: log, pending: newPendingRollups(), writeBehind: opts.WriteBehind}
	err = db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(appliedKey)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			if len(v) != 8 {
				return fmt.Errorf("applied index has %d bytes", len(v))
			}
			s.applied = binary.BigEndian.Uint64(v)
			return nil
		})
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("read applied index: %w", err)
	}
	s.durable = s.applied
	s.written.Store(s.applied)
	if err := s.ensureRollups(); err != nil {
		db.Close()
		return nil, fmt.Errorf("event store %s: %w", dir, err)
	}
	ctx, stop := context.WithCancel(context.Background())
	s.stopWarm = stop
	s.warming.Go(func() { s.warm(ctx) })
	return s, nil
}

// Close writes the pending counts and closes the store.
func (s *Store) Close() error {
	s.stopWarm()
	s.warming.Wait()
	return errors.Join(s.Flush(), s.db.Close())
}

// Applied is the Raft index of the last entry this store applied and
// wrote.
func (s *Store) Applied() uint64 { return s.written.Load() }

// Sync makes everything written so far durable.
func (s *Store) Sync() error { return s.db.Sync() }

// ApplyBatch writes a batch's events and index entries and adds its events
// to the pending counts; Applied reaches index once Badger has written them
// (before ApplyBatch returns, unless the store writes behind). Entries at
// or below the applied index are skipped (replays).
func (s *Store) ApplyBatch(index uint64, tenant string, events []appliance.Event) (bool, error) {
	return s.applyBatch(index, tenant, events, nil)
}

// BatchRecord identifies one part of an idempotent batch and its input.
type BatchRecord struct {
	BatchID string
	Part    uint32
	Digest  uint64
}

// ApplyIdempotentBatch is ApplyBatch for a batch the client may retry: the
// first application remembers rec; applying the same batch part again
// stores nothing, and the same batch ID and part with a different digest is
// refused with ECONFLICT (the returned domain error), storing nothing.
func (s *Store) ApplyIdempotentBatch(index uint64, tenant string, rec BatchRecord, events []appliance.Event) (domainErr, err error) {
	if index <= s.applied {
		return nil, nil
	}
	if err := s.Wait(); err != nil { // the last batch may hold this record
		return nil, err
	}
	key := batchKey(tenant, rec.BatchID, rec.Part)
	var seen []byte
	err = s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		seen, err = item.ValueCopy(nil)
		if err == nil && len(seen) != 8 && len(seen) != 16 {
			err = fmt.Errorf("batch record has %d bytes", len(seen))
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("look up batch %q: %w", rec.BatchID, err)
	}
	// A record this very entry wrote is a replay after a restart: the
	// batch is applied again like any other entry.
	if seen != nil && recordIndex(seen) != index {
		if binary.BigEndian.Uint64(seen) != rec.Digest {
			domainErr = appliance.Errorf(appliance.ECONFLICT, "Idempotency-Key %q was already used for a different body", rec.BatchID)
		}
		return domainErr, s.MarkApplied(index)
	}
	// The record goes last in the write batch, so it is committed after the
	// events it vouches for.
	_, err = s.applyBatch(index, tenant, events, func(wb *badger.WriteBatch) error {
		return wb.Set(key, binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, rec.Digest), index))
	})
	return nil, err
}

// recordIndex is the entry that wrote a batch record: digest(8) index(8);
// 0 for a record of 8 bytes, from before records kept it.
func recordIndex(v []byte) uint64 {
	if len(v) != 16 {
		return 0
	}
	return binary.BigEndian.Uint64(v[8:])
}

func (s *Store) applyBatch(index uint64, tenant string, events []appliance.Event, last func(*badger.WriteBatch) error) (bool, error) {
	if index <= s.applied {
		return false, nil
	}
	wb := s.db.NewWriteBatch()
	handedOff := false
	defer func() {
		if !handedOff {
			wb.Cancel()
		}
	}()
	prefixE := tenantPrefix(prefixEvent, tenant)
	for i := range events {
		e := &events[i]
		k := make([]byte, 0, len(prefixE)+16)
		k = append(append(k, prefixE...), e.ID[:]...)
		if err := wb.Set(k, e.Doc); err != nil {
			return false, fmt.Errorf("write event: %w", err)
		}
	}
	for group, ids := range postingGroups(tenantPrefix(prefixIndex, tenant), events) {
		if err := wb.Set(encodePosting(group, ids)); err != nil {
			return false, fmt.Errorf("write index: %w", err)
		}
	}
	if last != nil {
		if err := last(wb); err != nil {
			return false, fmt.Errorf("write batch record: %w", err)
		}
	}
	if err := s.Wait(); err != nil {
		return false, err
	}
	// The wall clock decides only when counts are written, never what the
	// store holds once they are: the state stays a function of the log.
	now := time.Now()
	if s.pending.due(now) {
		// The counts of the entries before this one go with its events;
		// its own counts join the next flush.
		if err := s.commitFlush(wb); err != nil {
			return false, fmt.Errorf("apply batch %d: %w", index, err)
		}
		s.applied = index
		s.pending.add(tenant, events, now)
		s.written.Store(index)
		return true, nil
	}
	// Badger writes the batch while the state machine goes on to the next
	// entry, which waits for it before it writes, or reads what the store
	// holds (Wait). Applied counts it once written.
	c := &commit{done: make(chan struct{})}
	s.commitMu.Lock()
	s.inflight = c
	s.commitMu.Unlock()
	s.applied = index
	handedOff = true
	go func() {
		defer close(c.done)
		if err := wb.Flush(); err != nil {
			c.err = fmt.Errorf("apply batch %d: %w", index, err)
			// The next apply fails on it and stops the node; said now in
			// case none comes soon.
			s.log.Error("the event store could not write a batch", "index", index, "err", err)
			return
		}
		s.pending.add(tenant, events, now)
		s.written.Store(index)
	}()
	if !s.writeBehind {
		return true, s.Wait()
	}
	return true, nil
}

// commit is a batch handed to Badger, being written.
type commit struct {
	done chan struct{}
	err  error
}

// Wait waits until the batch handed to Badger last is written and
// returns its error: a store that failed to write one fails every apply
// after it. Any goroutine may call it.
func (s *Store) Wait() error {
	s.commitMu.Lock()
	c := s.inflight
	s.commitMu.Unlock()
	if c == nil {
		return nil
	}
	<-c.done
	return c.err
}

// GetWritten is Get once every applied batch is written: for the state
// machine, which must see what it applied.
func (s *Store) GetWritten(ctx context.Context, tenant string, id appliance.EventID) ([]byte, error) {
	if err := s.Wait(); err != nil {
		return nil, err
	}
	return s.Get(ctx, tenant, id)
}

// Flush writes the pending counts, and the applied index after them. The
// caller must keep the state machine from applying meanwhile.
func (s *Store) Flush() error {
	if err := s.Wait(); err != nil {
		return err
	}
	if s.pending.empty() {
		if s.durable == s.applied {
			return nil
		}
		return s.setApplied(s.applied)
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	return s.commitFlush(wb)
}

// FlushDue is Flush when the pending counts are due to be written: many,
// or a few seconds old.
func (s *Store) FlushDue() error {
	if !s.pending.due(time.Now()) {
		return nil
	}
	return s.Flush()
}

// commitFlush adds the pending counts, which cover the entries up to the
// applied index, to wb and commits it. A reader that opens its view while
// the flush commits has the pending counts and the applied index from
// before it, so it takes each count the flush wrote as from an unfinished
// flush (its previous count): none sees a count twice or not at all. The
// pending counts and the applied index then change together.
func (s *Store) commitFlush(wb *badger.WriteBatch) error {
	written, err := s.flushRollups(wb, s.applied)
	if err != nil {
		return err
	}
	if err := wb.Flush(); err != nil {
		// Part of the flush may be written: what the writer remembers of
		// the rollups no longer says which keys exist. The pending counts
		// stay, and the next flush writes them over the unfinished one.
		s.rollups.reset()
		return fmt.Errorf("write event counts: %w", err)
	}
	s.flushMu.Lock()
	s.pending, s.durable = newPendingRollups(), s.applied
	s.flushMu.Unlock()
	s.rollups.remember(written, s.applied)
	return nil
}

func (s *Store) setApplied(index uint64) error {
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], index)
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(appliedKey, v[:]) }); err != nil {
		return fmt.Errorf("record applied index %d: %w", index, err)
	}
	s.flushMu.Lock() // views read durable
	s.applied, s.durable = index, index
	s.flushMu.Unlock()
	s.written.Store(index)
	return nil
}

// Get returns one event document of a tenant; ENOTFOUND if absent.
func (s *Store) Get(ctx context.Context, tenant string, id appliance.EventID) ([]byte, error) {
	var doc []byte
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(eventKey(tenant, id))
		if err != nil {
			return err
		}
		doc, err = item.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, appliance.Errorf(appliance.ENOTFOUND, "event %s not found", id)
	}
	return doc, err
}

// Snapshot is a consistent, point-in-time view of the store for a snapshot.
type Snapshot struct {
	txn     *badger.Txn
	durable uint64
}

// Snapshot writes the pending counts and fixes the state; Dump may then
// run while applies go on. The caller must keep the state machine from
// applying until it returns.
func (s *Store) Snapshot() (*Snapshot, error) {
	if err := s.Flush(); err != nil {
		return nil, err
	}
	s.flushMu.RLock()
	defer s.flushMu.RUnlock()
	return &Snapshot{txn: s.db.NewTransaction(false), durable: s.durable}, nil
}

// Dump writes every data key (not metadata) in key order as records.
func (sn *Snapshot) Dump(w snapfmt.RecordWriter) error {
	it := sn.txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 256})
	defer it.Close()
	var lenBuf [binary.MaxVarintLen64]byte
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		k := item.Key()
		if k[0] == prefixMeta {
			continue
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return fmt.Errorf("read %x: %w", k, err)
		}
		if k[0] == prefixRollup {
			// Only the count: which flush wrote it is history, and the
			// dump (and its digest) is the state.
			c, err := decodeRollup(v)
			if err != nil {
				return fmt.Errorf("rollup %q: %w", k, err)
			}
			n := c.at(sn.durable)
			if n == 0 {
				continue // made by a flush a crash cut short: no count yet
			}
			v = binary.BigEndian.AppendUint64(v[:0], n)
		}
		n := binary.PutUvarint(lenBuf[:], uint64(len(k)))
		if err := w.Record(RecordKV, lenBuf[:n], k, v); err != nil {
			return err
		}
	}
	return nil
}

// Release ends the snapshot's read transaction.
func (sn *Snapshot) Release() { sn.txn.Discard() }

// Loader replaces the store's content with a snapshot's.
type Loader struct {
	s  *Store
	wb *badger.WriteBatch
}

// NewLoader empties the store and starts a restore.
func (s *Store) NewLoader() (*Loader, error) {
	s.stopWarm() // it would read what is being dropped
	s.warming.Wait()
	// A batch still being written would land in the emptied store.
	if err := s.Wait(); err != nil {
		s.log.Warn("a batch was not written before the restore replaced the store", "err", err)
	}
	if err := s.db.DropAll(); err != nil {
		return nil, fmt.Errorf("empty event store: %w", err)
	}
	s.commitMu.Lock()
	s.inflight = nil
	s.commitMu.Unlock()
	s.flushMu.Lock()
	s.pending, s.applied, s.durable = newPendingRollups(), 0, 0
	s.flushMu.Unlock()
	s.written.Store(0)
	s.rollups.reset()
	s.buckets.clear()
	return &Loader{s: s, wb: s.db.NewWriteBatch()}, nil
}

// Record loads one RecordKV payload.
func (l *Loader) Record(payload []byte) error {
	n, k := binary.Uvarint(payload)
	if k <= 0 || n > uint64(len(payload)-k) {
		return snapfmt.ErrTruncated
	}
	key := append([]byte(nil), payload[k:k+int(n)]...)
	val := append([]byte(nil), payload[k+int(n):]...)
	if len(key) == 0 || key[0] == prefixMeta {
		return fmt.Errorf("snapshot holds a metadata key %q", key)
	}
	if key[0] == prefixRollup {
		if len(val) != rollupCountLen {
			return fmt.Errorf("snapshot rollup %q has %d bytes, want %d", key, len(val), rollupCountLen)
		}
		// Written by no flush: index 0 is never past the applied index.
		val = rollupCount{count: binary.BigEndian.Uint64(val)}.encode()
	}
	return l.wb.Set(key, val)
}

// Commit finishes the restore. A snapshot from before rollups existed gets
// them rebuilt here, before the store answers again.
func (l *Loader) Commit(applied uint64) error {
	if err := l.wb.Flush(); err != nil {
		return fmt.Errorf("restore events: %w", err)
	}
	if err := l.s.setApplied(applied); err != nil {
		return err
	}
	return l.s.ensureRollups()
}

// Abort abandons the restore. The store is left empty, not half-loaded with
// a stale applied index: the caller must restore again before serving.
func (l *Loader) Abort() { l.wb.Cancel() }

type badgerLogger struct{ log *slog.Logger }

func (l badgerLogger) Errorf(f string, a ...any)   { l.log.Error(fmt.Sprintf(f, a...)) }
func (l badgerLogger) Warningf(f string, a ...any) { l.log.Warn(fmt.Sprintf(f, a...)) }
func (l badgerLogger) Infof(string, ...any)        {}
func (l badgerLogger) Debugf(string, ...any)       {}

// MarkApplied records index as applied for an entry that had nothing for
// this store, so its applied index keeps meaning "every entry up to here";
// on disk too, unless counts are pending (the next flush records it).
func (s *Store) MarkApplied(index uint64) error {
	if index <= s.applied {
		return nil
	}
	if err := s.Wait(); err != nil {
		return err
	}
	if !s.pending.empty() {
		s.applied = index
		s.written.Store(index)
		return nil
	}
	return s.setApplied(index)
}
