package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/detect"
	"github.com/minixdr/xdr/storage/sqlstore"
)

// analystDB stores n alerts over the 30 days before now, from 2,000
// addresses, and an incident per address and per five days (the shape of
// ui's BenchmarkPages, without the events).
func analystDB(tb testing.TB, n int, now time.Time) *sqlstore.DB {
	tb.Helper()
	db := mustOpen(tb, filepath.Join(tb.TempDir(), "state.db"))
	if _, err := db.Apply(1, func(tx *sql.Tx) error {
		return sqlstore.CreateTenant(tx, appliance.Tenant{Name: "default", Created: now})
	}); err != nil {
		tb.Fatal(err)
	}
	const batch = 1000
	for first := 0; first < n; first += batch {
		storeAnalystAlerts(tb, db, uint64(2+first/batch), first, min(first+batch, n), n, now)
	}
	return db
}

// storeAnalystAlerts stores alerts [first, end) of n, with their
// incidents, as log entry index.
func storeAnalystAlerts(tb testing.TB, db *sqlstore.DB, index uint64, first, end, n int, now time.Time) {
	if _, err := db.Apply(index, func(tx *sql.Tx) error {
		st := sqlstore.NewDetectState(tx, nil)
		defer st.Close()
		for i := first; i < end; i++ {
			a, inc := analystAlert(i, n, now)
			if err := st.PutAlert(a); err != nil {
				return err
			}
			if err := st.PutIncident(inc); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkStoreAlerts is the cost of storing an alert and its incident,
// rollups included, in batches of 1,000 onto 10,000 stored.
func BenchmarkStoreAlerts(b *testing.B) {
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	const n, batch = 10_000, 1000
	db := analystDB(b, n, now)
	index := uint64(2 + n/batch)
	for b.Loop() {
		storeAnalystAlerts(b, db, index, n+int(index)*batch, n+int(index+1)*batch, 2*n, now)
		index++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/alert")
}

// analystAlert is the i-th of n alerts and the incident it joins.
func analystAlert(i, n int, now time.Time) (*detect.Alert, *detect.Incident) {
	ts := now.Add(-time.Duration(float64(30*24*time.Hour) * float64(n-i) / float64(n)))
	ip := fmt.Sprintf("198.51.%d.%d", (i%2000)/250, (i%2000)%250)
	sev := detect.Severities[i%len(detect.Severities)]
	attack := [][]string{{"T1105"}, {"T1059.004", "T1105"}, {"T1110.001"}, {}}[i%4]
	incID := fmt.Sprintf("inc-%d-%d", i%2000, int(ts.Sub(now.Add(-30*24*time.Hour))/(5*24*time.Hour)))
	ents := []detect.Entity{{Type: "ip", Value: ip}, {Type: "user", Value: "root"}, {Type: "host", Value: "hp-1"}}
	a := &detect.Alert{ID: fmt.Sprintf("a%06d", i), Tenant: "default", RuleID: "honeypot-command", RuleTitle: "Honeypot command",
		Severity: sev, Attack: attack, EventIDs: []string{fmt.Sprintf("e%06d", i)}, Timestamp: ts, Source: "cowrie",
		Entities: ents, Incident: incID}
	inc := &detect.Incident{ID: incID, Tenant: "default", Title: "Honeypot command from " + ip, Severity: sev,
		Status: detect.Statuses[i%len(detect.Statuses)], AlertCount: 1 + i%7, Entities: ents, Attack: attack, Rules: []string{a.RuleID},
		Key: ents[0], Created: ts, Updated: ts, LastAlert: ts}
	return a, inc
}

// BenchmarkAnalystQueries times the detection side of the analyst pages
// (docs/performance.md): go test ./storage/sqlstore -run '^$' -bench Analyst
func BenchmarkAnalystQueries(b *testing.B) {
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	db := analystDB(b, 10_000, now)
	ctx := context.Background()
	from := now.Add(-30 * 24 * time.Hour)
	for _, c := range []struct {
		name string
		fn   func() error
	}{
		{"incidents-by-severity", func() error {
			_, _, err := db.IncidentList(ctx, appliance.IncidentFilter{Tenant: "default", Sort: "severity"})
			return err
		}},
		{"incidents-open", func() error {
			_, _, err := db.IncidentList(ctx, appliance.IncidentFilter{Tenant: "default", Status: "open"})
			return err
		}},
		{"alerts-page", func() error {
			_, err := db.Alerts(ctx, detect.AlertQuery{Tenant: "default"})
			return err
		}},
		{"open-incident-counts", func() error { _, err := db.OpenIncidentCounts(ctx, "default"); return err }},
		{"alert-histogram-30d", func() error { _, err := db.AlertHistogram(ctx, "default", from, now, 48); return err }},
		{"alert-techniques-30d", func() error { _, err := db.AlertTechniqueCounts(ctx, "default", from, now); return err }},
		{"alert-techniques-24h", func() error {
			_, err := db.AlertTechniqueCounts(ctx, "default", now.Add(-24*time.Hour), now)
			return err
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if err := c.fn(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
