package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
	bolt "go.etcd.io/bbolt"
)

// logStore is the Raft log and stable store in one bbolt file: every
// StoreLogs is one transaction, made durable by bbolt's fsync before it
// returns. It replaced raft-wal v0.4.0, whose tail truncation (a follower
// dropping a deposed leader's uncommitted entries) seals a segment without
// its index block, so the node panics on its next start ("sealed segment
// has no index block", hashicorp/raft-wal#31); our chaos test hit it.
// Log entries here are few and large (an ingest batch of up to thousands
// of events is one entry), so a B-tree's per-commit cost does not matter.
type logStore struct {
	db *bolt.DB
}

var (
	bucketLogs   = []byte("logs")
	bucketStable = []byte("stable")
)

// errKeyNotFound is what Raft expects, by text, for a missing stable key.
var errKeyNotFound = errors.New("not found")

var (
	_ raft.LogStore    = (*logStore)(nil)
	_ raft.StableStore = (*logStore)(nil)
)

func openLogStore(path string) (*logStore, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: 5 * time.Second, // another process holds the data dir
		// The free list is rebuilt on open instead of written on every
		// commit: appends stay cheap however much the log was truncated.
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if err != nil {
		return nil, fmt.Errorf("open raft log %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketLogs, bucketStable} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open raft log %s: %w", path, err)
	}
	return &logStore{db: db}, nil
}

func (s *logStore) Close() error { return s.db.Close() }

func indexKey(i uint64) []byte { return binary.BigEndian.AppendUint64(nil, i) }

func (s *logStore) FirstIndex() (uint64, error) {
	var i uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(bucketLogs).Cursor().First(); k != nil {
			i = binary.BigEndian.Uint64(k)
		}
		return nil
	})
	return i, err
}

func (s *logStore) LastIndex() (uint64, error) {
	var i uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(bucketLogs).Cursor().Last(); k != nil {
			i = binary.BigEndian.Uint64(k)
		}
		return nil
	})
	return i, err
}

func (s *logStore) GetLog(index uint64, l *raft.Log) error {
	return s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketLogs).Get(indexKey(index))
		if v == nil {
			return raft.ErrLogNotFound
		}
		return decodeLog(index, v, l)
	})
}

func (s *logStore) StoreLog(l *raft.Log) error { return s.StoreLogs([]*raft.Log{l}) }

func (s *logStore) StoreLogs(logs []*raft.Log) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLogs)
		for _, l := range logs {
			if err := b.Put(indexKey(l.Index), encodeLog(l)); err != nil {
				return fmt.Errorf("store raft log %d: %w", l.Index, err)
			}
		}
		return nil
	})
}

func (s *logStore) DeleteRange(min, max uint64) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketLogs).Cursor()
		for k, _ := c.Seek(indexKey(min)); k != nil && binary.BigEndian.Uint64(k) <= max; k, _ = c.Next() {
			if err := c.Delete(); err != nil {
				return fmt.Errorf("delete raft logs %d-%d: %w", min, max, err)
			}
		}
		return nil
	})
}

func (s *logStore) Set(key, val []byte) error {
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketStable).Put(key, val) })
}

func (s *logStore) Get(key []byte) ([]byte, error) {
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketStable).Get(key)
		if v == nil {
			return errKeyNotFound
		}
		out = append([]byte(nil), v...)
		return nil
	})
	return out, err
}

func (s *logStore) SetUint64(key []byte, val uint64) error { return s.Set(key, indexKey(val)) }

func (s *logStore) GetUint64(key []byte) (uint64, error) {
	v, err := s.Get(key)
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("raft stable key %q holds %d bytes, want 8", key, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// A log entry: term[8] | type[1] | appended-at unix ns[8] | len(ext) uvarint | ext | data.
func encodeLog(l *raft.Log) []byte {
	b := make([]byte, 0, 17+binary.MaxVarintLen64+len(l.Extensions)+len(l.Data))
	b = binary.BigEndian.AppendUint64(b, l.Term)
	b = append(b, byte(l.Type))
	var at int64
	if !l.AppendedAt.IsZero() {
		at = l.AppendedAt.UnixNano()
	}
	b = binary.BigEndian.AppendUint64(b, uint64(at))
	b = binary.AppendUvarint(b, uint64(len(l.Extensions)))
	b = append(b, l.Extensions...)
	return append(b, l.Data...)
}

func decodeLog(index uint64, v []byte, l *raft.Log) error {
	if len(v) < 18 {
		return fmt.Errorf("raft log %d is corrupt: %d bytes", index, len(v))
	}
	l.Index = index
	l.Term = binary.BigEndian.Uint64(v)
	l.Type = raft.LogType(v[8])
	l.AppendedAt = time.Time{}
	if at := int64(binary.BigEndian.Uint64(v[9:])); at != 0 {
		l.AppendedAt = time.Unix(0, at)
	}
	n, w := binary.Uvarint(v[17:])
	if w <= 0 || uint64(len(v)-17-w) < n {
		return fmt.Errorf("raft log %d is corrupt: bad extensions length", index)
	}
	rest := v[17+w:]
	// Copies: bbolt's memory is only valid inside the transaction.
	l.Extensions = append([]byte(nil), rest[:n]...)
	l.Data = append([]byte(nil), rest[n:]...)
	return nil
}
