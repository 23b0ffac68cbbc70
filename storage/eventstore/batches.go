package eventstore

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// HasBatch reports whether an idempotent batch part is recorded already
// by an entry other than index, so the state machine can tell a retry
// (whose events are stored and detected already) from a new batch, or from
// the same entry applied again after a restart.
func (s *Store) HasBatch(index uint64, tenant string, rec BatchRecord) (bool, error) {
	if err := s.Wait(); err != nil {
		return false, err
	}
	var by uint64
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(batchKey(tenant, rec.BatchID, rec.Part))
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error { by = recordIndex(v); return nil })
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up batch %q: %w", rec.BatchID, err)
	}
	return by != index, nil
}
