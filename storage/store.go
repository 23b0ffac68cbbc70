package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/command"
	"github.com/minixdr/xdr/appliance/detect"
	"github.com/minixdr/xdr/storage/eventstore"
	"github.com/minixdr/xdr/storage/sqlstore"
)

// Store is the state machine over both stores.
type Store struct {
	SQL    *sqlstore.DB
	Events *eventstore.Store

	// mu makes Apply exclusive with opening the read views of a snapshot or
	// digest, so both stores are seen at the same log index.
	mu  sync.Mutex
	log *slog.Logger
	// det is the detection pipeline; its caches follow the replicated
	// state under mu (storage/detection.go).
	det *detect.Engine
	// stopFlush ends flushIdle.
	stopFlush chan struct{}
	stopOnce  sync.Once
	flushing  sync.WaitGroup
}

var _ raft.FSM = (*Store)(nil)

// Open opens the stores under dir (created if missing).
func Open(dir string, log *slog.Logger) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create state dir: %w", err)
	}
	db, err := sqlstore.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		return nil, err
	}
	// Write-behind: a batch's Badger write overlaps the next entry's apply
	// (Applied counts it once written, which is what proposers wait for).
	ev, err := eventstore.Open(filepath.Join(dir, "events"), eventstore.Options{WriteBehind: true}, log.With("component", "badger"))
	if err != nil {
		db.Close()
		return nil, err
	}
	s := &Store{SQL: db, Events: ev, log: log, det: detect.NewEngine(log.With("component", "detect")), stopFlush: make(chan struct{})}
	s.flushing.Go(s.flushIdle)
	return s, nil
}

// flushIdle writes the event store's pending counts once they are due
// when no entry comes to do it (eventstore/rollup_pending.go): a quiet node
// then holds none in memory, and has none to count again after a crash.
func (s *Store) flushIdle() {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-s.stopFlush:
			return
		case <-tick.C:
			s.mu.Lock()
			err := s.Events.FlushDue()
			s.mu.Unlock()
			if err != nil {
				s.log.Error("write the event counts", "err", err)
			}
		}
	}
}

// Close closes both stores. The event store writes its pending counts
// first, so no apply may run meanwhile.
func (s *Store) Close() error {
	s.stopOnce.Do(func() { close(s.stopFlush) })
	s.flushing.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return errors.Join(s.Events.Close(), s.SQL.Close())
}

// Applied is the highest log index both stores have applied.
// It takes the apply lock, since the state machine updates both indexes
// while others (health checks, recovery) read them.
func (s *Store) Applied() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.applied()
}

// applied is Applied for callers holding s.mu.
func (s *Store) applied() uint64 {
	return min(s.SQL.Applied(), s.Events.Applied())
}

// Apply applies one committed log entry and returns the command's domain
// error (an error value, or nil), which reaches the proposer through Raft's
// future. An entry that cannot be decoded is a bug or corruption: the node
// stops rather than diverge from its peers.
func (s *Store) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	cmd, err := command.Decode(l.Data)
	var unknown command.ErrUnknownType
	if errors.As(err, &unknown) && unknown.Type&command.IgnoreIfUnknown != 0 {
		s.log.Warn("skipping unknown optional command", "type", uint8(unknown.Type), "index", l.Index)
		if err := s.recordApplied(l.Index); err != nil {
			panic(fmt.Sprintf("storage: record applied index %d: %v", l.Index, err))
		}
		return nil
	}
	if err != nil {
		panic(fmt.Sprintf("storage: log entry %d cannot be applied: %v", l.Index, err))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	domainErr, err := s.apply(l.Index, cmd)
	if err != nil {
		// The stores failed under us (disk full, I/O error): continuing
		// would let this node diverge silently.
		panic(fmt.Sprintf("storage: apply log entry %d (%s): %v", l.Index, cmd.Type(), err))
	}
	if domainErr != nil {
		return domainErr
	}
	return nil
}

// apply routes a command to its store. It returns the command's domain
// error and, separately, an infrastructure error.
func (s *Store) apply(index uint64, cmd command.Command) (domainErr, err error) {
	switch c := cmd.(type) {
	case *command.IngestBatch:
		// The tenant is the first part of every event and index key: a name
		// no tenant can have (a NUL in it) could reach into another's keys.
		if err := appliance.ValidName("tenant", c.Tenant); err != nil {
			return s.applySQL(index, func(*sql.Tx) error { return err })
		}
		fresh, err := s.batchIsNew(index, c)
		if err != nil {
			return nil, err
		}
		// The event store's write and detection (SQLite) touch different
		// stores and neither reads what the other writes for this entry,
		// so they run at once: the apply, which Raft runs one entry at a
		// time, takes the longer of the two instead of their sum. Detection
		// does not depend on the event store's answer: an idempotent batch
		// is refused as a conflict only when its key was seen before, and
		// then it is not fresh.
		var evErr error
		done := make(chan struct{})
		go func() {
			defer close(done)
			if c.Idempotent {
				rec := eventstore.BatchRecord{BatchID: c.BatchID, Part: c.Part, Digest: c.Digest}
				domainErr, evErr = s.Events.ApplyIdempotentBatch(index, c.Tenant, rec, c.Events)
			} else {
				_, evErr = s.Events.ApplyBatch(index, c.Tenant, c.Events)
			}
		}()
		detErr := s.ingestDetect(index, c, fresh)
		<-done
		if evErr != nil {
			return nil, evErr
		}
		return domainErr, detErr
	case *command.CreateTenant:
		return s.applySQL(index, func(tx *sql.Tx) error { return sqlstore.CreateTenant(tx, c.Tenant) })
	case *command.CreateUser:
		return s.applySQL(index, func(tx *sql.Tx) error { return sqlstore.CreateUser(tx, c.User) })
	case *command.CreateToken:
		return s.applySQL(index, func(tx *sql.Tx) error { return sqlstore.CreateToken(tx, c.Token) })
	case *command.CreateSession:
		return s.applySQL(index, func(tx *sql.Tx) error { return sqlstore.CreateSession(tx, c.Session) })
	case *command.DeleteSession:
		return s.applySQL(index, func(tx *sql.Tx) error { return sqlstore.DeleteSession(tx, c.Hash, c.Before) })
	case *command.SetClusterID:
		return s.applySQL(index, func(tx *sql.Tx) error { return sqlstore.SetClusterID(tx, c.ID) })
	case *command.RecordBackup:
		return s.applySQL(index, func(tx *sql.Tx) error { return sqlstore.RecordBackup(tx, index, c) })
	case *command.RevokeToken:
		return s.applySQL(index, func(tx *sql.Tx) error { return sqlstore.RevokeToken(tx, c.Tenant, c.Hash) })
	case *command.PutRules, *command.SetRuleEnabled, *command.DeleteRule, *command.PutIndicators,
		*command.DeleteIntel, *command.UpdateIncident:
		return s.applyDetection(index, cmd)
	}
	return nil, fmt.Errorf("no apply function for %s", cmd.Type())
}

// applySQL applies a relational command and records the index in both
// stores, so that each store's applied index always means "every entry up
// to here".
func (s *Store) applySQL(index uint64, fn func(*sql.Tx) error) (domainErr, err error) {
	_, domainErr = s.SQL.Apply(index, fn)
	if domainErr != nil && appliance.ErrorCode(domainErr) == appliance.EINTERNAL {
		return nil, domainErr
	}
	return domainErr, s.Events.MarkApplied(index)
}

func (s *Store) sqlApplied(index uint64) error {
	_, err := s.SQL.Apply(index, func(*sql.Tx) error { return nil })
	return err
}

func (s *Store) recordApplied(index uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.sqlApplied(index); err != nil {
		return err
	}
	return s.Events.MarkApplied(index)
}

// Search and Get serve event reads (appliance.EventReader).
func (s *Store) Search(ctx context.Context, req appliance.EventSearch) (appliance.EventPage, error) {
	return s.Events.Search(ctx, req)
}

// Get returns one event of a tenant.
func (s *Store) Get(ctx context.Context, tenant string, id appliance.EventID) ([]byte, error) {
	return s.Events.Get(ctx, tenant, id)
}

var _ appliance.EventReader = (*Store)(nil)
var _ appliance.IdentityReader = (*sqlstore.DB)(nil)
