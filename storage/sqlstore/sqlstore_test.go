package sqlstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/storage/sqlstore"
)

var t0 = time.Date(2024, 3, 1, 9, 0, 0, 123456789, time.UTC)

func hash(s string) [32]byte { return sha256.Sum256([]byte(s)) }

func mustOpen(tb testing.TB, path string) *sqlstore.DB {
	tb.Helper()
	db, err := sqlstore.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// apply runs fn as log entry index and returns its domain error, failing
// the test on an infrastructure error.
func apply(t *testing.T, db *sqlstore.DB, index uint64, fn func(*sql.Tx) error) error {
	t.Helper()
	applied, err := db.Apply(index, fn)
	if err != nil && appliance.ErrorCode(err) == appliance.EINTERNAL {
		t.Fatalf("apply %d: %v", index, err)
	}
	if !applied {
		t.Fatalf("apply %d: skipped", index)
	}
	return err
}

// seed creates two tenants with users, tokens and sessions.
func seed(t *testing.T, db *sqlstore.DB) uint64 {
	t.Helper()
	steps := []func(*sql.Tx) error{
		func(tx *sql.Tx) error {
			return sqlstore.CreateTenant(tx, appliance.Tenant{Name: "default", Created: t0})
		},
		func(tx *sql.Tx) error { return sqlstore.CreateTenant(tx, appliance.Tenant{Name: "acme", Created: t0}) },
		func(tx *sql.Tx) error {
			return sqlstore.CreateUser(tx, appliance.User{Tenant: "default", Name: "admin", Role: appliance.RoleSuperAdmin, PasswordHash: "$argon2id$a", Created: t0})
		},
		func(tx *sql.Tx) error {
			return sqlstore.CreateUser(tx, appliance.User{Tenant: "acme", Name: "alice", Role: appliance.RoleSOCAnalyst, PasswordHash: "$argon2id$b", Created: t0})
		},
		func(tx *sql.Tx) error {
			return sqlstore.CreateToken(tx, appliance.Token{Tenant: "acme", Name: "zeta", Scope: appliance.ScopeAPI, Role: appliance.RoleReadOnlyAnalyst, Hash: hash("z"), Created: t0})
		},
		func(tx *sql.Tx) error {
			return sqlstore.CreateToken(tx, appliance.Token{Tenant: "acme", Name: "alpha", Scope: appliance.ScopeIngest, Hash: hash("a"), Created: t0})
		},
		func(tx *sql.Tx) error {
			return sqlstore.CreateToken(tx, appliance.Token{Tenant: "default", Name: "other", Scope: appliance.ScopeIngest, Hash: hash("o"), Created: t0})
		},
		func(tx *sql.Tx) error {
			return sqlstore.CreateSession(tx, appliance.Session{Hash: hash("s1"), Tenant: "acme", User: "alice", Created: t0, Expires: t0.Add(time.Hour)})
		},
		func(tx *sql.Tx) error {
			return sqlstore.CreateSession(tx, appliance.Session{Hash: hash("s2"), Tenant: "acme", User: "alice", Created: t0, Expires: t0.Add(-time.Hour)})
		},
	}
	for i, fn := range steps {
		if err := apply(t, db, uint64(i+1), fn); err != nil {
			t.Fatalf("seed step %d: %v", i+1, err)
		}
	}
	return uint64(len(steps))
}

func TestIdentityReads(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, filepath.Join(t.TempDir(), "state.db"))
	n := seed(t, db)
	if db.Applied() != n {
		t.Fatalf("Applied() = %d, want %d", db.Applied(), n)
	}

	for tenant, want := range map[string]bool{"default": true, "acme": true, "nope": false, "": false, "ACME": false} {
		if got, err := db.TenantExists(ctx, tenant); err != nil || got != want {
			t.Errorf("TenantExists(%q) = %v, %v; want %v", tenant, got, err, want)
		}
	}

	u, err := db.UserByName(ctx, "alice")
	want := appliance.User{Tenant: "acme", Name: "alice", Role: appliance.RoleSOCAnalyst, PasswordHash: "$argon2id$b", Created: t0}
	if err != nil || u != want {
		t.Fatalf("UserByName(alice) = %+v, %v; want %+v", u, err, want)
	}
	if _, err := db.UserByName(ctx, "mallory"); appliance.ErrorCode(err) != appliance.ENOTFOUND {
		t.Fatalf("UserByName(mallory): %v", err)
	}

	tok, err := db.TokenByHash(ctx, hash("z"))
	wantTok := appliance.Token{Tenant: "acme", Name: "zeta", Scope: appliance.ScopeAPI, Role: appliance.RoleReadOnlyAnalyst, Hash: hash("z"), Created: t0}
	if err != nil || tok != wantTok {
		t.Fatalf("TokenByHash = %+v, %v; want %+v", tok, err, wantTok)
	}
	if _, err := db.TokenByHash(ctx, hash("missing")); appliance.ErrorCode(err) != appliance.ENOTFOUND {
		t.Fatalf("TokenByHash(missing): %v", err)
	}

	toks, err := db.Tokens(ctx, "acme")
	if err != nil || len(toks) != 2 || toks[0].Name != "alpha" || toks[1].Name != "zeta" {
		t.Fatalf("Tokens(acme) = %+v, %v; want alpha, zeta", toks, err)
	}
	if toks[0].Hash != hash("a") || toks[0].Tenant != "acme" || toks[0].Scope != appliance.ScopeIngest || !toks[0].Created.Equal(t0) {
		t.Fatalf("Tokens(acme)[0] = %+v", toks[0])
	}
	if toks, err := db.Tokens(ctx, "nope"); err != nil || len(toks) != 0 {
		t.Fatalf("Tokens(nope) = %+v, %v", toks, err)
	}

	sess, role, err := db.SessionByHash(ctx, hash("s1"))
	wantSess := appliance.Session{Hash: hash("s1"), Tenant: "acme", User: "alice", Created: t0, Expires: t0.Add(time.Hour)}
	if err != nil || sess != wantSess || role != appliance.RoleSOCAnalyst {
		t.Fatalf("SessionByHash = %+v, %q, %v; want %+v, soc_analyst", sess, role, err, wantSess)
	}
	if _, _, err := db.SessionByHash(ctx, hash("nope")); appliance.ErrorCode(err) != appliance.ENOTFOUND {
		t.Fatalf("SessionByHash(nope): %v", err)
	}

	// Logout, then expiry: sessions expiring before the given time go.
	if err := apply(t, db, n+1, func(tx *sql.Tx) error { return sqlstore.DeleteSession(tx, [32]byte{}, t0.UnixNano()) }); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.SessionByHash(ctx, hash("s2")); appliance.ErrorCode(err) != appliance.ENOTFOUND {
		t.Fatalf("expired session s2: %v", err)
	}
	if _, _, err := db.SessionByHash(ctx, hash("s1")); err != nil {
		t.Fatalf("unexpired session s1 gone: %v", err)
	}
	if err := apply(t, db, n+2, func(tx *sql.Tx) error { return sqlstore.DeleteSession(tx, hash("s1"), 0) }); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.SessionByHash(ctx, hash("s1")); appliance.ErrorCode(err) != appliance.ENOTFOUND {
		t.Fatalf("deleted session s1: %v", err)
	}
}

func TestDomainErrors(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, filepath.Join(t.TempDir(), "state.db"))
	n := seed(t, db)
	cases := []struct {
		name string
		fn   func(*sql.Tx) error
		code string
	}{
		{"user name taken", func(tx *sql.Tx) error {
			return sqlstore.CreateUser(tx, appliance.User{Tenant: "default", Name: "alice", Role: appliance.RoleSuperAdmin, Created: t0})
		}, appliance.ECONFLICT},
		{"user of a missing tenant", func(tx *sql.Tx) error {
			return sqlstore.CreateUser(tx, appliance.User{Tenant: "nope", Name: "bob", Created: t0})
		}, appliance.ENOTFOUND},
		{"token hash taken", func(tx *sql.Tx) error {
			return sqlstore.CreateToken(tx, appliance.Token{Tenant: "default", Name: "again", Hash: hash("z"), Created: t0})
		}, appliance.ECONFLICT},
		{"token of a missing tenant", func(tx *sql.Tx) error {
			return sqlstore.CreateToken(tx, appliance.Token{Tenant: "nope", Name: "t", Hash: hash("new"), Created: t0})
		}, appliance.ENOTFOUND},
		{"session hash taken", func(tx *sql.Tx) error {
			return sqlstore.CreateSession(tx, appliance.Session{Hash: hash("s1"), Tenant: "acme", User: "alice", Created: t0})
		}, appliance.ECONFLICT},
		{"session of a missing tenant", func(tx *sql.Tx) error {
			return sqlstore.CreateSession(tx, appliance.Session{Hash: hash("new"), Tenant: "nope", User: "alice", Created: t0})
		}, appliance.ENOTFOUND},
		{"tenant exists", func(tx *sql.Tx) error {
			return sqlstore.CreateTenant(tx, appliance.Tenant{Name: "acme", Created: t0.Add(time.Hour)})
		}, ""},
	}
	for _, c := range cases {
		n++
		err := apply(t, db, n, c.fn)
		if appliance.ErrorCode(err) != c.code {
			t.Errorf("%s: %v, want code %q", c.name, err, c.code)
		}
		if db.Applied() != n {
			t.Errorf("%s: a failed command is applied all the same: Applied() = %d, want %d", c.name, db.Applied(), n)
		}
	}
	// A failed command's changes are rolled back, even partial ones.
	n++
	err := apply(t, db, n, func(tx *sql.Tx) error {
		if err := sqlstore.CreateTenant(tx, appliance.Tenant{Name: "half", Created: t0}); err != nil {
			return err
		}
		return sqlstore.CreateUser(tx, appliance.User{Tenant: "half", Name: "alice", Created: t0})
	})
	if appliance.ErrorCode(err) != appliance.ECONFLICT {
		t.Fatalf("half-done command: %v", err)
	}
	if ok, _ := db.TenantExists(ctx, "half"); ok {
		t.Fatal("a failed command left its first change behind")
	}
	// The tenant kept its original creation time.
	var created int64
	if err := db.Read().QueryRow(`SELECT created FROM tenants WHERE name = 'acme'`).Scan(&created); err != nil || created != t0.UnixNano() {
		t.Fatalf("acme created %d, %v; want %d", created, err, t0.UnixNano())
	}
}

func TestApplySkipsReplays(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db := mustOpen(t, path)
	n := seed(t, db)
	called := false
	for _, idx := range []uint64{1, n} {
		applied, err := db.Apply(idx, func(*sql.Tx) error { called = true; return nil })
		if applied || err != nil || called {
			t.Fatalf("replay at %d: applied %v, %v, fn called %v", idx, applied, err, called)
		}
	}
	if err := db.Sync(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = mustOpen(t, path)
	if db.Applied() != n {
		t.Fatalf("Applied() after reopen = %d, want %d", db.Applied(), n)
	}
	if applied, _ := db.Apply(n, func(*sql.Tx) error { called = true; return nil }); applied || called {
		t.Fatal("replay after reopen ran")
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db := mustOpen(t, path)
	seed(t, db)
	db.Close()
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	newer := sqlstore.SchemaVersion() + 5
	if _, err := raw.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, newer)); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	_, err = sqlstore.Open(path)
	if err == nil {
		t.Fatal("opened a database of a newer schema")
	}
	if !strings.Contains(err.Error(), fmt.Sprint(newer)) || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("error %q does not name the version", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := sqlstore.Open(filepath.Join(dir, "missing", "state.db")); err == nil {
		t.Fatal("Open in a missing directory succeeded")
	}
	junk := filepath.Join(dir, "junk.db")
	if err := os.WriteFile(junk, bytes.Repeat([]byte("not a database "), 400), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlstore.Open(junk); err == nil {
		t.Fatal("Open of a junk file succeeded")
	}
}

func dump(t *testing.T, db *sqlstore.DB) *sqlstore.Records {
	t.Helper()
	tx, err := db.ReadTx(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	r := &sqlstore.Records{}
	if err := sqlstore.Dump(context.Background(), tx, r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestDumpAndLoad(t *testing.T) {
	ctx := context.Background()
	src := mustOpen(t, filepath.Join(t.TempDir(), "src.db"))
	n := seed(t, src)
	r := dump(t, src)
	var tables []string
	for i, k := range r.Kinds {
		if k == sqlstore.RecordTable {
			tables = append(tables, strings.Split(string(r.Payloads[i]), "\x00")[0])
		}
	}
	if strings.Join(tables, ",") != "tenants,users,tokens,sessions,cluster_meta,backup_schedule,rules,indicators,correlation_state,incidents,alerts,correlation_log,alert_techniques,alert_severities" {
		t.Fatalf("dumped tables %v", tables)
	}
	if len(r.Kinds) != 6+2+2+3+2+6+2 { // + the empty alert rollups' table records
		t.Fatalf("dump has %d records", len(r.Kinds))
	}

	dstPath := filepath.Join(t.TempDir(), "dst.db")
	dst := mustOpen(t, dstPath)
	apply(t, dst, 1, func(tx *sql.Tx) error { return sqlstore.CreateTenant(tx, appliance.Tenant{Name: "stale", Created: t0}) })
	l, err := dst.NewLoader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range r.Kinds {
		if err := l.Record(r.Kinds[i], r.Payloads[i]); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	if err := l.Commit(n); err != nil {
		t.Fatal(err)
	}
	if dst.Applied() != n {
		t.Fatalf("Applied() = %d, want %d", dst.Applied(), n)
	}
	if ok, _ := dst.TenantExists(ctx, "stale"); ok {
		t.Fatal("load kept a row the snapshot does not have")
	}
	if _, role, err := dst.SessionByHash(ctx, hash("s1")); err != nil || role != appliance.RoleSOCAnalyst {
		t.Fatalf("loaded session: %q, %v", role, err)
	}
	again := dump(t, dst)
	for i := range r.Payloads {
		if again.Kinds[i] != r.Kinds[i] || !bytes.Equal(again.Payloads[i], r.Payloads[i]) {
			t.Fatalf("dump of the loaded database differs at record %d", i)
		}
	}
	dst.Close()
	dst = mustOpen(t, dstPath)
	if dst.Applied() != n {
		t.Fatalf("Applied() after reopen = %d, want %d", dst.Applied(), n)
	}
}

func TestLoaderAbortKeepsContent(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, filepath.Join(t.TempDir(), "state.db"))
	n := seed(t, db)
	before := dump(t, db)
	for _, c := range []struct {
		kind    byte
		payload []byte
		wantErr string
	}{
		{sqlstore.RecordTable, []byte("nope\x00a"), "unknown table"},
		{sqlstore.RecordTable, []byte("tenants"), "unknown table"},
		{sqlstore.RecordRow, []byte{0}, "before any table"},
		{'?', nil, "unexpected record kind"},
	} {
		l, err := db.NewLoader(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Record(c.kind, c.payload); err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Fatalf("Record(%q, %q): %v, want %q", c.kind, c.payload, err, c.wantErr)
		}
		l.Abort()
	}
	// A load that got as far as rows, then was abandoned.
	l, err := db.NewLoader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Record(sqlstore.RecordTable, []byte("tenants\x00name\x00created")); err != nil {
		t.Fatal(err)
	}
	if err := l.Record(sqlstore.RecordRow, []byte{3, 1, 'x', 1, 2}); err != nil {
		t.Fatal(err)
	}
	l.Abort()
	after := dump(t, db)
	if len(after.Payloads) != len(before.Payloads) || db.Applied() != n {
		t.Fatalf("aborted loads changed the database: %d records, Applied() %d", len(after.Payloads), db.Applied())
	}
	for i := range before.Payloads {
		if !bytes.Equal(before.Payloads[i], after.Payloads[i]) {
			t.Fatalf("aborted loads changed record %d", i)
		}
	}
	// The writer connection is usable afterwards.
	if err := apply(t, db, n+1, func(tx *sql.Tx) error { return sqlstore.CreateTenant(tx, appliance.Tenant{Name: "next", Created: t0}) }); err != nil {
		t.Fatal(err)
	}
	// A load breaking a foreign key fails at commit, and changes nothing.
	l, err = db.NewLoader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l.Record(sqlstore.RecordTable, []byte("users\x00name\x00tenant\x00role\x00password_hash\x00created"))
	if err := l.Record(sqlstore.RecordRow, []byte{3, 1, 'u', 3, 1, 'x', 3, 0, 3, 0, 1, 0}); err != nil {
		t.Fatal(err)
	}
	if err := l.Commit(99); err == nil || !strings.Contains(err.Error(), "FOREIGN KEY") {
		t.Fatalf("commit of a load breaking a foreign key: %v", err)
	}
	if db.Applied() != n+1 {
		t.Fatalf("failed commit moved Applied() to %d", db.Applied())
	}
	if ok, err := db.TenantExists(ctx, "next"); !ok || err != nil {
		t.Fatalf("failed commit lost data: %v", err)
	}
	if err := apply(t, db, n+2, func(tx *sql.Tx) error { return sqlstore.CreateTenant(tx, appliance.Tenant{Name: "after", Created: t0}) }); err != nil {
		t.Fatal(err)
	}
	if ok, _ := db.TenantExists(ctx, "after"); !ok {
		t.Fatal("writes after a failed load commit are lost")
	}
}

func TestLoadAllValueKinds(t *testing.T) {
	// NULL, REAL and BLOB values round-trip through the row encoding.
	ctx := context.Background()
	db := mustOpen(t, filepath.Join(t.TempDir(), "state.db"))
	l, err := db.NewLoader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// created as a float: SQLite keeps what it is given.
	float := []byte{2, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18} // 3.141592653589793
	rows := []struct{ table, row []byte }{
		{[]byte("tenants\x00name\x00created"), append([]byte{3, 2, 'a', 'b'}, float...)},
		// A NULL primary key (SQLite allows it for non-integer keys), then
		// a blob one.
		{[]byte("tokens\x00hash\x00tenant\x00name\x00scope\x00role\x00created"), []byte{0, 3, 2, 'a', 'b', 3, 0, 3, 0, 3, 0, 1, 4}},
		{nil, []byte{4, 2, 1, 2, 3, 2, 'a', 'b', 3, 1, 'n', 3, 0, 3, 0, 1, 0x7f}},
	}
	for _, r := range rows {
		if r.table != nil {
			if err := l.Record(sqlstore.RecordTable, r.table); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Record(sqlstore.RecordRow, r.row); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Commit(3); err != nil {
		t.Fatal(err)
	}
	var dumped [][]byte
	for i, k := range dump(t, db).Kinds {
		if k == sqlstore.RecordRow {
			dumped = append(dumped, dump(t, db).Payloads[i])
		}
	}
	if len(dumped) != len(rows) {
		t.Fatalf("%d rows dumped, want %d", len(dumped), len(rows))
	}
	for i, r := range rows {
		if !bytes.Equal(dumped[i], r.row) {
			t.Errorf("row %d dumped as % x, loaded as % x", i, dumped[i], r.row)
		}
	}
}

func TestOpenPathsNeedingEscapes(t *testing.T) {
	// The path goes into a file: URI; a data dir with a space, '%', '?' or
	// '#' in its name must still work and put the file exactly there.
	for _, dir := range []string{"with space", "pct%20", "q?mark", "hash#tag", "ünï"} {
		path := filepath.Join(t.TempDir(), dir, "state.db")
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		db, err := sqlstore.Open(path)
		if err != nil {
			t.Fatalf("Open in %q: %v", dir, err)
		}
		if err := apply(t, db, 1, func(tx *sql.Tx) error { return sqlstore.CreateTenant(tx, appliance.Tenant{Name: "acme", Created: t0}) }); err != nil {
			t.Fatal(err)
		}
		db.Close()
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("database not at %s: %v", path, err)
		}
		db = mustOpen(t, path)
		if ok, err := db.TenantExists(context.Background(), "acme"); !ok || db.Applied() != 1 {
			t.Fatalf("reopened %q: tenant %v (%v), Applied() %d", dir, ok, err, db.Applied())
		}
	}
}
