package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/minixdr/xdr/cluster"
	"github.com/minixdr/xdr/storage"
	"github.com/minixdr/xdr/storage/backup"
	"github.com/minixdr/xdr/storage/sqlstore"
	"github.com/minixdr/xdr/ui"
	"github.com/minixdr/xdr/ui/pages"
)

const (
	backupUsage  = "usage: xdr backup create --out FILE (--recipient AGE_PUBLIC_KEY ... | --passphrase-file F) [--data-dir DIR], or xdr backup verify FILE (--identity FILE | --passphrase-file F)"
	verifyUsage  = "usage: xdr backup verify FILE (--identity FILE | --passphrase-file F)"
	restoreUsage = "usage: xdr restore FILE (--identity FILE | --passphrase-file F) --data-dir NEW_DIR"
)

// listFlag collects a repeatable flag; commas separate values too.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	*l = append(*l, splitList(v)...)
	return nil
}

func backupCommand(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		return errors.New(backupUsage)
	}
	switch args[0] {
	case "create":
		return backupCreate(ctx, args[1:], stdout, getenv)
	case "verify":
		return backupVerify(args[1:], stdout)
	}
	return fmt.Errorf("unknown backup command %q; %s", args[0], backupUsage)
}

// backupCreate streams a backup from the node of --data-dir over its admin
// socket, checks it as it arrives, and encrypts it into --out (a temporary
// file renamed into place only when complete).
func backupCreate(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("backup create", flag.ContinueOnError)
	out := fs.String("out", "", "file to write the encrypted backup to (required; must not exist)")
	var recipients listFlag
	fs.Var(&recipients, "recipient", "age X25519 public key (age1…) to encrypt to; repeat for several")
	passFile := fs.String("passphrase-file", "", "encrypt with the passphrase in the first line of this file instead")
	dataDir := fs.String("data-dir", orDefault(getenv("XDR_DATA_DIR"), "./data"), "data dir of the local node")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("backup create takes no arguments, got %q", pos[0])
	}
	if *out == "" {
		return errors.New("--out is required")
	}
	var rs []age.Recipient
	switch {
	case len(recipients) > 0 && *passFile != "":
		return errors.New("give --recipient or --passphrase-file, not both")
	case *passFile != "":
		r, err := backup.PassphraseRecipient(*passFile)
		if err != nil {
			return err
		}
		rs = []age.Recipient{r}
	case len(recipients) > 0:
		if rs, err = backup.ParseRecipients(recipients); err != nil {
			return err
		}
	default:
		return errors.New("give --recipient AGE_PUBLIC_KEY (one or more) or --passphrase-file F")
	}
	if _, err := os.Lstat(*out); err == nil {
		return fmt.Errorf("%s exists; a backup never overwrites a file", *out)
	}
	if _, err := os.Stat(adminSocket(*dataDir)); err != nil {
		return fmt.Errorf("no running node found for data dir %s (is `xdr serve --data-dir %s` running, and may you read it?)", *dataDir, *dataDir)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://xdr/admin/backup", nil)
	if err != nil {
		return err
	}
	client := adminClient(*dataDir)
	client.Timeout = 0 // a large backup takes as long as it takes
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("reach node over %s: %w", adminSocket(*dataDir), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return nodeError(resp.Status, data)
	}
	var m backup.Manifest
	size, err := writeAtomically(*out, func(w io.Writer) error {
		ew, err := backup.Encrypt(w, rs)
		if err != nil {
			return err
		}
		// Checking what passes through proves the stream arrived whole:
		// a node failing midway breaks it, and the manifest must match.
		if m, err = backup.Check(io.TeeReader(resp.Body, ew)); err != nil {
			return fmt.Errorf("backup stream from the node: %w", err)
		}
		return ew.Close()
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d bytes, cluster %s, raft index %d, %s\n", *out, size, m.ClusterID, m.RaftIndex, partsSummary(m))
	return nil
}

// writeAtomically writes path through fill into a temporary file beside it,
// synced and renamed into place only on success; on failure nothing is left.
func writeAtomically(path string, fill func(io.Writer) error) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.partial")
	if err != nil {
		return 0, fmt.Errorf("create backup file: %w", err)
	}
	err = fill(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// Link, unlike rename, fails if path appeared meanwhile.
		err = os.Link(tmp.Name(), path)
	}
	os.Remove(tmp.Name())
	if err != nil {
		return 0, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

func partsSummary(m backup.Manifest) string {
	var parts []string
	for _, p := range m.Parts {
		parts = append(parts, fmt.Sprintf("part %s %d bytes sha256 %s", p.Name, p.Size, p.SHA256))
	}
	return strings.Join(parts, ", ")
}

// keyFlags are the ways to open a backup.
type keyFlags struct{ identity, passFile *string }

func addKeyFlags(fs *flag.FlagSet) keyFlags {
	return keyFlags{
		identity: fs.String("identity", "", "age identity file (AGE-SECRET-KEY-1… lines)"),
		passFile: fs.String("passphrase-file", "", "file whose first line is the backup's passphrase"),
	}
}

func (k keyFlags) identities() ([]age.Identity, error) {
	switch {
	case *k.identity != "" && *k.passFile != "":
		return nil, errors.New("give --identity or --passphrase-file, not both")
	case *k.identity != "":
		return backup.IdentityFile(*k.identity)
	case *k.passFile != "":
		return backup.PassphraseIdentity(*k.passFile)
	}
	return nil, errors.New("give --identity FILE or --passphrase-file F")
}

// openBackupArgs parses FILE and the key flags.
func openBackupArgs(fs *flag.FlagSet, args []string, usage string) (*os.File, []age.Identity, error) {
	keys := addKeyFlags(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, nil, err
	}
	if len(pos) != 1 {
		return nil, nil, errors.New(usage)
	}
	ids, err := keys.identities()
	if err != nil {
		return nil, nil, err
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return nil, nil, fmt.Errorf("backup file: %w", err)
	}
	return f, ids, nil
}

func backupVerify(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("backup verify", flag.ContinueOnError)
	f, ids, err := openBackupArgs(fs, args, verifyUsage)
	if err != nil {
		return err
	}
	defer f.Close()
	m, err := backup.Verify(f, ids)
	if err != nil {
		return fmt.Errorf("%s: %w", f.Name(), err)
	}
	oldest, newest := sqlstore.RestorableSchemas()
	fmt.Fprintf(stdout, "%s is complete and intact: format %d, cluster %s, raft index %d, created %s, state schema %d (this build restores schemas %d to %d), %s\n",
		f.Name(), m.Format, m.ClusterID, m.RaftIndex, m.Created.Format("2006-01-02T15:04:05Z"), m.Schema, oldest, newest, partsSummary(m))
	return nil
}

// restoreCommand restores a backup into a new data dir; the node started on
// it is a new one-node cluster with the backup's state.
func restoreCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "", "new data dir to restore into (required; must be missing or empty)")
	f, ids, err := openBackupArgs(fs, args, restoreUsage)
	if err != nil {
		return err
	}
	defer f.Close()
	if *dataDir == "" {
		return errors.New("--data-dir is required: restore writes only into a new or empty directory")
	}
	log := newLogger(stderr, "warn")
	m, err := backup.RestoreDir(f, ids, *dataDir, log, func(dir string, _ backup.Manifest) error {
		return cluster.MarkRestored(dir)
	})
	if err != nil {
		return fmt.Errorf("%s: %w", f.Name(), err)
	}
	fmt.Fprintf(stdout, "restored %s into %s: cluster %s, raft index %d, created %s; start it with `xdr serve --data-dir %s`\n",
		f.Name(), *dataDir, m.ClusterID, m.RaftIndex, m.Created.Format("2006-01-02T15:04:05Z"), *dataDir)
	return nil
}

// nodeError is the error a node answered on the admin socket: its message
// when it sent one, else the HTTP status.
func nodeError(status string, body []byte) error {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return errors.New(e.Error)
	}
	return fmt.Errorf("node answered %s", status)
}

// backupSchedule parses the scheduled-backup options (off without an
// interval).
func (c *Config) backupSchedule() (backup.Schedule, error) {
	if c.BackupInterval == "" {
		return backup.Schedule{}, nil
	}
	interval, err := time.ParseDuration(c.BackupInterval)
	if err != nil || interval < time.Second {
		return backup.Schedule{}, optErr("backup-interval", "%q: want a duration of at least 1s, e.g. 24h", c.BackupInterval)
	}
	if c.BackupDir == "" {
		return backup.Schedule{}, optErr("backup-dir", "must be set when backup-interval is")
	}
	rs, err := backup.ParseRecipients(splitList(c.BackupRecipients))
	if err != nil {
		return backup.Schedule{}, optErr("backup-recipients", "%v", err)
	}
	keep, err := strconv.Atoi(c.BackupKeep)
	if err != nil || keep < 0 {
		return backup.Schedule{}, optErr("backup-keep", "%q: want a whole number, 0 or more", c.BackupKeep)
	}
	return backup.Schedule{Interval: interval, Dir: c.BackupDir, Recipients: rs, Keep: keep}, nil
}

// startBackups starts the backup scheduler and returns the service the HTTP
// layer uses, and a stop function that waits for a running backup to end.
func startBackups(cfg Config, store *storage.Store, node *cluster.Node, reg prometheus.Registerer, log *slog.Logger) (ui.Backups, func(), error) {
	sched, err := cfg.backupSchedule()
	if err != nil {
		return nil, nil, err
	}
	if sched.Interval > 0 {
		if err := os.MkdirAll(sched.Dir, 0o700); err != nil {
			return nil, nil, fmt.Errorf("backup-dir: %w", err)
		}
	}
	s := backup.NewScheduler(sched, store, node, node, time.Now, log)
	reg.MustRegister(backup.NewCollector(s))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx)
	}()
	return &backupService{store: store, sched: s, node: node}, func() { cancel(); <-done }, nil
}

// backupService is ui.Backups over the node's store and scheduler.
type backupService struct {
	store *storage.Store
	sched *backup.Scheduler
	node  *cluster.Node
}

func (b *backupService) WriteBackup(ctx context.Context, w io.Writer) error {
	id, err := b.store.SQL.ClusterID(ctx)
	if err == nil && id == "" && b.node.IsLeader() {
		id, err = backup.EnsureClusterID(ctx, b.store, b.node)
	}
	if err != nil {
		return err
	}
	_, err = backup.Write(ctx, w, b.store, id, time.Now())
	return err
}

func (b *backupService) Status(ctx context.Context) (pages.BackupStatus, error) {
	st, err := b.sched.Status(ctx)
	if err != nil {
		return pages.BackupStatus{}, err
	}
	cfg := b.sched.Config()
	return pages.BackupStatus{
		Configured: cfg.Interval > 0, Interval: cfg.Interval, Dir: cfg.Dir, Keep: cfg.Keep, Recipients: len(cfg.Recipients),
		Next: b.sched.Next(), Leader: b.node.IsLeader(),
		LastSuccess: st.SuccessAt, File: st.File, Size: st.Size, Duration: st.Duration, RaftIndex: st.RaftIndex, Successes: st.Successes,
		LastFailure: st.FailureAt, LastError: st.Error, Failures: st.Failures, Failing: st.FailureRecord > st.SuccessRecord,
	}, nil
}
