package sqlstore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/detect"
	"github.com/minixdr/xdr/storage/sqlstore"
)

// listDB holds acme's incidents 1..5 and one of default's, with alerts.
func listDB(t *testing.T) *detectDB {
	d := newDetectDB(t)
	incs := []*detect.Incident{
		incident("acme", "1", "new", "low", 1*time.Minute),
		incident("acme", "2", "triaged", "critical", 5*time.Minute),
		incident("acme", "3", "resolved", "high", 3*time.Minute),
		incident("acme", "4", "new", "high", 3*time.Minute), // same update time as 3: the ID orders them
		incident("acme", "5", "false_positive", "medium", 2*time.Minute),
		incident("default", "9", "new", "critical", 9*time.Minute),
	}
	incs[0].Assignee, incs[1].Assignee = "alice", "bob"
	incs[0].AlertCount, incs[1].AlertCount, incs[2].AlertCount = 7, 2, 9
	incs[3].Created = t0.Add(-time.Hour)
	alerts := []*detect.Alert{
		{ID: "a1", Tenant: "acme", Severity: "high", Attack: []string{"T1110", "T1078"}, Timestamp: t0, Incident: "1"},
		{ID: "a2", Tenant: "acme", Severity: "high", Attack: []string{"T1110"}, Timestamp: t0.Add(30 * time.Minute), Incident: "1"},
		{ID: "a3", Tenant: "acme", Severity: "low", Attack: []string{}, Timestamp: t0.Add(59 * time.Minute), Incident: "2"},
		{ID: "a4", Tenant: "acme", Severity: "low", Attack: []string{"T1110"}, Timestamp: t0.Add(2 * time.Hour), Incident: "2"},
		{ID: "a9", Tenant: "default", Severity: "high", Attack: []string{"T1110"}, Timestamp: t0, Incident: "9"},
	}
	if err := d.state(func(st *sqlstore.DetectState) error {
		for _, inc := range incs {
			if err := st.PutIncident(inc); err != nil {
				return err
			}
		}
		for _, a := range alerts {
			if err := st.PutAlert(a); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return d
}

func ids(incs []detect.Incident) []string {
	out := []string{}
	for _, inc := range incs {
		out = append(out, inc.ID)
	}
	return out
}

func TestIncidentListFilters(t *testing.T) {
	ctx := context.Background()
	d := listDB(t)
	for _, c := range []struct {
		f     appliance.IncidentFilter
		want  []string
		total int
	}{
		{appliance.IncidentFilter{}, []string{"2", "4", "3", "5", "1"}, 5},
		{appliance.IncidentFilter{Status: "open"}, []string{"2", "4", "1"}, 3},
		{appliance.IncidentFilter{Status: "new"}, []string{"4", "1"}, 2},
		{appliance.IncidentFilter{Severity: "high"}, []string{"4", "3"}, 2},
		{appliance.IncidentFilter{Assignee: "-"}, []string{"4", "3", "5"}, 3},
		{appliance.IncidentFilter{Assignee: "alice"}, []string{"1"}, 1},
		{appliance.IncidentFilter{Sort: "severity"}, []string{"2", "4", "3", "5", "1"}, 5},
		{appliance.IncidentFilter{Sort: "created"}, []string{"5", "3", "2", "1", "4"}, 5},
		{appliance.IncidentFilter{Sort: "alerts"}, []string{"3", "1", "2", "4", "5"}, 5},
		{appliance.IncidentFilter{Sort: "updated", Limit: 2, Offset: 1}, []string{"4", "3"}, 5},
		{appliance.IncidentFilter{Offset: 5}, []string{}, 5},
		{appliance.IncidentFilter{Offset: -3, Limit: 1}, []string{"2"}, 5},
	} {
		c.f.Tenant = "acme"
		incs, total, err := d.db.IncidentList(ctx, c.f)
		if err != nil || !slices.Equal(ids(incs), c.want) || total != c.total {
			t.Errorf("IncidentList(%+v) = %v, %d, %v; want %v, %d", c.f, ids(incs), total, err, c.want, c.total)
		}
	}
	if incs, total, err := d.db.IncidentList(ctx, appliance.IncidentFilter{Tenant: "default"}); err != nil || total != 1 || !slices.Equal(ids(incs), []string{"9"}) {
		t.Errorf("IncidentList(default) = %v, %d, %v", ids(incs), total, err)
	}
	if incs, total, err := d.db.IncidentList(ctx, appliance.IncidentFilter{Tenant: "nope"}); err != nil || total != 0 || len(incs) != 0 {
		t.Errorf("IncidentList(nope) = %v, %d, %v", ids(incs), total, err)
	}
	for _, f := range []appliance.IncidentFilter{{Status: "closed"}, {Severity: "urgent"}, {Sort: "title"}} {
		f.Tenant = "acme"
		if _, _, err := d.db.IncidentList(ctx, f); appliance.ErrorCode(err) != appliance.EINVALID {
			t.Errorf("IncidentList(%+v): %v, want EINVALID", f, err)
		}
	}
}

// TestIncidentsCursor: the API's listing is the same query paged by a
// cursor; pages neither overlap nor skip, even across equal times.
func TestIncidentsCursor(t *testing.T) {
	ctx := context.Background()
	d := listDB(t)
	for _, c := range []struct {
		status string
		limit  int
		want   []string
	}{
		{"", 2, []string{"2", "4", "3", "5", "1"}},
		{"", 1, []string{"2", "4", "3", "5", "1"}},
		{"", 0, []string{"2", "4", "3", "5", "1"}},
		{"", 5000, []string{"2", "4", "3", "5", "1"}},
		{"new", 1, []string{"4", "1"}},
		{"open", 2, []string{"2", "4", "1"}},
		{"contained", 3, []string{}},
	} {
		got := []string{}
		cursor, pages := "", 0
		for {
			page, err := d.db.Incidents(ctx, "acme", c.status, c.limit, cursor)
			if err != nil {
				t.Fatalf("Incidents(%q, %d, %q): %v", c.status, c.limit, cursor, err)
			}
			if page.Incidents == nil {
				t.Fatal("Incidents answered null, not an empty list")
			}
			got = append(got, ids(page.Incidents)...)
			pages++
			if page.Next == "" || pages > 10 {
				break
			}
			cursor = page.Next
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("Incidents(%q, limit %d) pages = %v, want %v", c.status, c.limit, got, c.want)
		}
	}
	if page, err := d.db.Incidents(ctx, "default", "", 10, ""); err != nil || !slices.Equal(ids(page.Incidents), []string{"9"}) || page.Next != "" {
		t.Errorf("Incidents(default) = %+v, %v", page, err)
	}
	for _, cursor := range []string{"x", "12", "12.", ".a", "abc.def"} {
		if _, err := d.db.Incidents(ctx, "acme", "", 10, cursor); appliance.ErrorCode(err) != appliance.EINVALID {
			t.Errorf("cursor %q: %v, want EINVALID", cursor, err)
		}
	}
	if _, err := d.db.Incidents(ctx, "acme", "closed", 10, ""); appliance.ErrorCode(err) != appliance.EINVALID {
		t.Errorf("status closed: %v, want EINVALID", err)
	}
}

func TestDashboardCounts(t *testing.T) {
	ctx := context.Background()
	d := listDB(t)
	open, err := d.db.OpenIncidentCounts(ctx, "acme")
	if err != nil || len(open) != 3 || open["critical"] != 1 || open["high"] != 1 || open["low"] != 1 {
		t.Errorf("OpenIncidentCounts(acme) = %v, %v", open, err)
	}
	hist, err := d.db.AlertHistogram(ctx, "acme", t0, t0.Add(2*time.Hour), 2)
	if err != nil || !slices.Equal(hist["high"], []int{2, 0}) || !slices.Equal(hist["low"], []int{1, 0}) || len(hist) != 2 {
		t.Errorf("AlertHistogram(acme, 2 h, 2 buckets) = %v, %v (the alert at the end is outside)", hist, err)
	}
	if hist, err := d.db.AlertHistogram(ctx, "acme", t0, t0.Add(3), 10); err != nil || hist["high"][0] != 1 {
		t.Errorf("AlertHistogram of buckets under 1 ns = %v, %v", hist, err)
	}
	for _, c := range []struct {
		from, to time.Time
		buckets  int
	}{{t0, t0, 1}, {t0.Add(time.Hour), t0, 1}, {t0, t0.Add(time.Hour), 0}} {
		if _, err := d.db.AlertHistogram(ctx, "acme", c.from, c.to, c.buckets); appliance.ErrorCode(err) != appliance.EINVALID {
			t.Errorf("AlertHistogram(%v, %v, %d): %v, want EINVALID", c.from, c.to, c.buckets, err)
		}
	}
	tech, err := d.db.AlertTechniqueCounts(ctx, "acme", t0, t0.Add(3*time.Hour))
	if err != nil || len(tech) != 2 || tech["T1110"] != 3 || tech["T1078"] != 1 {
		t.Errorf("AlertTechniqueCounts(acme) = %v, %v", tech, err)
	}
	if tech, _ := d.db.AlertTechniqueCounts(ctx, "default", t0, t0.Add(time.Hour)); tech["T1110"] != 1 || len(tech) != 1 {
		t.Errorf("AlertTechniqueCounts(default) = %v", tech)
	}
}

func TestAlertsPaging(t *testing.T) {
	ctx := context.Background()
	d := listDB(t)
	page, err := d.db.Alerts(ctx, detect.AlertQuery{Tenant: "acme", Incident: "2"})
	if err != nil || len(page.Alerts) != 2 || page.Alerts[0].ID != "a4" || page.Alerts[1].ID != "a3" || page.Next != "" {
		t.Errorf("Alerts of incident 2 = %+v, %v", page, err)
	}
	if page, err := d.db.Alerts(ctx, detect.AlertQuery{Tenant: "acme", Incident: "9"}); err != nil || len(page.Alerts) != 0 || page.Alerts == nil {
		t.Errorf("Alerts of another tenant's incident = %+v, %v", page, err)
	}
	page, err = d.db.Alerts(ctx, detect.AlertQuery{Tenant: "acme", Limit: 4})
	if err != nil || len(page.Alerts) != 4 || page.Next == "" {
		t.Fatalf("a full page = %+v, %v", page, err)
	}
	// A full last page has a cursor to an empty one.
	page, err = d.db.Alerts(ctx, detect.AlertQuery{Tenant: "acme", Limit: 4, Cursor: page.Next})
	if err != nil || len(page.Alerts) != 0 || page.Next != "" {
		t.Fatalf("after the last page = %+v, %v", page, err)
	}
	for _, cursor := range []string{"x", "1.", "a.b"} {
		if _, err := d.db.Alerts(ctx, detect.AlertQuery{Tenant: "acme", Cursor: cursor}); appliance.ErrorCode(err) != appliance.EINVALID {
			t.Errorf("cursor %q: %v, want EINVALID", cursor, err)
		}
	}
}
