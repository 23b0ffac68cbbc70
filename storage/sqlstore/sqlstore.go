// Package sqlstore keeps the relational part of the replicated state in
// SQLite (modernc.org/sqlite, no cgo): tenants, users, tokens, sessions,
// the scheduled-backup record, and detection's rules, indicators,
// correlation state, alerts and incidents, with their listings (alert
// queries are translated into SQL: alert_filter.go; the rule list is
// filtered and paged in SQL: rule_list.go, which registers the SQL
// function its title filter uses with the driver), and the analyst pages'
// counts (incident_list.go: indexes and per-hour alert rollups that the
// apply storing an alert adds to).
//
// Only the state machine writes, through one writer connection; every write
// records the Raft index it applies in the same transaction, so a restart
// knows exactly which log entries are already applied. Reads use a separate
// pool. Every query over tenant data takes the tenant as a parameter.
//
// It must not import cluster or ui.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// DB is the relational store.
type DB struct {
	write   *sql.DB // one connection: the state machine's
	read    *sql.DB // a pool for queries
	applied uint64
}

// Open opens (creating if needed) the database at path and migrates it.
func Open(path string) (*DB, error) {
	dsn := func(cacheKiB int, extra string) string {
		// busy_timeout first so the other pragmas wait for a lock rather than fail.
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(5000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Add("_pragma", "foreign_keys(ON)")
		// SQLite's default page cache is 2 MiB a connection: an apply
		// filing thousands of alerts then spilled dirty pages to the WAL
		// mid-transaction and read index pages back with a system call
		// each (docs/performance.md). Memory is taken only as pages are.
		q.Add("_pragma", fmt.Sprintf("cache_size(-%d)", cacheKiB))
		// The path is a URI path: escaped, so a data dir may hold spaces,
		// "%", "?" or "#".
		return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode() + extra
	}
	write, err := sql.Open("sqlite", dsn(64<<10, "&_txlock=immediate"))
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	read, err := sql.Open("sqlite", dsn(16<<10, ""))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	read.SetMaxOpenConns(4)
	db := &DB{write: write, read: read}
	if err := db.migrate(); err != nil {
		db.Close()
		return nil, err
	}
	if err := write.QueryRow(`SELECT COALESCE((SELECT idx FROM raft_applied WHERE id = 1), 0)`).Scan(&db.applied); err != nil {
		db.Close()
		return nil, fmt.Errorf("read applied index: %w", err)
	}
	return db, nil
}

// SchemaVersion is the schema this build writes.
func SchemaVersion() int { return len(migrations) }

func (db *DB) migrate() error {
	var version int
	if err := db.write.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this build knows (%d): upgrade xdr", version, len(migrations))
	}
	for i := version; i < len(migrations); i++ {
		tx, err := db.write.Begin()
		if err != nil {
			return err
		}
		if _, err := tx.Exec(migrations[i]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, i+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	if _, err := db.write.Exec(localSchema); err != nil {
		return fmt.Errorf("create local tables: %w", err)
	}
	return nil
}

// Close closes both pools.
func (db *DB) Close() error {
	return errors.Join(db.read.Close(), db.write.Close())
}

// Applied is the Raft index of the last entry this store applied.
func (db *DB) Applied() uint64 { return db.applied }

// Sync makes everything applied so far durable (checkpoints the WAL, which
// fsyncs it), so a snapshot taken now can let Raft drop older log entries.
func (db *DB) Sync() error {
	_, err := db.write.Exec(`PRAGMA wal_checkpoint(PASSIVE)`)
	return err
}

// Apply runs fn in one write transaction that also records index as applied.
// Entries at or below the applied index are skipped: they are replays after a
// restart, already reflected in the store. fn's domain error is returned as
// is, and its changes are rolled back but the index is still recorded, since
// a failed command is applied (as a no-op) all the same.
func (db *DB) Apply(index uint64, fn func(tx *sql.Tx) error) (applied bool, err error) {
	if index <= db.applied {
		return false, nil
	}
	tx, err := db.write.Begin()
	if err != nil {
		return false, fmt.Errorf("begin apply %d: %w", index, err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`SAVEPOINT cmd`); err != nil {
		return false, err
	}
	domainErr := fn(tx)
	if domainErr != nil {
		if _, err := tx.Exec(`ROLLBACK TO cmd`); err != nil {
			return false, err
		}
	}
	if _, err := tx.Exec(`RELEASE cmd`); err != nil {
		return false, err
	}
	if err := setApplied(tx, index); err != nil {
		return false, err
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("commit apply %d: %w", index, err)
	}
	db.applied = index
	return true, domainErr
}

func setApplied(tx *sql.Tx, index uint64) error {
	_, err := tx.Exec(`INSERT INTO raft_applied (id, idx) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET idx = excluded.idx`, index)
	if err != nil {
		return fmt.Errorf("record applied index %d: %w", index, err)
	}
	return nil
}

// Read returns the reader pool for queries.
func (db *DB) Read() *sql.DB { return db.read }

// ReadTx begins a read-only transaction; in WAL mode it sees one consistent
// point in time from its first read on.
func (db *DB) ReadTx(ctx context.Context) (*sql.Tx, error) {
	return db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
}
