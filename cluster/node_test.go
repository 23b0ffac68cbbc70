package cluster_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/command"
	"github.com/minixdr/xdr/cluster"
	"github.com/minixdr/xdr/storage"
	"github.com/minixdr/xdr/storage/storetest"
)

var t0 = time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)

// freeAddr returns a loopback address nobody listens on. A node keeps its
// address across restarts, so the tests cannot use port 0.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type nodeOpts struct {
	threshold uint64
	metrics   prometheus.Registerer
}

// openNode opens the store in dir/state and a node on it; both are closed
// when the test ends (node first).
func openNode(t *testing.T, dir, addr string, o nodeOpts) (*storage.Store, *cluster.Node) {
	t.Helper()
	st := storetest.MustOpenStoreAt(t, filepath.Join(dir, "state"))
	n, err := cluster.Open(testConfig(dir, addr, st, o))
	if err != nil {
		t.Fatalf("open node: %v", err)
	}
	t.Cleanup(func() { n.Close() })
	return st, n
}

func testConfig(dir, addr string, fsm cluster.StateMachine, o nodeOpts) cluster.Config {
	return cluster.Config{
		DataDir: dir, Addr: addr, FSM: fsm, Log: storetest.Discard, Metrics: o.metrics, PKI: testPKI(),
		HeartbeatTimeout: 50 * time.Millisecond, ElectionTimeout: 50 * time.Millisecond,
		ApplyTimeout: 5 * time.Second, SnapshotThreshold: o.threshold,
	}
}

// testPKI is one set of cluster credentials for all single-node tests.
var testPKI = sync.OnceValue(func() *cluster.PKI {
	dir, err := os.MkdirTemp("", "xdr-test-pki")
	if err != nil {
		panic(err)
	}
	p, err := cluster.NewPKI(dir, "node-test", "127.0.0.1:1")
	if err != nil {
		panic(err)
	}
	os.RemoveAll(dir)
	return p
})

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not synchronisation
	}
}

func waitLeader(t *testing.T, n *cluster.Node) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "leadership", n.IsLeader)
	waitFor(t, "readiness", n.Ready)
}

func propose(t *testing.T, n *cluster.Node, c command.Command) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Propose(ctx, c); err != nil {
		t.Fatalf("propose %s: %v", c.Type(), err)
	}
}

func user(name string) *command.CreateUser {
	return &command.CreateUser{User: appliance.User{Tenant: "acme", Name: name, Role: appliance.RoleSOCAnalyst, PasswordHash: "x", Created: t0}}
}

func countEvents(t *testing.T, s *storage.Store, tenant string) int {
	t.Helper()
	n := 0
	req := appliance.EventSearch{Tenant: tenant, Limit: 1000}
	for {
		page, err := s.Search(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Events)
		if page.Next == (appliance.EventID{}) {
			return n
		}
		req.Cursor = page.Next
	}
}

func histogramCount(t *testing.T, reg *prometheus.Registry, name string) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

func TestSingleNodeLifecycle(t *testing.T) {
	ctx := context.Background()
	dir, addr := t.TempDir(), freeAddr(t)
	reg := prometheus.NewRegistry()
	st, n := openNode(t, dir, addr, nodeOpts{metrics: reg})
	id := n.ID
	if !strings.HasPrefix(id, "node-") {
		t.Fatalf("node ID %q", id)
	}
	if has, err := n.HasState(); err != nil || has {
		t.Fatalf("fresh node HasState = %v, %v", has, err)
	}
	if err := n.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	waitLeader(t, n)

	propose(t, n, &command.CreateTenant{Tenant: appliance.Tenant{Name: "acme", Created: t0}})
	propose(t, n, user("alice"))
	for i := range 3 {
		propose(t, n, storetest.Batch("acme", fmt.Sprint("b", i), i*10, 10))
	}
	// Domain errors come back from Propose, and later proposals still work.
	if err := n.Propose(ctx, user("alice")); appliance.ErrorCode(err) != appliance.ECONFLICT {
		t.Fatalf("duplicate user: %v, want ECONFLICT", err)
	}
	tok := &command.CreateToken{Token: appliance.Token{Tenant: "nope", Name: "t", Scope: appliance.ScopeIngest, Created: t0}}
	if err := n.Propose(ctx, tok); appliance.ErrorCode(err) != appliance.ENOTFOUND {
		t.Fatalf("token of a missing tenant: %v, want ENOTFOUND", err)
	}
	shortCtx, cancel := context.WithTimeout(ctx, 3*time.Second) // shorter than ApplyTimeout
	err := n.Propose(shortCtx, &command.CreateSession{Session: appliance.Session{Hash: [32]byte{1}, Tenant: "acme", User: "alice", Created: t0, Expires: t0.Add(time.Hour)}})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	// Propose returns once the command is applied here.
	if _, role, err := st.SQL.SessionByHash(ctx, [32]byte{1}); err != nil || role != appliance.RoleSOCAnalyst {
		t.Fatalf("session after Propose: %q, %v", role, err)
	}
	if got := countEvents(t, st, "acme"); got != 30 {
		t.Fatalf("%d events after Propose, want 30", got)
	}
	if got := histogramCount(t, reg, "xdr_raft_apply_seconds"); got != 8 {
		t.Fatalf("apply latency histogram has %d samples, want 8", got)
	}

	// A request whose deadline has passed proposes nothing.
	expired, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
	defer cancel()
	if err := n.Propose(expired, user("late")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Propose with an expired deadline: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := n.Propose(cancelled, user("late")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Propose with a cancelled context: %v", err)
	}
	if _, err := st.SQL.UserByName(ctx, "late"); appliance.ErrorCode(err) != appliance.ENOTFOUND {
		t.Fatalf("a proposal refused for its context was applied: %v", err)
	}

	digest, applied := storetest.MustDigest(t, st)
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.Propose(ctx, user("closed")); appliance.ErrorCode(err) != appliance.EUNAVAILABLE {
		t.Fatalf("Propose on a closed node: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	// Restart on the same directory: same node, same state, leader again.
	st, n = openNode(t, dir, addr, nodeOpts{})
	if n.ID != id {
		t.Fatalf("node ID changed across restart: %s → %s", id, n.ID)
	}
	if has, err := n.HasState(); err != nil || !has {
		t.Fatalf("restarted node HasState = %v, %v", has, err)
	}
	if err := n.Bootstrap(); err == nil {
		t.Fatal("Bootstrap of a node with state succeeded")
	}
	if d, a := storetest.MustDigest(t, st); d != digest || a != applied {
		t.Fatalf("state after restart %s at %d, want %s at %d", d, a, digest, applied)
	}
	waitLeader(t, n)
	// An idempotent command: once Propose returns, Raft has gone through
	// (and the store skipped) every entry before it.
	propose(t, n, &command.CreateTenant{Tenant: appliance.Tenant{Name: "acme", Created: t0}})
	if d, _ := storetest.MustDigest(t, st); d != digest {
		t.Fatal("replaying the log after a restart changed the state")
	}
	if st.Applied() <= applied {
		t.Fatalf("Applied() = %d after a new command, want > %d", st.Applied(), applied)
	}
	propose(t, n, user("bob"))
	if _, err := st.SQL.UserByName(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if got := countEvents(t, st, "acme"); got != 30 {
		t.Fatalf("%d events after restart, want 30", got)
	}
}

func TestNodeWithoutLeader(t *testing.T) {
	dir := t.TempDir()
	_, n := openNode(t, dir, freeAddr(t), nodeOpts{})
	// Never bootstrapped: a follower that knows no leader.
	if n.IsLeader() || n.Ready() {
		t.Fatalf("unbootstrapped node: leader %v, ready %v", n.IsLeader(), n.Ready())
	}
	err := n.Propose(context.Background(), user("x"))
	if appliance.ErrorCode(err) != appliance.EUNAVAILABLE || !strings.Contains(err.Error(), "no cluster leader") {
		t.Fatalf("Propose on a follower: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	if err := n.WaitLeader(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitLeader without a cluster: %v", err)
	}
}

// snapshotIndex returns the index of the newest snapshot under dir.
func snapshotIndex(t *testing.T, dir string) uint64 {
	t.Helper()
	snaps, err := raft.NewFileSnapshotStore(filepath.Join(dir, "raft"), 2, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	metas, err := snaps.List()
	if err != nil || len(metas) == 0 {
		t.Fatalf("no snapshot: %v", err)
	}
	return metas[0].Index
}

func firstLogIndex(t *testing.T, dir string) uint64 {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, "raft", "raft.db"), 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var first uint64
	err = db.View(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket([]byte("logs")).Cursor().First(); k != nil {
			first = binary.BigEndian.Uint64(k)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return first
}

func TestRecoverFromSnapshotAfterLosingStores(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	st, n := openNode(t, dir, addr, nodeOpts{threshold: 16})
	if err := n.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	waitLeader(t, n)
	propose(t, n, &command.CreateTenant{Tenant: appliance.Tenant{Name: "acme", Created: t0}})
	for i := range 40 {
		propose(t, n, storetest.Batch("acme", fmt.Sprint("b", i), i*5, 5))
		if i%10 == 0 {
			propose(t, n, user(fmt.Sprint("user", i)))
		}
	}
	if err := n.Snapshot(); err != nil {
		t.Fatal(err)
	}
	atSnapshot := st.Applied()
	// Entries after the snapshot: fewer than the threshold, so no automatic
	// snapshot covers them and only the log holds them.
	for i := 40; i < 46; i++ {
		propose(t, n, storetest.Batch("acme", fmt.Sprint("b", i), i*5, 5))
	}
	propose(t, n, user("late"))
	digest, applied := storetest.MustDigest(t, st)
	n.Close()
	st.Close()

	if s := snapshotIndex(t, dir); s != atSnapshot {
		t.Fatalf("snapshot at %d, want %d", s, atSnapshot)
	}
	if first := firstLogIndex(t, dir); first <= 3 {
		t.Fatalf("log starts at %d: it was not compacted, the test proves nothing", first)
	}

	// A plain restart: the stores are ahead of the snapshot, nothing is
	// restored, nothing changes.
	st, n = openNode(t, dir, addr, nodeOpts{threshold: 16})
	if st.Applied() != applied {
		t.Fatalf("Applied() after restart = %d, want %d", st.Applied(), applied)
	}
	waitLeader(t, n)
	if d, _ := storetest.MustDigest(t, st); d != digest {
		t.Fatal("restart changed the state")
	}
	n.Close()
	st.Close()

	// The stores are lost: Open restores the snapshot, Raft replays the
	// entries after it.
	if err := os.RemoveAll(filepath.Join(dir, "state")); err != nil {
		t.Fatal(err)
	}
	st, n = openNode(t, dir, addr, nodeOpts{threshold: 16})
	if st.Applied() != atSnapshot {
		t.Fatalf("Applied() after Open = %d, want the snapshot's %d", st.Applied(), atSnapshot)
	}
	waitLeader(t, n)
	waitFor(t, "replay of the log after the snapshot", func() bool { return st.Applied() >= applied })
	if d, a := storetest.MustDigest(t, st); d != digest || a != applied {
		t.Fatalf("recovered state %s at %d, want %s at %d", d, a, digest, applied)
	}
	if got := countEvents(t, st, "acme"); got != 46*5 {
		t.Fatalf("%d events after recovery, want %d", got, 46*5)
	}
	for _, name := range []string{"user0", "user30", "late"} {
		if _, err := st.SQL.UserByName(context.Background(), name); err != nil {
			t.Fatalf("user %s after recovery: %v", name, err)
		}
	}
	propose(t, n, user("after"))
}

func TestOpenRefusesBadSnapshot(t *testing.T) {
	for _, c := range []struct {
		name    string
		corrupt func(t *testing.T, snapDir string)
		wantErr string
	}{
		{"content not a snapshot", nil, "restore snapshot"},
		{"checksum mismatch", func(t *testing.T, snapDir string) {
			path := filepath.Join(snapDir, "state.bin")
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			b[0] ^= 0xff
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "open snapshot"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			snaps, err := raft.NewFileSnapshotStore(filepath.Join(dir, "raft"), 2, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			sink, err := snaps.Create(raft.SnapshotVersionMax, 10, 1, raft.Configuration{}, 1, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sink.Write([]byte("this is not a snapshot stream")); err != nil {
				t.Fatal(err)
			}
			if err := sink.Close(); err != nil {
				t.Fatal(err)
			}
			if c.corrupt != nil {
				c.corrupt(t, filepath.Join(dir, "raft", "snapshots", sink.ID()))
			}
			st := storetest.MustOpenStoreAt(t, filepath.Join(dir, "state"))
			n, err := cluster.Open(testConfig(dir, freeAddr(t), st, nodeOpts{}))
			if err == nil {
				n.Close()
				t.Fatal("Open with an unusable snapshot and empty stores succeeded")
			}
			if !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("error %q does not mention %q", err, c.wantErr)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	st := storetest.MustOpenStore(t)
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	idIsDir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(idIsDir, "node-id"), 0o700); err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, c := range []struct {
		name, dir, addr, wantErr string
	}{
		{"data dir is a file", file, freeAddr(t), "create raft dir"},
		{"node-id unreadable", idIsDir, freeAddr(t), "read node id"},
		{"bad address", t.TempDir(), "not an address", "cluster address"},
		{"address in use", t.TempDir(), busy.Addr().String(), "listen on cluster address"},
	} {
		t.Run(c.name, func(t *testing.T) {
			n, err := cluster.Open(testConfig(c.dir, c.addr, st, nodeOpts{}))
			if err == nil {
				n.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("error %q does not mention %q", err, c.wantErr)
			}
		})
	}
}

func TestBootstrapRefusesStoresWithoutTheirLog(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	st, n := openNode(t, dir, addr, nodeOpts{})
	if err := n.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	waitLeader(t, n)
	propose(t, n, &command.CreateTenant{Tenant: appliance.Tenant{Name: "acme", Created: t0}})
	n.Close()
	st.Close()
	// The Raft log and snapshots are lost; the stores remain.
	if err := os.RemoveAll(filepath.Join(dir, "raft")); err != nil {
		t.Fatal(err)
	}
	_, n = openNode(t, dir, addr, nodeOpts{})
	if has, err := n.HasState(); err != nil || has {
		t.Fatalf("HasState without a log = %v, %v", has, err)
	}
	err := n.Bootstrap()
	if err == nil || !strings.Contains(err.Error(), "refusing to start a new log") {
		t.Fatalf("Bootstrap over stores without their log: %v", err)
	}
}
