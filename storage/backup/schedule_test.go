package backup_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/command"
	"github.com/minixdr/xdr/storage/backup"
	"github.com/minixdr/xdr/storage/storetest"
)

type leaderFlag struct{ atomic.Bool }

func (l *leaderFlag) IsLeader() bool { return l.Load() }

func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestSchedule(t *testing.T) {
	ctx := context.Background()
	st := storetest.MustOpenStore(t)
	prop := &storetest.Proposer{Store: st}
	must := func(c command.Command) {
		t.Helper()
		if err := prop.Propose(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	must(&command.CreateTenant{Tenant: appliance.Tenant{Name: "acme", Created: storetest.Base}})
	must(storetest.Batch("acme", "b1", 0, 50))

	id := newIdentity(t)
	dir := filepath.Join(t.TempDir(), "backups")
	os.Mkdir(dir, 0o700)
	clock := storetest.NewClock(time.Date(2026, 11, 22, 7, 0, 30, 0, time.UTC))
	cfg := backup.Schedule{Interval: time.Hour, Dir: dir, Recipients: []age.Recipient{id.Recipient()}, Keep: 2}
	var lead1, lead2 leaderFlag
	node1 := backup.NewScheduler(cfg, st, &lead1, prop, clock.Now, storetest.Discard)
	// node2 shares the replicated state (one store stands for the state
	// every node has applied) but has its own leadership.
	node2 := backup.NewScheduler(cfg, st, &lead2, prop, clock.Now, storetest.Discard)

	tick := func(s *backup.Scheduler, want backup.Outcome) {
		t.Helper()
		got, err := s.Tick(ctx)
		if got != want {
			t.Fatalf("tick at %s: outcome %d (err %v), want %d", clock.Now().Format(time.TimeOnly), got, err, want)
		}
	}

	// Followers never back up.
	tick(node1, backup.NotLeader)
	tick(node2, backup.NotLeader)
	if f := files(t, dir); len(f) != 0 {
		t.Fatalf("a follower wrote %v", f)
	}

	lead1.Store(true)
	tick(node1, backup.BackedUp)
	if f := files(t, dir); !slices.Equal(f, []string{"xdr-backup-20261122T070000Z.age"}) {
		t.Fatalf("files %v", f)
	}
	status, _ := node1.Status(ctx)
	clusterID, _ := st.SQL.ClusterID(ctx)
	if status.Successes != 1 || !status.LastSlot.Equal(time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)) || status.Size == 0 || clusterID == "" {
		t.Fatalf("status %+v, cluster %q", status, clusterID)
	}
	f, _ := os.ReadFile(filepath.Join(dir, status.File))
	if int64(len(f)) != status.Size {
		t.Fatalf("file of %d bytes, recorded %d", len(f), status.Size)
	}
	m, err := backup.Verify(bytes.NewReader(f), []age.Identity{id})
	if err != nil || m.ClusterID != clusterID || m.RaftIndex != status.RaftIndex {
		t.Fatalf("verify: %+v, %v", m, err)
	}

	// Once per interval, also after a failover in the same interval.
	clock.Advance(20 * time.Minute)
	must(storetest.Batch("acme", "b2", 100, 10))
	tick(node1, backup.Done)
	lead1.Store(false)
	lead2.Store(true)
	tick(node1, backup.NotLeader)
	tick(node2, backup.Done)

	// Next interval: the new leader backs up what changed.
	clock.Advance(time.Hour)
	tick(node2, backup.BackedUp)
	// Following interval with nothing applied since: skipped, and counted
	// once however often it is checked, by the node that skipped it.
	clock.Advance(time.Hour)
	tick(node2, backup.Unchanged)
	clock.Advance(time.Minute)
	tick(node2, backup.Unchanged)
	if f := files(t, dir); len(f) != 2 {
		t.Fatalf("files %v", f)
	}
	if node1.Skipped() != 0 || node2.Skipped() != 1 {
		t.Fatalf("skipped intervals: node1 %d, node2 %d; want 0, 1", node1.Skipped(), node2.Skipped())
	}
	if body := scrape(t, node2); !strings.Contains(body, "\nxdr_backup_skipped_unchanged_total 1\n") {
		t.Fatalf("/metrics lacks the skipped count:\n%s", body)
	}

	// A failure is recorded (replicated), retried after a pause, and the
	// slot is made once the cause is gone.
	must(storetest.Batch("acme", "b3", 200, 10))
	os.Rename(dir, dir+".away") // the backup volume is gone
	tick(node2, backup.Failed)
	status, _ = node2.Status(ctx)
	if status.Failures != 1 || !strings.Contains(status.Error, "no such file or directory") || status.FailureAt.IsZero() {
		t.Fatalf("status after a failure %+v", status)
	}
	clock.Advance(10 * time.Second)
	tick(node2, backup.Waiting)
	clock.Advance(time.Minute)
	tick(node2, backup.Failed)
	os.Rename(dir+".away", dir)
	clock.Advance(time.Minute)
	tick(node2, backup.BackedUp)
	status, _ = node2.Status(ctx)
	if status.Failures != 2 || status.Successes != 3 {
		t.Fatalf("status %+v", status)
	}
	// Keep 2: the oldest is gone; no temporary files are left.
	if f := files(t, dir); !slices.Equal(f, []string{"xdr-backup-20261122T080000Z.age", "xdr-backup-20261122T090000Z.age"}) {
		t.Fatalf("files %v", f)
	}
	clock.Advance(time.Hour)
	tick(node2, backup.Unchanged)
	if node2.Skipped() != 2 {
		t.Fatalf("skipped intervals %d, want 2", node2.Skipped())
	}

	// A change whose backup failed is backed up in the next interval even
	// though nothing was applied since the failure's record.
	clock.Advance(time.Hour)
	must(storetest.Batch("acme", "b4", 300, 10))
	os.Rename(dir, dir+".away")
	tick(node2, backup.Failed)
	os.Rename(dir+".away", dir)
	clock.Advance(time.Hour)
	tick(node2, backup.BackedUp)
}

// scrape is the metrics text of s's collector.
func scrape(t *testing.T, s *backup.Scheduler) string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(backup.NewCollector(s))
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

func TestScheduleOff(t *testing.T) {
	st := storetest.MustOpenStore(t)
	var lead leaderFlag
	lead.Store(true)
	s := backup.NewScheduler(backup.Schedule{}, st, &lead, &storetest.Proposer{Store: st}, time.Now, storetest.Discard)
	if got, err := s.Tick(context.Background()); got != backup.Off || err != nil {
		t.Fatalf("tick without a schedule: %d, %v", got, err)
	}
}
