package eventstore

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// HasBatch reports whether an idempotent batch part is recorded already,
// so the state machine can tell a retry (whose events are stored and
// detected already) from a new batch.
func (s *Store) HasBatch(tenant string, rec BatchRecord) (bool, error) {
	err := s.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get(batchKey(tenant, rec.BatchID, rec.Part))
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up batch %q: %w", rec.BatchID, err)
	}
	return true, nil
}
