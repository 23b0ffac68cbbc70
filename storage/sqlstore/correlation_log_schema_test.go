package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/minixdr/xdr/appliance"
)

// Records collects snapshot records in memory (for this package's
// tests, inside and out).
type Records struct {
	Kinds    []byte
	Payloads [][]byte
}

func (r *Records) Record(kind byte, parts ...[]byte) error {
	r.Kinds = append(r.Kinds, kind)
	r.Payloads = append(r.Payloads, bytes.Join(parts, nil))
	return nil
}

func dumpOf(t *testing.T, q interface {
	BeginTx(context.Context, *sql.TxOptions) (*sql.Tx, error)
}) *Records {
	t.Helper()
	tx, err := q.BeginTx(context.Background(), &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	r := &Records{}
	if err := Dump(context.Background(), tx, r); err != nil {
		t.Fatal(err)
	}
	return r
}

// schema8Log is a database at schema 8 whose correlation logs hold
// batches of these many IDs, as schema 8 stored them (no totals).
var schema8Log = map[string][]int{"acme": {3, 1, 4}, "default": {2}}

func atSchema8WithLog(t *testing.T, path string) {
	t.Helper()
	raw := atSchema(t, path, 8, nil)
	defer raw.Close()
	for tenant, batches := range schema8Log {
		if _, err := raw.Exec(`INSERT INTO tenants (name, created) VALUES (?, 0)`, tenant); err != nil {
			t.Fatal(err)
		}
		for i, n := range batches {
			if _, err := raw.Exec(`INSERT INTO correlation_log (tenant, seq, events) VALUES (?, ?, ?)`,
				tenant, i+1, make([]byte, 16*n)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// checkLogTotals checks each row's total (the running count of IDs) and
// that the next append counts on from it.
func checkLogTotals(t *testing.T, db *DB, index uint64) {
	t.Helper()
	for tenant, batches := range schema8Log {
		var want []int
		sum := 0
		for _, n := range batches {
			sum += n
			want = append(want, sum)
		}
		rows, err := db.read.Query(`SELECT total FROM correlation_log WHERE tenant = ? ORDER BY seq`, tenant)
		if err != nil {
			t.Fatal(err)
		}
		var got []int
		for rows.Next() {
			var n int
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			got = append(got, n)
		}
		rows.Close()
		if !slices.Equal(got, want) {
			t.Errorf("totals of %s = %v, want %v", tenant, got, want)
		}
		if _, err := db.Apply(index, func(tx *sql.Tx) error {
			st := NewDetectState(tx, nil)
			defer st.Close()
			n, err := st.AppendCorrelationLog(tenant, make([]appliance.EventID, 2))
			if err != nil || n != sum+2 {
				t.Errorf("append of 2 to %s after the fill: %d, %v; want %d", tenant, n, err, sum+2)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		index++
	}
}

// TestMigrationFillsCorrelationLogTotals: migration 9 gives the rows
// stored before it their running totals, so appends count on from them.
func TestMigrationFillsCorrelationLogTotals(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	atSchema8WithLog(t, path)
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkLogTotals(t, db, 1)
}

// TestRestoreSchema8Snapshot: a snapshot written at schema 8 (without the
// correlation log's totals) restores, and the node then holds exactly the
// rows of a node that migrated the same state; older schemas and newer
// ones are refused.
func TestRestoreSchema8Snapshot(t *testing.T) {
	ctx := context.Background()
	oldPath := filepath.Join(t.TempDir(), "old.db")
	atSchema8WithLog(t, oldPath)
	raw, err := sql.Open("sqlite", "file:"+oldPath)
	if err != nil {
		t.Fatal(err)
	}
	snap := dumpOf(t, raw)
	raw.Close()
	if i := slices.IndexFunc(snap.Payloads, func(p []byte) bool { return bytes.HasPrefix(p, []byte("correlation_log\x00")) }); i < 0 ||
		strings.Contains(string(snap.Payloads[i]), "total") {
		t.Fatal("the schema 8 dump has no correlation_log table record, or one with totals")
	}
	migrated, err := Open(oldPath)
	if err != nil {
		t.Fatal(err)
	}
	defer migrated.Close()

	db, err := Open(filepath.Join(t.TempDir(), "new.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l, err := db.NewLoader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.FromSchema(8); err != nil {
		t.Fatal(err)
	}
	for i := range snap.Kinds {
		if err := l.Record(snap.Kinds[i], snap.Payloads[i]); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	if err := l.Commit(1); err != nil {
		t.Fatal(err)
	}
	got, want := dumpOf(t, db.read), dumpOf(t, migrated.read)
	if !slices.Equal(got.Kinds, want.Kinds) || !slices.EqualFunc(got.Payloads, want.Payloads, bytes.Equal) {
		t.Fatal("restored schema 8 snapshot differs from the migrated database")
	}
	checkLogTotals(t, db, 2)

	for _, v := range []int{7, SchemaVersion() + 1} {
		l, err := db.NewLoader(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.FromSchema(v); err == nil || !strings.Contains(err.Error(), "snapshot schema") {
			t.Errorf("FromSchema(%d) = %v, want a refusal", v, err)
		}
		l.Abort()
	}
}

// TestSnapshotFillsEveryMigration: each migration since the oldest
// restorable schema says how a snapshot from before it is brought to it.
func TestSnapshotFillsEveryMigration(t *testing.T) {
	for v := oldestSnapshotSchema + 1; v <= SchemaVersion(); v++ {
		if _, ok := snapshotFills[v]; !ok {
			t.Errorf("migration %d has no entry in snapshotFills", v)
		}
	}
}
