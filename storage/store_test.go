package storage_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/command"
	"github.com/minixdr/xdr/appliance/query"
	"github.com/minixdr/xdr/storage"
	"github.com/minixdr/xdr/storage/storetest"
)

var t0 = time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)

func hash(s string) [32]byte { return sha256.Sum256([]byte(s)) }

// history is a realistic command sequence: tenants, users, a token,
// sessions, several ingest batches, logout, expiry, and commands that fail
// with domain errors in between. wantErr gives the code each one returns.
type step struct {
	cmd     command.Command
	wantErr string // appliance error code, "" for success
}

func history() []step {
	return []step{
		{cmd: &command.CreateTenant{Tenant: appliance.Tenant{Name: "default", Created: t0}}},
		{cmd: &command.CreateTenant{Tenant: appliance.Tenant{Name: "acme", Created: t0}}},
		{cmd: &command.CreateTenant{Tenant: appliance.Tenant{Name: "acme", Created: t0.Add(time.Hour)}}}, // idempotent
		{cmd: &command.CreateUser{User: appliance.User{Tenant: "default", Name: "admin", Role: appliance.RoleSuperAdmin, PasswordHash: "$argon2id$v=19$m=65536,t=1,p=2$c2FsdA$aGFzaA", Created: t0}}},
		{cmd: &command.CreateUser{User: appliance.User{Tenant: "acme", Name: "alice", Role: appliance.RoleSOCAnalyst, PasswordHash: "$argon2id$x", Created: t0}}},
		{cmd: &command.CreateToken{Token: appliance.Token{Tenant: "acme", Name: "sensor-1", Scope: appliance.ScopeIngest, Hash: hash("tok-1"), Created: t0}}},
		{cmd: &command.CreateToken{Token: appliance.Token{Tenant: "acme", Name: "api", Scope: appliance.ScopeAPI, Role: appliance.RoleReadOnlyAnalyst, Hash: hash("tok-2"), Created: t0}}},
		{cmd: storetest.Batch("acme", "b1", 0, 40)},
		{cmd: &command.CreateSession{Session: appliance.Session{Hash: hash("s-alice"), Tenant: "acme", User: "alice", Created: t0, Expires: t0.Add(12 * time.Hour)}}},
		{cmd: &command.CreateSession{Session: appliance.Session{Hash: hash("s-admin-old"), Tenant: "default", User: "admin", Created: t0.Add(-24 * time.Hour), Expires: t0.Add(-12 * time.Hour)}}},
		{cmd: &command.CreateSession{Session: appliance.Session{Hash: hash("s-admin"), Tenant: "default", User: "admin", Created: t0, Expires: t0.Add(12 * time.Hour)}}},
		{cmd: storetest.Batch("default", "b2", 100, 25)},
		{cmd: &command.CreateUser{User: appliance.User{Tenant: "acme", Name: "alice", Role: appliance.RoleSuperAdmin, PasswordHash: "x", Created: t0}}, wantErr: appliance.ECONFLICT},
		{cmd: &command.CreateToken{Token: appliance.Token{Tenant: "nope", Name: "x", Scope: appliance.ScopeIngest, Hash: hash("tok-3"), Created: t0}}, wantErr: appliance.ENOTFOUND},
		{cmd: &command.CreateUser{User: appliance.User{Tenant: "nope", Name: "mallory", Role: appliance.RoleSuperAdmin, PasswordHash: "x", Created: t0}}, wantErr: appliance.ENOTFOUND},
		{cmd: &command.CreateToken{Token: appliance.Token{Tenant: "acme", Name: "dup", Scope: appliance.ScopeIngest, Hash: hash("tok-1"), Created: t0}}, wantErr: appliance.ECONFLICT},
		{cmd: storetest.Batch("acme", "b3", 40, 30)},
		{cmd: &command.DeleteSession{Hash: hash("s-alice")}},       // logout
		{cmd: &command.DeleteSession{Before: t0.UnixNano()}},       // expiry
		{cmd: &command.DeleteSession{Hash: hash("never-existed")}}, // no-op
		{cmd: &command.CreateUser{User: appliance.User{Tenant: "acme", Name: "bob", Role: appliance.RoleIncidentResponder, PasswordHash: "$argon2id$y", Created: t0}}},
		{cmd: storetest.Batch("acme", "b3", 40, 30)}, // a retried batch: same events
	}
}

// applyHistory applies history() to s through a fresh log and checks each
// command's result.
func applyHistory(t *testing.T, s *storage.Store) *storetest.Log {
	t.Helper()
	l := &storetest.Log{TB: t, Store: s}
	for i, st := range history() {
		err := l.Apply(st.cmd)
		if got := appliance.ErrorCode(err); got != st.wantErr {
			t.Fatalf("step %d (%s): error %v (code %q), want code %q", i, st.cmd.Type(), err, got, st.wantErr)
		}
	}
	return l
}

func searchAll(t *testing.T, s *storage.Store, tenant, q string) [][]byte {
	t.Helper()
	expr, err := query.Parse(q)
	if err != nil {
		t.Fatalf("parse %q: %v", q, err)
	}
	var docs [][]byte
	req := appliance.EventSearch{Tenant: tenant, Expr: expr, Limit: 1000}
	for {
		page, err := s.Search(context.Background(), req)
		if err != nil {
			t.Fatalf("search %q: %v", q, err)
		}
		docs = append(docs, page.Events...)
		if page.Next == (appliance.EventID{}) {
			return docs
		}
		req.Cursor = page.Next
	}
}

// checkHistoryState asserts what history() leaves behind.
func checkHistoryState(t *testing.T, s *storage.Store) {
	t.Helper()
	ctx := context.Background()
	for _, tenant := range []string{"default", "acme"} {
		if ok, err := s.SQL.TenantExists(ctx, tenant); err != nil || !ok {
			t.Errorf("TenantExists(%s) = %v, %v", tenant, ok, err)
		}
	}
	u, err := s.SQL.UserByName(ctx, "alice")
	if err != nil || u.Role != appliance.RoleSOCAnalyst || u.Tenant != "acme" {
		t.Errorf("alice = %+v, %v; want the first CreateUser to win", u, err)
	}
	if _, err := s.SQL.UserByName(ctx, "bob"); err != nil {
		t.Errorf("bob, created after failing commands: %v", err)
	}
	if _, err := s.SQL.UserByName(ctx, "mallory"); appliance.ErrorCode(err) != appliance.ENOTFOUND {
		t.Errorf("mallory: %v, want ENOTFOUND", err)
	}
	tok, err := s.SQL.TokenByHash(ctx, hash("tok-1"))
	if err != nil || tok.Name != "sensor-1" {
		t.Errorf("token tok-1 = %+v, %v", tok, err)
	}
	for _, gone := range []string{"s-alice", "s-admin-old"} {
		if _, _, err := s.SQL.SessionByHash(ctx, hash(gone)); appliance.ErrorCode(err) != appliance.ENOTFOUND {
			t.Errorf("session %s: %v, want ENOTFOUND", gone, err)
		}
	}
	if _, role, err := s.SQL.SessionByHash(ctx, hash("s-admin")); err != nil || role != appliance.RoleSuperAdmin {
		t.Errorf("session s-admin: role %q, %v", role, err)
	}
	if n := len(searchAll(t, s, "acme", "")); n != 70 {
		t.Errorf("acme has %d events, want 70 (a retried batch stores nothing twice)", n)
	}
	if n := len(searchAll(t, s, "default", "")); n != 25 {
		t.Errorf("default has %d events, want 25", n)
	}
	if n := len(searchAll(t, s, "acme", "user.name:root")); n != 18 {
		t.Errorf("acme user.name:root: %d events, want 18", n)
	}
}

func TestApplyHistory(t *testing.T) {
	s := storetest.MustOpenStore(t)
	l := applyHistory(t, s)
	if got := s.Applied(); got != l.Index {
		t.Fatalf("Applied() = %d, want %d", got, l.Index)
	}
	checkHistoryState(t, s)
}

func TestSnapshotRoundTrip(t *testing.T) {
	ctx := context.Background()
	src := storetest.MustOpenStore(t)
	l := applyHistory(t, src)
	digest, applied := storetest.MustDigest(t, src)
	if applied != l.Index {
		t.Fatalf("digest at %d, want %d", applied, l.Index)
	}

	var buf strings.Builder
	at, err := src.WriteSnapshot(ctx, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if at != l.Index {
		t.Fatalf("WriteSnapshot at %d, want %d", at, l.Index)
	}

	dst := storetest.MustOpenStore(t)
	// The target has state of its own, which the restore must replace.
	other := &storetest.Log{TB: t, Store: dst}
	other.MustApply(&command.CreateTenant{Tenant: appliance.Tenant{Name: "stale", Created: t0}})
	other.MustApply(storetest.Batch("stale", "x", 0, 5))

	got, err := dst.RestoreFrom(strings.NewReader(buf.String()))
	if err != nil {
		t.Fatal(err)
	}
	if got != l.Index || dst.Applied() != l.Index {
		t.Fatalf("restored applied index %d / Applied() %d, want %d", got, dst.Applied(), l.Index)
	}
	d2, a2 := storetest.MustDigest(t, dst)
	if d2 != digest || a2 != applied {
		t.Fatalf("restored digest %s at %d, want %s at %d", d2, a2, digest, applied)
	}
	checkHistoryState(t, dst)
	if ok, _ := dst.SQL.TenantExists(ctx, "stale"); ok {
		t.Error("restore kept a tenant the snapshot does not have")
	}
	if n := len(searchAll(t, dst, "stale", "")); n != 0 {
		t.Errorf("restore kept %d events the snapshot does not have", n)
	}

	// The restored store goes on applying where the snapshot ended.
	rl := &storetest.Log{TB: t, Store: dst, Index: got}
	rl.MustApply(&command.CreateUser{User: appliance.User{Tenant: "acme", Name: "carol", Role: appliance.RoleSOCAnalyst, PasswordHash: "x", Created: t0}})
	if err := rl.Apply(&command.CreateUser{User: appliance.User{Tenant: "acme", Name: "carol", Role: appliance.RoleSOCAnalyst, PasswordHash: "x", Created: t0}}); appliance.ErrorCode(err) != appliance.ECONFLICT {
		t.Fatalf("second carol: %v, want ECONFLICT", err)
	}

	// A different state has a different digest: one more event, or one
	// more user, each changes it.
	l.MustApply(storetest.Batch("acme", "b4", 500, 1))
	d3, _ := storetest.MustDigest(t, src)
	if d3 == digest {
		t.Fatal("digest unchanged by a new event")
	}
	d4, _ := storetest.MustDigest(t, dst)
	if d4 == digest || d4 == d3 {
		t.Fatal("digest unchanged by a new user")
	}
	// The same content reached in another order has the same digest: it
	// covers the state, not the history.
	l.MustApply(&command.CreateUser{User: appliance.User{Tenant: "acme", Name: "carol", Role: appliance.RoleSOCAnalyst, PasswordHash: "x", Created: t0}})
	rl.MustApply(storetest.Batch("acme", "b4", 500, 1))
	ds, _ := storetest.MustDigest(t, src)
	dd, _ := storetest.MustDigest(t, dst)
	if ds != dd {
		t.Fatalf("same content, different digests %s and %s", ds, dd)
	}
}

func TestReplayIsNoOp(t *testing.T) {
	s := storetest.MustOpenStore(t)
	l := applyHistory(t, s)
	before, applied := storetest.MustDigest(t, s)

	// Replay every entry of the history at its original index, then some
	// entries at old indexes with different content: none may change
	// anything, and none reports a domain error (it was applied already).
	replay := &storetest.Log{TB: t, Store: s}
	for _, st := range history() {
		if err := replay.Apply(st.cmd); err != nil {
			t.Fatalf("replay of %s at %d: %v", st.cmd.Type(), replay.Index, err)
		}
	}
	ghost := storetest.Batch("acme", "ghost", 900, 3)
	for _, c := range []command.Command{
		ghost,
		&command.CreateUser{User: appliance.User{Tenant: "acme", Name: "ghost", Role: appliance.RoleSuperAdmin, PasswordHash: "x", Created: t0}},
		&command.DeleteSession{Before: t0.Add(48 * time.Hour).UnixNano()},
	} {
		for _, idx := range []uint64{1, applied - 1, applied} {
			res := s.Apply(&raft.Log{Index: idx, Type: raft.LogCommand, Data: storetest.Encode(t, c)})
			if err := storetest.AsError(t, res); err != nil {
				t.Fatalf("replay of %s at %d: %v", c.Type(), idx, err)
			}
		}
	}
	after, applied2 := storetest.MustDigest(t, s)
	if after != before || applied2 != applied || s.Applied() != l.Index {
		t.Fatalf("replays changed the state: digest %s→%s, applied %d→%d", before, after, applied, applied2)
	}
	if _, err := s.Get(context.Background(), "acme", ghost.Events[0].ID); appliance.ErrorCode(err) != appliance.ENOTFOUND {
		t.Fatalf("event of a replayed entry: %v, want ENOTFOUND", err)
	}

	// Log entries that are not commands change nothing and do not count.
	for _, typ := range []raft.LogType{raft.LogNoop, raft.LogConfiguration, raft.LogBarrier} {
		if res := s.Apply(&raft.Log{Index: l.Index + 1, Type: typ, Data: []byte{0xff}}); res != nil {
			t.Fatalf("Apply of a %v entry = %v", typ, res)
		}
	}
	if s.Applied() != l.Index {
		t.Fatalf("non-command entries moved Applied() to %d", s.Applied())
	}
}

func TestReopenKeepsState(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	s := storetest.MustOpenStoreAt(t, dir)
	l := applyHistory(t, s)
	digest, applied := storetest.MustDigest(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = storetest.MustOpenStoreAt(t, dir)
	if s.Applied() != l.Index {
		t.Fatalf("Applied() after reopen = %d, want %d", s.Applied(), l.Index)
	}
	if d, a := storetest.MustDigest(t, s); d != digest || a != applied {
		t.Fatalf("digest after reopen %s at %d, want %s at %d", d, a, digest, applied)
	}
	checkHistoryState(t, s)
	// Raft replays the log after a restart: all of it is skipped.
	replay := &storetest.Log{TB: t, Store: s}
	for _, st := range history() {
		if err := replay.Apply(st.cmd); err != nil {
			t.Fatalf("replay after reopen of %s at %d: %v", st.cmd.Type(), replay.Index, err)
		}
	}
	if d, _ := storetest.MustDigest(t, s); d != digest {
		t.Fatal("replay after reopen changed the state")
	}
	// And it goes on from there.
	replay.MustApply(&command.CreateUser{User: appliance.User{Tenant: "acme", Name: "erin", Role: appliance.RoleSOCAnalyst, PasswordHash: "x", Created: t0}})
	if _, err := s.SQL.UserByName(context.Background(), "erin"); err != nil {
		t.Fatal(err)
	}
	if s.Applied() != replay.Index {
		t.Fatalf("Applied() = %d, want %d", s.Applied(), replay.Index)
	}
}

func TestDuplicateSessionIsDomainError(t *testing.T) {
	// The same CreateSession committed twice (a retried proposal) must be a
	// domain error, not an infrastructure failure that stops every node.
	s := storetest.MustOpenStore(t)
	l := &storetest.Log{TB: t, Store: s}
	l.MustApply(&command.CreateTenant{Tenant: appliance.Tenant{Name: "acme", Created: t0}})
	l.MustApply(&command.CreateUser{User: appliance.User{Tenant: "acme", Name: "alice", Role: appliance.RoleSOCAnalyst, PasswordHash: "x", Created: t0}})
	sess := &command.CreateSession{Session: appliance.Session{Hash: hash("s"), Tenant: "acme", User: "alice", Created: t0, Expires: t0.Add(time.Hour)}}
	l.MustApply(sess)
	if err := l.Apply(sess); appliance.ErrorCode(err) != appliance.ECONFLICT {
		t.Fatalf("second CreateSession: %v, want ECONFLICT", err)
	}
	if err := l.Apply(&command.CreateSession{Session: appliance.Session{Hash: hash("t"), Tenant: "nope", User: "alice"}}); appliance.ErrorCode(err) != appliance.ENOTFOUND {
		t.Fatalf("session of a missing tenant: %v, want ENOTFOUND", err)
	}
	if s.Applied() != l.Index {
		t.Fatalf("Applied() = %d, want %d", s.Applied(), l.Index)
	}
}

func TestUnknownCommands(t *testing.T) {
	s := storetest.MustOpenStore(t)
	l := applyHistory(t, s)
	digest, _ := storetest.MustDigest(t, s)

	// An optional command of a newer build is skipped, but counted.
	optional := []byte{byte(command.IgnoreIfUnknown | 0x40), 1, '{', '}'}
	if res := s.Apply(&raft.Log{Index: l.Index + 1, Type: raft.LogCommand, Data: optional}); res != nil {
		t.Fatalf("optional unknown command: %v", res)
	}
	l.Index++
	if s.Applied() != l.Index {
		t.Fatalf("Applied() = %d after a skipped command, want %d", s.Applied(), l.Index)
	}
	if d, _ := storetest.MustDigest(t, s); d != digest {
		t.Fatal("skipped command changed the state")
	}
	// Replaying it is harmless too.
	if res := s.Apply(&raft.Log{Index: l.Index, Type: raft.LogCommand, Data: optional}); res != nil {
		t.Fatalf("replayed optional command: %v", res)
	}

	// Anything else that cannot be decoded stops the node.
	for _, data := range [][]byte{
		{0x40, 1, '{', '}'},               // unknown, mandatory
		{byte(command.TypeCreateUser), 9}, // unknown version
		{byte(command.TypeCreateUser), 1, '{'},
		{byte(command.TypeIngestBatch), 1, 5, 'a'}, // truncated
		{1},
	} {
		msg := applyPanics(t, s, &raft.Log{Index: l.Index + 1, Type: raft.LogCommand, Data: data})
		if !strings.Contains(msg, fmt.Sprintf("log entry %d cannot be applied", l.Index+1)) {
			t.Errorf("panic for % x: %q", data, msg)
		}
		if s.Applied() != l.Index {
			t.Fatalf("an entry that stopped the node moved Applied() to %d", s.Applied())
		}
	}
	// The node that stopped has lost nothing: a restart replays the entry.
	if d, _ := storetest.MustDigest(t, s); d != digest {
		t.Fatal("a refused entry changed the state")
	}
}

func applyPanics(t *testing.T, s *storage.Store, l *raft.Log) (msg string) {
	t.Helper()
	defer func() {
		r := recover()
		if r == nil {
			t.Fatalf("Apply of % x did not panic", l.Data)
		}
		msg = fmt.Sprint(r)
	}()
	s.Apply(l)
	return ""
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := storage.Open(filepath.Join(file, "state"), storetest.Discard); err == nil {
		t.Fatal("Open under a regular file succeeded")
	}
	// A store already open elsewhere cannot be opened twice (Badger's lock).
	state := filepath.Join(dir, "state")
	storetest.MustOpenStoreAt(t, state)
	if s, err := storage.Open(state, storetest.Discard); err == nil {
		s.Close()
		t.Fatal("second Open of an open store succeeded")
	}
}

func TestSearchAndGetThroughStore(t *testing.T) {
	s := storetest.MustOpenStore(t)
	l := &storetest.Log{TB: t, Store: s}
	b := storetest.Batch("acme", "b", 0, 10)
	l.MustApply(b)
	doc, err := s.Get(context.Background(), "acme", b.Events[3].ID)
	if err != nil || string(doc) != string(b.Events[3].Doc) {
		t.Fatalf("Get = %s, %v", doc, err)
	}
	if _, err := s.Get(context.Background(), "other", b.Events[3].ID); appliance.ErrorCode(err) != appliance.ENOTFOUND {
		t.Fatalf("Get of another tenant: %v", err)
	}
}

func TestReadsDuringApplies(t *testing.T) {
	// Raft applies on its own goroutine while requests read: Applied, Search
	// and Digest must be safe meanwhile (run with -race), and the applied
	// index never goes backwards.
	s := storetest.MustOpenStore(t)
	l := &storetest.Log{TB: t, Store: s}
	l.MustApply(&command.CreateTenant{Tenant: appliance.Tenant{Name: "acme", Created: t0}})
	var entries []*raft.Log
	for i := range 30 {
		entries = append(entries, &raft.Log{Index: uint64(i + 2), Type: raft.LogCommand,
			Data: storetest.Encode(t, storetest.Batch("acme", fmt.Sprint("b", i), i*10, 10))})
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, e := range entries {
			if res := s.Apply(e); res != nil {
				t.Errorf("apply %d: %v", e.Index, res)
				return
			}
		}
	}()
	var last uint64
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		a := s.Applied()
		if a < last {
			t.Fatalf("Applied() went from %d back to %d", last, a)
		}
		last = a
		if _, err := s.Search(context.Background(), appliance.EventSearch{Tenant: "acme", Limit: 5}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Digest(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if s.Applied() != 31 {
		t.Fatalf("Applied() = %d, want 31", s.Applied())
	}
}

func TestTenantNamesCannotBreakIsolation(t *testing.T) {
	// Keys are kind · tenant · 0x00 · …: a tenant named "acme\x00…" would
	// have keys under acme's prefix. Such names are refused wherever a
	// command brings a tenant name into the stores.
	s := storetest.MustOpenStore(t)
	l := &storetest.Log{TB: t, Store: s}
	l.MustApply(&command.CreateTenant{Tenant: appliance.Tenant{Name: "acme", Created: t0}})
	l.MustApply(storetest.Batch("acme", "mine", 0, 3))
	for _, name := range []string{"acme\x00evil", "", "Acme", "a/b", strings.Repeat("a", 64)} {
		if err := l.Apply(&command.CreateTenant{Tenant: appliance.Tenant{Name: name, Created: t0}}); appliance.ErrorCode(err) != appliance.EINVALID {
			t.Errorf("CreateTenant(%q): %v, want EINVALID", name, err)
		}
		if err := l.Apply(storetest.Batch(name, "evil", 100, 2)); appliance.ErrorCode(err) != appliance.EINVALID {
			t.Errorf("IngestBatch for tenant %q: %v, want EINVALID", name, err)
		}
	}
	if n := len(searchAll(t, s, "acme", "")); n != 3 {
		t.Fatalf("acme sees %d events, want its own 3", n)
	}
	if s.Applied() != l.Index {
		t.Fatalf("refused commands are applied all the same: Applied() = %d, want %d", s.Applied(), l.Index)
	}
}
