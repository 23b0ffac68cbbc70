package sqlstore

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/minixdr/xdr/appliance"
)

// TestAnalystQueryPlans: the analyst pages' queries read the indexes and
// rollups made for them (schemas 7 and 8), not every incident or alert: an
// order that drifts from its index's expression sorts every incident again.
func TestAnalystQueryPlans(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	where := func(f appliance.IncidentFilter) (string, []any) {
		f.Tenant = "acme"
		w, args, err := incidentWhere(f)
		if err != nil {
			t.Fatal(err)
		}
		return w, args
	}
	all, allArgs := where(appliance.IncidentFilter{})
	open, openArgs := where(appliance.IncidentFilter{Status: "open"})
	page := append(allArgs, 100, 0)
	for _, c := range []struct {
		name, query string
		args        []any
		want        []string
	}{
		{"incidents by severity", incidentPageSQL(all, incidentOrders["severity"]), page, []string{"USING INDEX incidents_severity (tenant=?)"}},
		{"incidents by alerts", incidentPageSQL(all, incidentOrders["alerts"]), page, []string{"USING INDEX incidents_alerts (tenant=?)"}},
		{"incidents by update", incidentPageSQL(all, incidentOrders[""]), page, []string{"USING INDEX incidents_updated (tenant=?)"}},
		{"open incidents' total", `SELECT count(*) FROM incidents WHERE ` + open, openArgs,
			[]string{"USING COVERING INDEX incidents_status (tenant=? AND status=?)"}},
		{"alert histogram", alertHistogramSQL, []any{0, 1, "acme", 0, 0, hourNanos, "[]"}, []string{
			"SEARCH alert_severities USING PRIMARY KEY (tenant=? AND hour>? AND hour<?)",
			"SCAN s VIRTUAL TABLE", "SEARCH alerts USING COVERING INDEX alerts_time (tenant=? AND time>? AND time<?)"}},
		{"alert techniques", alertTechniquesSQL, []any{"acme", 0, 0, "acme", 0, 0, "acme", 0, 0}, []string{
			"SEARCH alert_techniques USING PRIMARY KEY (tenant=? AND hour>? AND hour<?)",
			"SEARCH alerts USING INDEX alerts_time (tenant=? AND time>? AND time<?)"}},
	} {
		rows, err := db.read.Query(`EXPLAIN QUERY PLAN `+c.query, c.args...)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		text := strings.Join(plan, "\n")
		for _, w := range c.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: plan lacks %q:\n%s", c.name, w, text)
			}
		}
		if strings.Contains(text, "ORDER BY") || strings.Contains(text, "SCAN alerts") || strings.Contains(text, "SCAN incidents") {
			t.Errorf("%s: plan sorts or scans a whole table:\n%s", c.name, text)
		}
	}
}
