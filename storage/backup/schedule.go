package backup

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"filippo.io/age"

	"github.com/minixdr/xdr/appliance/command"
	"github.com/minixdr/xdr/storage"
	"github.com/minixdr/xdr/storage/sqlstore"
)

// Schedule configures scheduled backups. A zero Interval turns them off.
type Schedule struct {
	Interval   time.Duration
	Dir        string
	Recipients []age.Recipient
	Keep       int // newest files kept in Dir; 0 keeps all
}

// Leader reports whether this node leads the cluster.
type Leader interface{ IsLeader() bool }

// Outcome is what one scheduler check did.
type Outcome int

const (
	NotLeader Outcome = iota // followers never back up
	Off                      // no schedule configured
	Done                     // this interval already has its backup
	Unchanged                // nothing applied since the last backup
	Waiting                  // retrying a failure later in this interval
	BackedUp
	Failed
)

// Scheduler makes the scheduled backups. Only the leader acts, at most once
// per interval across the cluster: the interval ("slot") of each success is
// committed through Raft, so a new leader after a failover knows it, and a
// slot's file name is fixed, so a slot redone after a leader died before
// committing its record replaces the same file.
type Scheduler struct {
	cfg    Schedule
	store  *storage.Store
	leader Leader
	prop   command.Proposer
	now    func() time.Time
	log    *slog.Logger

	// skipped counts the intervals this node, leading, left without a
	// backup because nothing changed; skippedSlot (Unix ns) is the last of
	// them, so an interval counts once however often it is checked.
	skipped     atomic.Int64
	skippedSlot atomic.Int64
}

// NewScheduler returns a scheduler over the node's store.
func NewScheduler(cfg Schedule, store *storage.Store, leader Leader, prop command.Proposer, now func() time.Time, log *slog.Logger) *Scheduler {
	return &Scheduler{cfg: cfg, store: store, leader: leader, prop: prop, now: now, log: log}
}

// retryAfter is how long a failed slot waits before the next attempt.
func (s *Scheduler) retryAfter() time.Duration { return min(s.cfg.Interval, time.Minute) }

// Run checks the schedule until ctx ends. It also names the cluster when it
// leads one that has no name yet (every backup's manifest carries it).
func (s *Scheduler) Run(ctx context.Context) {
	poll := 30 * time.Second
	if s.cfg.Interval > 0 {
		poll = min(max(s.cfg.Interval/10, 100*time.Millisecond), poll)
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if s.leader.IsLeader() {
			if _, err := EnsureClusterID(ctx, s.store, s.prop); err != nil && ctx.Err() == nil {
				s.log.Warn("name the cluster", "err", err)
			}
		}
		if _, err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("scheduled backup failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// EnsureClusterID returns the cluster's ID, proposing a new random one when
// it has none (the first committed wins, so racing leaders agree).
func EnsureClusterID(ctx context.Context, st *storage.Store, prop command.Proposer) (string, error) {
	id, err := st.SQL.ClusterID(ctx)
	if err != nil || id != "" {
		return id, err
	}
	var b [8]byte
	rand.Read(b[:])
	if err := prop.Propose(ctx, &command.SetClusterID{ID: "xdr-" + hex.EncodeToString(b[:])}); err != nil {
		return "", fmt.Errorf("name the cluster: %w", err)
	}
	return st.SQL.ClusterID(ctx)
}

// Tick makes the backup of the current interval if this node leads, none
// was made for it yet, and the state changed since the last one. A failure
// is recorded (replicated) and returned.
func (s *Scheduler) Tick(ctx context.Context) (Outcome, error) {
	if s.cfg.Interval <= 0 {
		return Off, nil
	}
	if !s.leader.IsLeader() {
		return NotLeader, nil
	}
	now := s.now()
	slot := now.Truncate(s.cfg.Interval).UTC()
	st, err := s.store.SQL.BackupStatus(ctx)
	if err != nil {
		return Failed, err
	}
	switch {
	case !st.LastSlot.Before(slot):
		return Done, nil
	case st.FailureSlot.Equal(slot) && st.FailureRecord > st.SuccessRecord && now.Sub(st.FailureAt) < s.retryAfter():
		return Waiting, nil
	case st.LastRecord > 0 && s.store.Applied() == st.LastRecord && st.FailureRecord < st.SuccessRecord:
		// Only the last record itself was applied since: the backup of the
		// state before it is current.
		if s.skippedSlot.Swap(slot.UnixNano()) != slot.UnixNano() {
			s.skipped.Add(1)
		}
		return Unchanged, nil
	}
	rec, err := s.backup(ctx, slot)
	rec.Slot, rec.At = slot, s.now()
	if err != nil {
		rec.Error = err.Error()
	}
	if perr := s.prop.Propose(ctx, &rec); perr != nil {
		err = errors.Join(err, fmt.Errorf("record backup: %w", perr))
	}
	if rec.Error != "" || err != nil {
		return Failed, err
	}
	s.log.Info("scheduled backup written", "file", rec.File, "bytes", rec.Size, "raft_index", rec.RaftIndex, "duration", rec.Duration)
	return BackedUp, nil
}

// FilePrefix and FileSuffix frame the names of scheduled backup files; the
// middle is the interval's start, so names sort by time.
const (
	FilePrefix = "xdr-backup-"
	FileSuffix = ".age"
)

func slotFile(slot time.Time) string {
	return FilePrefix + slot.UTC().Format("20060102T150405Z") + FileSuffix
}

// backup writes the slot's file (complete or not at all) and prunes old ones.
func (s *Scheduler) backup(ctx context.Context, slot time.Time) (command.RecordBackup, error) {
	start := s.now()
	clusterID, err := EnsureClusterID(ctx, s.store, s.prop)
	if err != nil {
		return command.RecordBackup{}, err
	}
	name := slotFile(slot)
	m, size, err := WriteFile(ctx, filepath.Join(s.cfg.Dir, name), s.cfg.Recipients, s.store, clusterID, start)
	if err != nil {
		return command.RecordBackup{}, err
	}
	if err := prune(s.cfg.Dir, s.cfg.Keep); err != nil {
		s.log.Warn("remove old backups", "dir", s.cfg.Dir, "err", err)
	}
	return command.RecordBackup{RaftIndex: m.RaftIndex, File: name, Size: size, Duration: s.now().Sub(start)}, nil
}

// WriteFile writes an encrypted backup to path: to a temporary file in the
// same directory, synced, then renamed, so path holds a complete backup or
// nothing new. It returns the manifest and the file's size.
func WriteFile(ctx context.Context, path string, recipients []age.Recipient, src Source, clusterID string, now time.Time) (Manifest, int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.partial")
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the temporary name would only confuse
		}
		return Manifest{}, 0, fmt.Errorf("write a backup into %s: %w", filepath.Dir(path), err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	cw := &countWriter{w: tmp}
	m, err := Create(ctx, cw, recipients, src, clusterID, now)
	if err != nil {
		return m, 0, err
	}
	if err := tmp.Sync(); err != nil {
		return m, 0, fmt.Errorf("backup file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return m, 0, fmt.Errorf("backup file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return m, 0, fmt.Errorf("backup file: %w", err)
	}
	done = true
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync() // make the rename durable
		d.Close()
	}
	return m, cw.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// prune removes all but the keep newest scheduled backup files of dir.
func prune(dir string, keep int) error {
	if keep <= 0 {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		if n := e.Name(); e.Type().IsRegular() && strings.HasPrefix(n, FilePrefix) && strings.HasSuffix(n, FileSuffix) {
			names = append(names, n)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(names)))
	var errs []error
	for _, n := range names[min(keep, len(names)):] {
		errs = append(errs, os.Remove(filepath.Join(dir, n)))
	}
	return errors.Join(errs...)
}

// Config is the schedule's configuration, for the status page.
func (s *Scheduler) Config() Schedule { return s.cfg }

// Next is when the next scheduled backup is due (zero when off).
func (s *Scheduler) Next() time.Time {
	if s.cfg.Interval <= 0 {
		return time.Time{}
	}
	return s.now().Truncate(s.cfg.Interval).Add(s.cfg.Interval).UTC()
}

// Skipped is how many intervals this node, while it led, skipped because
// nothing changed since the last backup (a node-local count, unlike the
// replicated record).
func (s *Scheduler) Skipped() int64 { return s.skipped.Load() }

// Status is the replicated record of scheduled backups.
func (s *Scheduler) Status(ctx context.Context) (sqlstore.BackupStatus, error) {
	return s.store.SQL.BackupStatus(ctx)
}
