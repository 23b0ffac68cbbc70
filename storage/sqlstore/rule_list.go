package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"time"

	json "github.com/goccy/go-json"
	"modernc.org/sqlite"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/detect"
)

// The rule listing (the rules page, GET /api/v1/rules): filters and the
// page are SQL over the rules table in ID order, by index (migration 6),
// and only the page's rows have their description decoded: decoding every
// rule of a SigmaHQ release on each view was the page's whole cost.
//
// The stored descriptions decode with goccy/go-json: GET /api/v1/rules
// lists every rule, and encoding/json took twice as long.
//
// A built-in rule has a row only once its state changed; the listing
// merges the others in. They are few, so a page of the merged list is at
// most that many stored rows away from the same offset in the stored rows.

// titleContains is the title filter's SQL function: the title, lower-cased
// as Go does (SQLite's lower() and LIKE fold ASCII only), contains the
// (lower-cased) text.
const titleContains = "xdr_title_contains"

func init() {
	sqlite.MustRegisterDeterministicScalarFunction(titleContains, 2, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		title, _ := args[0].(string)
		text, _ := args[1].(string)
		return strings.Contains(strings.ToLower(title), text), nil
	})
}

// RuleList returns the rules [q.Offset, q.Offset+q.Limit) of a tenant
// matching q, by ID: its stored rows and builtin (the built-in rules, as
// listed when they have no row); when count, also how many match in all.
func (db *DB) RuleList(ctx context.Context, q appliance.RuleQuery, builtin []detect.RuleInfo, count bool) ([]detect.RuleInfo, int, error) {
	if q.Offset < 0 || q.Limit < 0 {
		return nil, 0, appliance.Errorf(appliance.EINVALID, "rule page offset %d, limit %d: want zero or more", q.Offset, q.Limit)
	}
	// One read transaction: the count, the page and the built-in rows agree.
	tx, err := db.read.BeginTx(ctx, nil)
	if err != nil {
		return nil, 0, wrap(err, "list rules")
	}
	defer tx.Rollback()
	virtual, err := unstoredRules(ctx, tx, q, builtin)
	if err != nil {
		return nil, 0, err
	}
	where, args := ruleWhere(q)
	total := 0
	if count {
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM rules WHERE `+where, args...).Scan(&total); err != nil {
			return nil, 0, wrap(err, "count rules")
		}
		total += len(virtual)
	}
	from, limit := max(q.Offset-len(virtual), 0), -1
	if q.Limit > 0 {
		limit = q.Offset + q.Limit - from
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, info, enabled, builtin, updated, NULL FROM rules WHERE `+where+
		` ORDER BY id LIMIT ? OFFSET ?`, append(args, limit, from)...)
	if err != nil {
		return nil, 0, wrap(err, "list rules")
	}
	defer rows.Close()
	var stored []detect.RuleInfo
	for rows.Next() {
		info, err := scanRule(rows)
		if err != nil {
			return nil, 0, err
		}
		stored = append(stored, info)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, wrap(err, "list rules")
	}
	return mergeRules(stored, virtual, from, q, limit < 0 || len(stored) < limit), total, nil
}

// ruleWhere is q's filter on the rules table.
func ruleWhere(q appliance.RuleQuery) (string, []any) {
	where, args := []string{"tenant = ?"}, []any{q.Tenant}
	add := func(cond string, arg any) {
		where, args = append(where, cond), append(args, arg)
	}
	if q.Status != "" {
		add("status = ?", q.Status)
	}
	if q.Level != "" {
		add("level = ?", q.Level)
	}
	if q.Enabled != nil {
		add("enabled = ?", *q.Enabled)
	}
	if q.Title != "" {
		add(titleContains+"(title, ?)", strings.ToLower(q.Title))
	}
	return strings.Join(where, " AND "), args
}

// ruleMatches is ruleWhere on a rule without a row.
func ruleMatches(q appliance.RuleQuery, info *detect.RuleInfo) bool {
	return (q.Status == "" || info.Status == q.Status) && (q.Level == "" || info.Level == q.Level) &&
		(q.Enabled == nil || info.Enabled == *q.Enabled) &&
		(q.Title == "" || strings.Contains(strings.ToLower(info.Title), strings.ToLower(q.Title)))
}

// unstoredRules returns the rules of builtin (in ID order) that the tenant
// has no row for and that match q.
func unstoredRules(ctx context.Context, tx *sql.Tx, q appliance.RuleQuery, builtin []detect.RuleInfo) ([]detect.RuleInfo, error) {
	if len(builtin) == 0 {
		return nil, nil
	}
	args := []any{q.Tenant}
	for _, info := range builtin {
		args = append(args, info.ID)
	}
	rows, err := tx.QueryContext(ctx, `SELECT id FROM rules WHERE tenant = ? AND id IN (?`+strings.Repeat(", ?", len(builtin)-1)+`)`, args...)
	if err != nil {
		return nil, wrap(err, "list built-in rules")
	}
	defer rows.Close()
	stored := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, wrap(err, "list built-in rules")
		}
		stored[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(err, "list built-in rules")
	}
	var out []detect.RuleInfo
	for _, info := range builtin {
		if !stored[info.ID] && ruleMatches(q, &info) {
			out = append(out, info)
		}
	}
	return out, nil
}

// mergeRules cuts q's page out of the stored rows from position from
// (to the end of them when ended) merged with the unstored ones, sorted.
// from is at most len(virtual) before q.Offset, so the page's rows are
// all there.
func mergeRules(stored, virtual []detect.RuleInfo, from int, q appliance.RuleQuery, ended bool) []detect.RuleInfo {
	pos := from // the merged position of the first row kept
	if from > 0 {
		if len(stored) == 0 {
			return []detect.RuleInfo{} // fewer than from stored rows: the list ends before q.Offset
		}
		for len(virtual) > 0 && virtual[0].ID < stored[0].ID {
			virtual, pos = virtual[1:], pos+1
		}
	}
	if !ended {
		// Beyond the last stored row read, unread stored rows may come first.
		last := stored[len(stored)-1].ID
		for len(virtual) > 0 && virtual[len(virtual)-1].ID > last {
			virtual = virtual[:len(virtual)-1]
		}
	}
	merged := make([]detect.RuleInfo, 0, len(stored)+len(virtual))
	for len(stored) > 0 || len(virtual) > 0 {
		if len(virtual) == 0 || len(stored) > 0 && stored[0].ID < virtual[0].ID {
			merged, stored = append(merged, stored[0]), stored[1:]
		} else {
			merged, virtual = append(merged, virtual[0]), virtual[1:]
		}
	}
	merged = merged[min(q.Offset-pos, len(merged)):]
	if q.Limit > 0 {
		merged = merged[:min(q.Limit, len(merged))]
	}
	return merged
}

// Rule returns one stored rule of a tenant, with its YAML (none for a
// built-in rule's row); ENOTFOUND if it has no row.
func (db *DB) Rule(ctx context.Context, tenant, id string) (detect.RuleInfo, error) {
	info, err := scanRule(db.read.QueryRowContext(ctx, `SELECT id, info, enabled, builtin, updated, source FROM rules WHERE tenant = ? AND id = ?`, tenant, id))
	if errors.Is(err, sql.ErrNoRows) {
		return info, appliance.Errorf(appliance.ENOTFOUND, "rule %q not found", id)
	}
	return info, err
}

// scanRule reads a row of id, info, enabled, builtin, updated and source:
// the stored description, with the state its columns hold.
func scanRule(row interface{ Scan(...any) error }) (detect.RuleInfo, error) {
	var info detect.RuleInfo
	var id string
	var meta, source []byte
	var enabled, builtin bool
	var updated int64
	if err := row.Scan(&id, &meta, &enabled, &builtin, &updated, &source); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return info, err
		}
		return info, wrap(err, "read rule")
	}
	if err := json.Unmarshal(meta, &info); err != nil {
		return info, fmt.Errorf("rule %q: stored description: %w", id, err)
	}
	info.Enabled, info.Builtin, info.Updated, info.Source = enabled, builtin, time.Unix(0, updated).UTC(), string(source)
	return info, nil
}
