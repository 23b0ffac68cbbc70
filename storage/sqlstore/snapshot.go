package sqlstore

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/minixdr/xdr/storage/snapfmt"
)

// Snapshot record kinds written by this store.
const (
	RecordTable = 'T' // table name and column names, NUL-separated
	RecordRow   = 'R' // one row: tagged values
)

// value tags in a row record
const (
	tagNull = iota
	tagInt
	tagFloat
	tagText
	tagBlob
)

// ReplicatedTables lists the tables that snapshots carry, in the order they
// are written and loaded (parents before children, for foreign keys).
func replicatedTables(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid`)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		if !localTables[n] {
			names = append(names, n)
		}
	}
	return names, rows.Err()
}

// Dump writes every replicated table's rows, ordered by primary key, as
// snapshot records. tx fixes the point in time.
func Dump(ctx context.Context, tx *sql.Tx, w snapfmt.RecordWriter) error {
	tables, err := replicatedTables(ctx, tx)
	if err != nil {
		return err
	}
	for _, table := range tables {
		if err := dumpTable(ctx, tx, table, w); err != nil {
			return fmt.Errorf("dump table %s: %w", table, err)
		}
	}
	return nil
}

func dumpTable(ctx context.Context, tx *sql.Tx, table string, w snapfmt.RecordWriter) error {
	cols, pk, err := tableColumns(ctx, tx, table)
	if err != nil {
		return err
	}
	if err := w.Record(RecordTable, []byte(table+"\x00"+strings.Join(cols, "\x00"))); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, fmt.Sprintf(`SELECT %s FROM %q ORDER BY %s`, quoteAll(cols), table, quoteAll(pk)))
	if err != nil {
		return err
	}
	defer rows.Close()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var buf []byte
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		buf = encodeRow(buf[:0], vals)
		if err := w.Record(RecordRow, buf); err != nil {
			return err
		}
	}
	return rows.Err()
}

func tableColumns(ctx context.Context, tx *sql.Tx, table string) (cols, pk []string, err error) {
	rows, err := tx.QueryContext(ctx, `SELECT name, pk FROM pragma_table_info(?) ORDER BY cid`, table)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	type pkCol struct {
		name string
		pos  int
	}
	var pks []pkCol
	for rows.Next() {
		var name string
		var pos int
		if err := rows.Scan(&name, &pos); err != nil {
			return nil, nil, err
		}
		cols = append(cols, name)
		if pos > 0 {
			pks = append(pks, pkCol{name, pos})
		}
	}
	if len(pks) == 0 {
		return nil, nil, fmt.Errorf("table %s has no primary key", table)
	}
	slices.SortFunc(pks, func(a, b pkCol) int { return a.pos - b.pos })
	for _, p := range pks {
		pk = append(pk, p.name)
	}
	return cols, pk, rows.Err()
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

func encodeRow(buf []byte, vals []any) []byte {
	for _, v := range vals {
		switch v := v.(type) {
		case nil:
			buf = append(buf, tagNull)
		case int64:
			buf = binary.AppendVarint(append(buf, tagInt), v)
		case float64:
			buf = binary.BigEndian.AppendUint64(append(buf, tagFloat), math.Float64bits(v))
		case string:
			buf = binary.AppendUvarint(append(buf, tagText), uint64(len(v)))
			buf = append(buf, v...)
		case []byte:
			buf = binary.AppendUvarint(append(buf, tagBlob), uint64(len(v)))
			buf = append(buf, v...)
		default:
			panic(fmt.Sprintf("sqlstore: unexpected column type %T", v))
		}
	}
	return buf
}

func decodeRow(b []byte, n int) ([]any, error) {
	vals := make([]any, 0, n)
	for len(b) > 0 {
		tag := b[0]
		b = b[1:]
		switch tag {
		case tagNull:
			vals = append(vals, nil)
		case tagInt:
			v, l := binary.Varint(b)
			if l <= 0 {
				return nil, snapfmt.ErrTruncated
			}
			vals, b = append(vals, v), b[l:]
		case tagFloat:
			if len(b) < 8 {
				return nil, snapfmt.ErrTruncated
			}
			vals, b = append(vals, math.Float64frombits(binary.BigEndian.Uint64(b))), b[8:]
		case tagText, tagBlob:
			l, k := binary.Uvarint(b)
			if k <= 0 || l > uint64(len(b)-k) {
				return nil, snapfmt.ErrTruncated
			}
			raw := b[k : k+int(l)]
			if tag == tagText {
				vals = append(vals, string(raw))
			} else {
				vals = append(vals, append([]byte(nil), raw...))
			}
			b = b[k+int(l):]
		default:
			return nil, fmt.Errorf("unknown value tag %d", tag)
		}
	}
	if len(vals) != n {
		return nil, fmt.Errorf("row has %d values, table has %d columns", len(vals), n)
	}
	return vals, nil
}

// Loader replaces the store's replicated content with a snapshot's, in one
// transaction: either the whole snapshot is loaded or nothing changes.
type Loader struct {
	db     *DB
	tx     *sql.Tx
	insert *sql.Stmt
	ncols  int
	known  map[string]bool
	schema int // of the snapshot
}

// oldestSnapshotSchema is the oldest schema whose snapshots restore: the
// migrations before 9 filled their columns and rollups from the rows at
// migration time only, and a snapshot of those schemas is refused.
const oldestSnapshotSchema = 8

// snapshotFills are, for each migration after oldestSnapshotSchema, the
// statements that bring the rows of a snapshot of the schema before it to
// it ("" if the migration's defaults are right), run as a restore commits:
// a node restored from an older snapshot then holds exactly the rows of one
// that migrated. TestSnapshotFillsEveryMigration keeps it complete.
var snapshotFills = map[int]string{
	9: fillCorrelationLogTotals,
}

// RestorableSchemas is the range of snapshot schemas this build restores.
func RestorableSchemas() (oldest, newest int) { return oldestSnapshotSchema, SchemaVersion() }

// FromSchema tells the loader the schema the snapshot was written at (by
// default this build's); a schema it cannot bring forward is refused.
func (l *Loader) FromSchema(v int) error {
	if v < oldestSnapshotSchema || v > SchemaVersion() {
		return fmt.Errorf("snapshot schema %d, this build restores schemas %d to %d", v, oldestSnapshotSchema, SchemaVersion())
	}
	l.schema = v
	return nil
}

// NewLoader starts a restore: it empties every replicated table.
func (db *DB) NewLoader(ctx context.Context) (*Loader, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	// Foreign keys are checked at commit, so load order within the snapshot
	// does not matter.
	if _, err := tx.Exec(`PRAGMA defer_foreign_keys = ON`); err != nil {
		tx.Rollback()
		return nil, err
	}
	tables, err := replicatedTables(ctx, tx)
	if err != nil {
		tx.Rollback()
		return nil, err
	}
	l := &Loader{db: db, tx: tx, known: map[string]bool{}, schema: SchemaVersion()}
	for i := len(tables) - 1; i >= 0; i-- {
		l.known[tables[i]] = true
		if _, err := tx.Exec(fmt.Sprintf(`DELETE FROM %q`, tables[i])); err != nil {
			tx.Rollback()
			return nil, fmt.Errorf("empty table %s: %w", tables[i], err)
		}
	}
	return l, nil
}

// Record loads one snapshot record of this store's kinds.
func (l *Loader) Record(kind byte, payload []byte) error {
	switch kind {
	case RecordTable:
		parts := strings.Split(string(payload), "\x00")
		if len(parts) < 2 || !l.known[parts[0]] {
			return fmt.Errorf("snapshot names unknown table %q", parts[0])
		}
		if l.insert != nil {
			l.insert.Close()
		}
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(parts)-1), ", ")
		stmt, err := l.tx.Prepare(fmt.Sprintf(`INSERT INTO %q (%s) VALUES (%s)`, parts[0], quoteAll(parts[1:]), marks))
		if err != nil {
			return fmt.Errorf("prepare restore of %s: %w", parts[0], err)
		}
		l.insert, l.ncols = stmt, len(parts)-1
	case RecordRow:
		if l.insert == nil {
			return fmt.Errorf("snapshot row before any table")
		}
		vals, err := decodeRow(payload, l.ncols)
		if err != nil {
			return err
		}
		if _, err := l.insert.Exec(vals...); err != nil {
			return fmt.Errorf("restore row: %w", err)
		}
	default:
		return fmt.Errorf("unexpected record kind %q", kind)
	}
	return nil
}

// Commit finishes the restore and records applied as the applied index.
func (l *Loader) Commit(applied uint64) error {
	if l.insert != nil {
		l.insert.Close()
	}
	for v := l.schema + 1; v <= SchemaVersion(); v++ {
		if snapshotFills[v] == "" {
			continue
		}
		if _, err := l.tx.Exec(snapshotFills[v]); err != nil {
			l.tx.Rollback()
			return fmt.Errorf("bring snapshot of schema %d to %d: %w", l.schema, v, err)
		}
	}
	if err := setApplied(l.tx, applied); err != nil {
		l.tx.Rollback()
		return err
	}
	if err := l.tx.Commit(); err != nil {
		return fmt.Errorf("commit restore: %w", err)
	}
	l.db.applied = applied
	return nil
}

// Abort abandons the restore; the store keeps its previous content.
func (l *Loader) Abort() {
	if l.insert != nil {
		l.insert.Close()
	}
	l.tx.Rollback()
}
