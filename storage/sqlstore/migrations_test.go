package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/detect"
	"github.com/minixdr/xdr/appliance/query"
)

// TestMigrationsFromEmpty: an empty file gets every migration, and the
// schema has the tables and indexes the queries rely on.
func TestMigrationsFromEmpty(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var version int
	if err := db.read.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil || version != SchemaVersion() || version != len(migrations) {
		t.Fatalf("user_version = %d, %v; want %d", version, err, SchemaVersion())
	}
	tables, err := replicatedTables(context.Background(), db.read)
	want := []string{"tenants", "users", "tokens", "sessions", "cluster_meta", "backup_schedule", "rules", "indicators",
		"correlation_state", "incidents", "alerts", "correlation_log", "alert_techniques", "alert_severities"}
	if err != nil || !slices.Equal(tables, want) {
		t.Fatalf("replicated tables = %v, %v; want %v", tables, err, want)
	}
	for _, index := range []string{"alerts_time", "alerts_severity", "alerts_rule", "alerts_ip", "alerts_user", "alerts_host", "alerts_incident", "incidents_updated",
		"rules_list", "rules_status", "rules_level", "rules_enabled", "incidents_status", "incidents_severity", "incidents_alerts"} {
		var n int
		if err := db.read.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = ?`, index).Scan(&n); err != nil || n != 1 {
			t.Errorf("index %s: %d, %v", index, n, err)
		}
	}
}

// TestMigrationFillsAlertEntities: alerts stored before schema 5 get their
// entity columns from the document, so filters on them find old alerts.
func TestMigrationFillsAlertEntities(t *testing.T) {
	old := []*detect.Alert{
		{ID: "a1", Tenant: "acme", Severity: "high", Attack: []string{}, Timestamp: alertT0,
			Entities: []detect.Entity{{Type: "ip", Value: "198.51.1.7"}, {Type: "user", Value: "root"}, {Type: "host", Value: "web-1"}}},
		{ID: "a2", Tenant: "acme", Severity: "low", Attack: []string{}, Timestamp: alertT0,
			Entities: []detect.Entity{{Type: "user", Value: "alice"}}},
		{ID: "a3", Tenant: "acme", Severity: "low", Attack: []string{}, Timestamp: alertT0},
	}
	path := filepath.Join(t.TempDir(), "state.db")
	atSchema(t, path, 4, old).Close()

	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.read.Query(`SELECT id, ip, user_name, host FROM alerts ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var id, ip, user, host string
		if err := rows.Scan(&id, &ip, &user, &host); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %q %q %q", id, ip, user, host))
	}
	rows.Close()
	want := []string{`a1 "198.51.1.7" "root" "web-1"`, `a2 "" "alice" ""`, `a3 "" "" ""`}
	if !slices.Equal(got, want) {
		t.Fatalf("entity columns after migration:\n%v\nwant %v", got, want)
	}
	e, _ := query.Parse("user.name:ALICE OR source.ip:198.51.*")
	page, err := db.Alerts(context.Background(), detect.AlertQuery{Tenant: "acme", Expr: e})
	if err != nil || len(page.Alerts) != 2 || page.Alerts[0].ID != "a2" || page.Alerts[1].ID != "a1" {
		t.Fatalf("filtered old alerts = %+v, %v", page, err)
	}
}

// TestMigrationFillsAlertRollups: alerts stored at schema 5 (before 7, 8)
// are counted into alert_techniques and alert_severities, so the ATT&CK
// page and the dashboard count them from the rollups as new alerts.
func TestMigrationFillsAlertRollups(t *testing.T) {
	hour := alertT0.Truncate(time.Hour)
	old := []*detect.Alert{
		{ID: "a1", Tenant: "acme", Severity: "high", Attack: []string{"T1110", "T1110"}, Timestamp: hour.Add(10 * time.Minute)},
		{ID: "a2", Tenant: "acme", Severity: "low", Attack: []string{"T1078"}, Timestamp: hour.Add(70 * time.Minute)},
		{ID: "a3", Tenant: "acme", Severity: "low", Timestamp: hour},
		{ID: "a4", Tenant: "other", Severity: "low", Attack: []string{"T1110"}, Timestamp: hour.Add(10 * time.Minute)},
		{ID: "a5", Tenant: "acme", Severity: "low", Attack: []string{"T1110"}, Timestamp: time.Unix(0, -int64(30*time.Minute))},
	}
	path := filepath.Join(t.TempDir(), "state.db")
	raw := atSchema(t, path, 5, old)
	// Incidents of schema 5 get into the new indexes too: the severity
	// order and the open counts see them.
	for i, sev := range []string{"low", "critical", "medium"} {
		inc := detect.Incident{ID: fmt.Sprint("i", i), Tenant: "acme", Severity: sev, Status: detect.Statuses[i], AlertCount: i}
		doc, _ := json.Marshal(inc)
		if _, err := raw.Exec(`INSERT INTO incidents (tenant, id, status, severity, key_type, key_value, created, updated, last_alert, doc)
			VALUES (?, ?, ?, ?, 'ip', '', 0, 0, 0, ?)`, inc.Tenant, inc.ID, inc.Status, inc.Severity, doc); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()

	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	incs, total, err := db.IncidentList(context.Background(), appliance.IncidentFilter{Tenant: "acme", Sort: "severity"})
	if err != nil || total != 3 || len(incs) != 3 || incs[0].ID != "i1" || incs[1].ID != "i2" || incs[2].ID != "i0" {
		t.Errorf("incidents by severity after migration = %+v, %d, %v", incs, total, err)
	}
	if open, err := db.OpenIncidentCounts(context.Background(), "acme"); err != nil || len(open) != 3 {
		t.Errorf("open incidents after migration = %v, %v (statuses %v)", open, err, detect.Statuses[:3])
	}
	var rollup int
	if err := db.read.QueryRow(`SELECT count(*) FROM alert_techniques`).Scan(&rollup); err != nil || rollup != 4 {
		t.Fatalf("alert_techniques rows after migration = %d, %v; want 4", rollup, err)
	}
	if err := db.read.QueryRow(`SELECT count(*) FROM alert_severities`).Scan(&rollup); err != nil || rollup != 5 {
		t.Fatalf("alert_severities rows after migration = %d, %v; want 5", rollup, err)
	}
	// Whole hours: the histogram reads them from the rollup alone.
	hist, err := db.AlertHistogram(context.Background(), "acme", hour.Add(-2*time.Hour), hour.Add(2*time.Hour), 2)
	if want := map[string][]int{"high": {0, 1}, "low": {0, 2}}; err != nil || !maps.EqualFunc(hist, want, slices.Equal) {
		t.Errorf("AlertHistogram after migration = %v, %v; want %v", hist, err, want)
	}
	ctx := context.Background()
	for _, c := range []struct {
		tenant   string
		from, to time.Time
		want     map[string]int
	}{
		{"acme", hour, hour.Add(2 * time.Hour), map[string]int{"T1110": 2, "T1078": 1}},
		{"acme", hour.Add(time.Hour), hour.Add(2 * time.Hour), map[string]int{"T1078": 1}},
		{"acme", time.Unix(0, 0).Add(-time.Hour), time.Unix(0, 0), map[string]int{"T1110": 1}},
		{"other", hour.Add(-time.Hour), hour.Add(3 * time.Hour), map[string]int{"T1110": 1}},
	} {
		if got, err := db.AlertTechniqueCounts(ctx, c.tenant, c.from, c.to); err != nil || !maps.Equal(got, c.want) {
			t.Errorf("AlertTechniqueCounts(%s, %v, %v) = %v, %v; want %v", c.tenant, c.from, c.to, got, err, c.want)
		}
	}
}

// atSchema creates a database at path with the first version migrations
// and the alerts (their tenants too) stored as that schema stored them,
// and returns it open for more rows; Open then migrates it the rest.
func atSchema(t *testing.T, path string, version int, alerts []*detect.Alert) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range migrations[:version] {
		if _, err := raw.Exec(m); err != nil {
			t.Fatalf("migration %d: %v", i+1, err)
		}
	}
	if _, err := raw.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, version)); err != nil {
		t.Fatal(err)
	}
	tenants := map[string]bool{}
	for _, a := range alerts {
		if !tenants[a.Tenant] {
			tenants[a.Tenant] = true
			if _, err := raw.Exec(`INSERT INTO tenants (name, created) VALUES (?, 0)`, a.Tenant); err != nil {
				t.Fatal(err)
			}
		}
		doc, _ := json.Marshal(a)
		if _, err := raw.Exec(`INSERT INTO alerts (tenant, id, time, rule_id, severity, incident, doc) VALUES (?, ?, ?, ?, ?, '', ?)`,
			a.Tenant, a.ID, a.Timestamp.UnixNano(), a.RuleID, a.Severity, doc); err != nil {
			t.Fatal(err)
		}
	}
	return raw
}
