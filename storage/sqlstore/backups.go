package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/command"
)

// SetClusterID names the cluster unless it has a name (the first wins).
func SetClusterID(tx *sql.Tx, id string) error {
	if id == "" {
		return appliance.Errorf(appliance.EINVALID, "empty cluster ID")
	}
	_, err := tx.Exec(`INSERT INTO cluster_meta (key, value) VALUES ('cluster_id', ?) ON CONFLICT (key) DO NOTHING`, id)
	return wrap(err, "set cluster ID")
}

// ClusterID is the cluster's name, "" before one is set.
func (db *DB) ClusterID(ctx context.Context) (string, error) {
	var id string
	err := db.read.QueryRowContext(ctx, `SELECT value FROM cluster_meta WHERE key = 'cluster_id'`).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, wrap(err, "read cluster ID")
}

// BackupStatus is the replicated record of scheduled backups. The record
// indexes are the log indexes of the RecordBackup entries: the state changed
// since the last record exactly when the applied index is past LastRecord.
type BackupStatus struct {
	LastSlot      time.Time // the latest interval with a successful backup
	SuccessAt     time.Time
	SuccessRecord uint64
	RaftIndex     uint64 // of the state in the last successful backup
	File          string
	Size          int64
	Duration      time.Duration
	Successes     int64

	FailureAt     time.Time
	FailureSlot   time.Time
	FailureRecord uint64
	Error         string
	Failures      int64

	LastRecord uint64
}

// RecordBackup records a scheduled backup attempt applied at log index.
func RecordBackup(tx *sql.Tx, index uint64, r *command.RecordBackup) error {
	var err error
	if r.Error == "" {
		_, err = tx.Exec(`INSERT INTO backup_schedule (id, last_slot, success_at, success_record, raft_index, file, size, duration, successes, last_record)
			VALUES (1, ?, ?, ?, ?, ?, ?, ?, 1, ?)
			ON CONFLICT (id) DO UPDATE SET last_slot = max(last_slot, excluded.last_slot), success_at = excluded.success_at,
				success_record = excluded.success_record, raft_index = excluded.raft_index, file = excluded.file,
				size = excluded.size, duration = excluded.duration, successes = successes + 1, last_record = excluded.last_record`,
			r.Slot.UnixNano(), r.At.UnixNano(), index, r.RaftIndex, r.File, r.Size, int64(r.Duration), index)
	} else {
		_, err = tx.Exec(`INSERT INTO backup_schedule (id, failure_at, failure_slot, failure_record, error, failures, last_record)
			VALUES (1, ?, ?, ?, ?, 1, ?)
			ON CONFLICT (id) DO UPDATE SET failure_at = excluded.failure_at, failure_slot = excluded.failure_slot,
				failure_record = excluded.failure_record, error = excluded.error, failures = failures + 1,
				last_record = excluded.last_record`,
			r.At.UnixNano(), r.Slot.UnixNano(), index, r.Error, index)
	}
	return wrap(err, "record backup")
}

// BackupStatus reads the record of scheduled backups (zero before any).
func (db *DB) BackupStatus(ctx context.Context) (BackupStatus, error) {
	var s BackupStatus
	var lastSlot, successAt, duration, failureAt, failureSlot int64
	err := db.read.QueryRowContext(ctx, `SELECT last_slot, success_at, success_record, raft_index, file, size, duration, successes,
		failure_at, failure_slot, failure_record, error, failures, last_record FROM backup_schedule WHERE id = 1`).Scan(
		&lastSlot, &successAt, &s.SuccessRecord, &s.RaftIndex, &s.File, &s.Size, &duration, &s.Successes,
		&failureAt, &failureSlot, &s.FailureRecord, &s.Error, &s.Failures, &s.LastRecord)
	if errors.Is(err, sql.ErrNoRows) {
		return s, nil
	}
	if err != nil {
		return s, wrap(err, "read backup status")
	}
	s.LastSlot, s.SuccessAt, s.FailureAt, s.FailureSlot = unixNano(lastSlot), unixNano(successAt), unixNano(failureAt), unixNano(failureSlot)
	s.Duration = time.Duration(duration)
	return s, nil
}

// unixNano is the time of n, or the zero time for 0 (never).
func unixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
