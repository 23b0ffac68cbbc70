package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/detect"
	"github.com/minixdr/xdr/appliance/query"
)

// Page sizes of the detection listings.
const (
	DefaultPage = 100
	MaxPage     = 1000
	// maxAlertScan bounds the alerts one filtered page reads; a page that
	// reaches it ends early with a cursor to continue.
	maxAlertScan = 20000
)

// The page types are detect's; these names keep callers in storage short.
type (
	AlertQuery   = detect.AlertQuery
	AlertPage    = detect.AlertPage
	IncidentPage = detect.IncidentPage
	IntelCount   = detect.IntelCount
)

// RuleSources returns the YAML of a tenant's imported rules, by ID.
func (db *DB) RuleSources(ctx context.Context, tenant string) ([][]byte, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT source FROM rules WHERE tenant = ? AND builtin = 0 ORDER BY id`, tenant)
	if err != nil {
		return nil, wrap(err, "list rule sources")
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var src []byte
		if err := rows.Scan(&src); err != nil {
			return nil, wrap(err, "list rule sources")
		}
		out = append(out, src)
	}
	return out, wrap(rows.Err(), "list rule sources")
}

// Alerts returns a page of alerts matching q. The query narrows the rows
// in SQL (alert_filter.go); what SQL cannot judge exactly is matched here
// on the rows it returns.
func (db *DB) Alerts(ctx context.Context, q detect.AlertQuery) (detect.AlertPage, error) {
	page := detect.AlertPage{Alerts: []detect.Alert{}}
	limit := pageSize(q.Limit)
	curTime, curID, err := parseCursor(q.Cursor)
	if err != nil {
		return page, err
	}
	filter := alertFilter(q.Expr)
	sqlq := `SELECT id, time, doc FROM alerts WHERE tenant = ? AND (time < ? OR (time = ? AND id < ?))`
	args := []any{q.Tenant, curTime, curTime, curID}
	if q.Incident != "" {
		sqlq += ` AND incident = ?`
		args = append(args, q.Incident)
	}
	if filter.sup.sql != condTrue.sql {
		sqlq += ` AND (` + filter.sup.sql + `)`
		args = append(args, filter.sup.args...)
	}
	scan := maxAlertScan
	if filter.exact {
		scan = limit
	}
	rows, err := db.read.QueryContext(ctx, sqlq+` ORDER BY time DESC, id DESC LIMIT ?`, append(args, scan)...)
	if err != nil {
		return page, wrap(err, "list alerts")
	}
	defer rows.Close()
	scanned := 0
	var lastTime int64
	var lastID string
	for rows.Next() {
		var doc []byte
		if err := rows.Scan(&lastID, &lastTime, &doc); err != nil {
			return page, wrap(err, "list alerts")
		}
		scanned++
		if !filter.exact {
			ok, err := matchAlert(q.Expr, doc)
			if err != nil {
				return page, fmt.Errorf("alert %s: %w", lastID, err)
			}
			if !ok {
				continue
			}
		}
		var a detect.Alert
		if err := json.Unmarshal(doc, &a); err != nil {
			return page, fmt.Errorf("alert %s: %w", lastID, err)
		}
		page.Alerts = append(page.Alerts, a)
		if len(page.Alerts) == limit {
			break
		}
	}
	if err := rows.Err(); err != nil {
		return page, wrap(err, "list alerts")
	}
	if len(page.Alerts) == limit || scanned == scan {
		page.Next = formatCursor(lastTime, lastID)
	}
	return page, nil
}

// matchAlert evaluates an alert query on a stored alert in Go.
func matchAlert(e query.Expr, doc []byte) (bool, error) {
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		return false, err
	}
	return query.Match(e, alertFields{Fields: query.DocFields(m, doc), doc: m}), nil
}

// Incident returns one incident of a tenant; ENOTFOUND if there is none.
func (db *DB) Incident(ctx context.Context, tenant, id string) (*detect.Incident, error) {
	return incidentByID(readQueryer{ctx, db}, tenant, id)
}

type readQueryer struct {
	ctx context.Context
	db  *DB
}

func (r readQueryer) QueryRow(q string, args ...any) *sql.Row {
	return r.db.read.QueryRowContext(r.ctx, q, args...)
}

// IntelSummary counts a tenant's indicators by source and type.
func (db *DB) IntelSummary(ctx context.Context, tenant string) ([]detect.IntelCount, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT source, type, count(*) FROM indicators WHERE tenant = ? GROUP BY source, type ORDER BY source, type`, tenant)
	if err != nil {
		return nil, wrap(err, "count indicators")
	}
	defer rows.Close()
	out := []detect.IntelCount{}
	for rows.Next() {
		var c detect.IntelCount
		if err := rows.Scan(&c.Source, &c.Type, &c.Count); err != nil {
			return nil, wrap(err, "count indicators")
		}
		out = append(out, c)
	}
	return out, wrap(rows.Err(), "count indicators")
}

func pageSize(limit int) int {
	if limit <= 0 {
		return DefaultPage
	}
	return min(limit, MaxPage)
}

// A cursor is "<unix ns>.<id>" of the last row of the previous page; the
// empty cursor starts above every row.
func parseCursor(c string) (int64, string, error) {
	if c == "" {
		return 1<<63 - 1, "", nil
	}
	ts, id, ok := strings.Cut(c, ".")
	n, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil || id == "" {
		return 0, "", appliance.Errorf(appliance.EINVALID, "cursor %q is not one this API returned", c)
	}
	return n, id, nil
}

func formatCursor(t int64, id string) string { return strconv.FormatInt(t, 10) + "." + id }
