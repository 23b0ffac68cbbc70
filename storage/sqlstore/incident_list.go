package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/detect"
)

// incidentOrders are the sort orders of an incident listing; each ends
// with the primary key so pages never overlap. The severity and alerts
// orders are the expressions of the indexes incidents_severity and
// incidents_alerts (migration 7), written the same so the planner walks
// the index instead of sorting every incident, documents and all.
var incidentOrders = map[string]string{
	"":         `updated DESC, id DESC`,
	"updated":  `updated DESC, id DESC`,
	"created":  `created DESC, id DESC`,
	"severity": `(CASE severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 WHEN 'low' THEN 1 ELSE 0 END) DESC, updated DESC, id DESC`,
	"alerts":   `json_extract(doc, '$.alert_count') DESC, updated DESC, id DESC`,
}

// IncidentList returns one page of a tenant's incidents matching f, and
// how many match in all (the analyst pages).
func (db *DB) IncidentList(ctx context.Context, f appliance.IncidentFilter) ([]detect.Incident, int, error) {
	incs, total, _, err := db.incidents(ctx, f, "", true)
	return incs, total, err
}

// Incidents returns a page of a tenant's incidents, of one status if
// status is not empty, most recently updated first, with a cursor to the
// next page (the API).
func (db *DB) Incidents(ctx context.Context, tenant, status string, limit int, cursor string) (detect.IncidentPage, error) {
	incs, _, next, err := db.incidents(ctx, appliance.IncidentFilter{Tenant: tenant, Status: status, Limit: limit}, cursor, false)
	if incs == nil {
		incs = []detect.Incident{}
	}
	return detect.IncidentPage{Incidents: incs, Next: next}, err
}

// incidents is the one incident listing: f's filters and order, from
// f.Offset or after cursor (a page's Next, in the default order only);
// the total matching f when count; next is the cursor after a full page.
func (db *DB) incidents(ctx context.Context, f appliance.IncidentFilter, cursor string, count bool) (incs []detect.Incident, total int, next string, err error) {
	order, ok := incidentOrders[f.Sort]
	if !ok {
		return nil, 0, "", appliance.Errorf(appliance.EINVALID, "sort %q: use updated, created, severity or alerts", f.Sort)
	}
	where, args, err := incidentWhere(f)
	if err != nil {
		return nil, 0, "", err
	}
	// One read transaction: the total and the page agree.
	tx, err := db.read.BeginTx(ctx, nil)
	if err != nil {
		return nil, 0, "", wrap(err, "list incidents")
	}
	defer tx.Rollback()
	if count {
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM incidents WHERE `+where, args...).Scan(&total); err != nil {
			return nil, 0, "", wrap(err, "count incidents")
		}
	}
	if cursor != "" {
		if order != incidentOrders[""] {
			return nil, 0, "", appliance.Errorf(appliance.EINVALID, "a cursor pages the default order (updated), not sort %q", f.Sort)
		}
		curTime, curID, err := parseCursor(cursor)
		if err != nil {
			return nil, 0, "", err
		}
		where += ` AND (updated < ? OR (updated = ? AND id < ?))`
		args = append(args, curTime, curTime, curID)
	}
	limit := pageSize(f.Limit)
	rows, err := tx.QueryContext(ctx, incidentPageSQL(where, order),
		append(args, limit, max(f.Offset, 0))...)
	if err != nil {
		return nil, 0, "", wrap(err, "list incidents")
	}
	defer rows.Close()
	var lastUpdated int64
	var lastID string
	for rows.Next() {
		var doc []byte
		if err := rows.Scan(&lastID, &lastUpdated, &doc); err != nil {
			return nil, 0, "", wrap(err, "list incidents")
		}
		var inc detect.Incident
		if err := json.Unmarshal(doc, &inc); err != nil {
			return nil, 0, "", fmt.Errorf("incident %s: %w", lastID, err)
		}
		incs = append(incs, inc)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, "", wrap(err, "list incidents")
	}
	if len(incs) == limit {
		next = formatCursor(lastUpdated, lastID)
	}
	return incs, total, next, nil
}

// incidentPageSQL is the query of a page of incidents.
func incidentPageSQL(where, order string) string {
	return `SELECT id, updated, doc FROM incidents WHERE ` + where + ` ORDER BY ` + order + ` LIMIT ? OFFSET ?`
}

// incidentWhere is the condition of f's filters, tenant first.
func incidentWhere(f appliance.IncidentFilter) (string, []any, error) {
	where := []string{"tenant = ?"}
	args := []any{f.Tenant}
	switch f.Status {
	case "":
	case "open":
		where = append(where, "status IN ("+strings.TrimSuffix(strings.Repeat("?,", len(detect.OpenStatuses)), ",")+")")
		for _, s := range detect.OpenStatuses {
			args = append(args, s)
		}
	default:
		if !validStatus(f.Status) {
			return "", nil, appliance.Errorf(appliance.EINVALID, "status %q: want open or one of %s", f.Status, strings.Join(detect.Statuses, ", "))
		}
		where = append(where, "status = ?")
		args = append(args, f.Status)
	}
	if f.Severity != "" {
		if detect.SeverityRank(f.Severity) < 0 {
			return "", nil, appliance.Errorf(appliance.EINVALID, "severity %q: want one of %s", f.Severity, strings.Join(detect.Severities, ", "))
		}
		where = append(where, "severity = ?")
		args = append(args, f.Severity)
	}
	switch f.Assignee {
	case "":
	case "-":
		where = append(where, "coalesce(json_extract(doc, '$.assignee'), '') = ''")
	default:
		where = append(where, "json_extract(doc, '$.assignee') = ?")
		args = append(args, f.Assignee)
	}
	return strings.Join(where, " AND "), args, nil
}

// OpenIncidentCounts counts a tenant's open incidents by severity.
func (db *DB) OpenIncidentCounts(ctx context.Context, tenant string) (map[string]int, error) {
	return db.countBy(ctx, "count open incidents", `SELECT severity, count(*) FROM incidents
		WHERE tenant = ? AND status IN (?, ?, ?) GROUP BY severity`, tenant, detect.OpenStatuses[0], detect.OpenStatuses[1], detect.OpenStatuses[2])
}

// countBy runs a query of (key, count) rows into a map.
func (db *DB) countBy(ctx context.Context, what, query string, args ...any) (map[string]int, error) {
	rows, err := db.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrap(err, "%s", what)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var key string
		var n int
		if err := rows.Scan(&key, &n); err != nil {
			return nil, wrap(err, "%s", what)
		}
		out[key] = n
	}
	return out, wrap(rows.Err(), "%s", what)
}

// AlertHistogram counts a tenant's alerts per severity and time bucket:
// buckets of (to - from) / buckets from from, by alert time. Buckets of an
// hour or more count the whole hours inside them from the alert_severities
// rollup; the alerts themselves (through the covering alerts_time index)
// count the rest: the ends of the range and each hour a bucket boundary
// cuts. Shorter buckets count alerts only. One statement, one state.
func (db *DB) AlertHistogram(ctx context.Context, tenant string, from, to time.Time, buckets int) (map[string][]int, error) {
	if buckets <= 0 || !from.Before(to) {
		return nil, appliance.Errorf(appliance.EINVALID, "alert histogram needs from < to and at least one bucket")
	}
	lo, hi := from.UnixNano(), to.UnixNano()
	width := max((hi-lo)/int64(buckets), 1)
	first, last := wholeHours(lo, hi)
	if width < hourNanos {
		first, last = hi, hi
	}
	spans := [][2]int64{{lo, first}, {last, hi}}
	for b := lo + width; b < last; b += width {
		// A boundary off the hour splits its hour between two buckets: the
		// rollup query leaves that hour out (the same test in SQL).
		if h := floorHour(b); h != b && h >= first {
			spans = append(spans, [2]int64{h, h + hourNanos})
		}
	}
	spanJSON, err := json.Marshal(spans)
	if err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, alertHistogramSQL, lo, width, tenant, first, last, hourNanos, string(spanJSON))
	if err != nil {
		return nil, wrap(err, "count alerts")
	}
	defer rows.Close()
	out := map[string][]int{}
	for rows.Next() {
		var sev string
		var b int64
		var n int
		if err := rows.Scan(&sev, &b, &n); err != nil {
			return nil, wrap(err, "count alerts")
		}
		if out[sev] == nil {
			out[sev] = make([]int, buckets)
		}
		out[sev][min(int(b), buckets-1)] += n
	}
	return out, wrap(rows.Err(), "count alerts")
}

// alertHistogramSQL counts alerts per severity and bucket (?2 wide from
// ?1) of tenant ?3: the rollup's hours in [?4, ?5) (?6 is an hour) that
// one bucket holds whole, and the alerts in the spans ?7 (a JSON array of
// [from, to) pairs), each a range of the alerts_time index (CROSS JOIN:
// the spans drive the loop).
const alertHistogramSQL = `SELECT severity, b, sum(n) FROM (
	SELECT severity, (hour - ?1) / ?2 AS b, alerts AS n FROM alert_severities
		WHERE tenant = ?3 AND hour >= ?4 AND hour < ?5 AND (hour - ?1) / ?2 = (hour + ?6 - 1 - ?1) / ?2
	UNION ALL SELECT alerts.severity, (alerts.time - ?1) / ?2, 1 FROM json_each(?7) AS s CROSS JOIN alerts
		WHERE alerts.tenant = ?3 AND alerts.time >= s.value ->> 0 AND alerts.time < s.value ->> 1
	) GROUP BY 1, 2`

// AlertTechniqueCounts counts a tenant's alerts in [from, to) by ATT&CK
// technique tag: the whole hours from the alert_techniques rollup, the
// minutes at either end from the alerts themselves, in one statement so
// the parts are of one state.
func (db *DB) AlertTechniqueCounts(ctx context.Context, tenant string, from, to time.Time) (map[string]int, error) {
	lo, hi := from.UnixNano(), to.UnixNano()
	first, last := wholeHours(lo, hi)
	return db.countBy(ctx, "count alert techniques", alertTechniquesSQL, tenant, first, last, tenant, lo, first, tenant, last, hi)
}

// alertTechniquesSQL counts a tenant's alerts by technique: the rollup's
// hours in [first, last), then the alerts in [lo, first) and [last, hi).
const alertTechniquesSQL = `SELECT technique, sum(n) FROM (
	SELECT technique, alerts AS n FROM alert_techniques WHERE tenant = ? AND hour >= ? AND hour < ?
	UNION ALL SELECT t.value, 1 FROM alerts, json_each(alerts.doc, '$.attack') AS t
		WHERE alerts.tenant = ? AND alerts.time >= ? AND alerts.time < ? AND t.type = 'text'
	UNION ALL SELECT t.value, 1 FROM alerts, json_each(alerts.doc, '$.attack') AS t
		WHERE alerts.tenant = ? AND alerts.time >= ? AND alerts.time < ? AND t.type = 'text'
	) GROUP BY technique`

// hourNanos is the span of a rollup bucket (alert_techniques,
// alert_severities).
const hourNanos = int64(time.Hour)

// wholeHours are the whole hours [first, last) inside [lo, hi), in Unix
// ns; first = last = hi when there is none.
func wholeHours(lo, hi int64) (first, last int64) {
	first, last = floorHour(lo+hourNanos-1), floorHour(hi)
	if first > last {
		return hi, hi
	}
	return first, last
}

// floorHour is the start of the hour holding t (Unix ns), before 1970 too;
// migrations 7 and 8 compute the same in SQL.
func floorHour(t int64) int64 { return t - ((t%hourNanos)+hourNanos)%hourNanos }
