package sqlstore_test

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/detect"
	"github.com/minixdr/xdr/storage/sqlstore"
)

// randomDetection is a random mix of alerts and incidents of two tenants:
// alert times to the nanosecond over three days around t0 and a few before
// 1970 (hours below zero), repeated and missing ATT&CK tags; incidents with
// equal update times and alert counts, so ties fall to the ID.
func randomDetection(seed uint64) ([]*detect.Alert, []*detect.Incident) {
	r := rand.New(rand.NewPCG(seed, 1))
	tenants := []string{"acme", "default"}
	tags := []string{"T1110", "T1110.001", "T1078", "T1059.004"}
	var alerts []*detect.Alert
	for i := range 600 {
		ts := t0.Add(time.Duration(r.Int64N(int64(72*time.Hour))) - 24*time.Hour)
		if i%50 == 0 {
			ts = time.Unix(0, -r.Int64N(int64(3*time.Hour))).UTC()
		}
		var attack []string
		for range r.IntN(3) {
			attack = append(attack, tags[r.IntN(len(tags))])
		}
		alerts = append(alerts, &detect.Alert{ID: fmt.Sprintf("a%03d", i), Tenant: tenants[r.IntN(2)], RuleID: "r",
			Severity: detect.Severities[r.IntN(len(detect.Severities))], Attack: attack, Timestamp: ts})
	}
	var incs []*detect.Incident
	for i := range 300 {
		inc := incident(tenants[r.IntN(2)], fmt.Sprintf("i%03d", i), detect.Statuses[r.IntN(len(detect.Statuses))],
			detect.Severities[r.IntN(len(detect.Severities))], time.Duration(r.IntN(20))*time.Minute)
		inc.AlertCount = r.IntN(5)
		incs = append(incs, inc)
	}
	return alerts, incs
}

func storeDetection(t *testing.T, d *detectDB, alerts []*detect.Alert, incs []*detect.Incident) {
	t.Helper()
	if err := d.state(func(st *sqlstore.DetectState) error {
		for _, a := range alerts {
			if err := st.PutAlert(a); err != nil {
				return err
			}
		}
		for _, inc := range incs {
			if err := st.PutIncident(inc); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// countRanges are ranges that start and end on and off the hour, inside
// one hour, across 1970, past every alert and before any.
func countRanges() [][2]time.Time {
	h := t0.Truncate(time.Hour)
	epoch := time.Unix(0, 0).UTC()
	return [][2]time.Time{
		{t0.Add(-25 * time.Hour), t0.Add(49 * time.Hour)},
		{h, h.Add(24 * time.Hour)},
		{h.Add(-time.Hour), h.Add(3 * time.Hour).Add(17 * time.Minute)},
		{h.Add(13 * time.Minute), h.Add(41 * time.Minute)},
		{h.Add(59 * time.Minute), h.Add(61 * time.Minute)},
		{h.Add(time.Hour - 1), h.Add(time.Hour + 1)},
		{t0, t0.Add(30 * 24 * time.Hour)},
		{t0, t0.Add(48 * time.Hour)}, // 48 buckets of an hour, each cut
		{h, h.Add(48 * time.Hour)},
		{epoch.Add(-150 * time.Minute), epoch.Add(20 * time.Minute)},
		{epoch.Add(-2 * time.Hour), epoch},
		{epoch.Add(-365 * 24 * time.Hour), t0.Add(365 * 24 * time.Hour)},
		{t0.Add(-90 * 24 * time.Hour), t0.Add(-60 * 24 * time.Hour)},
	}
}

// TestAnalystCountsMatchAlerts: the counts from indexes and rollups equal
// a plain count of the same alerts and incidents, per tenant.
func TestAnalystCountsMatchAlerts(t *testing.T) {
	ctx := context.Background()
	d := newDetectDB(t)
	alerts, incs := randomDetection(7)
	storeDetection(t, d, alerts, incs)
	checkAlertCounts(t, d.db, alerts)
	for _, tenant := range []string{"acme", "default", "nobody"} {
		want := map[string]int{}
		for _, inc := range incs {
			if inc.Tenant == tenant && slices.Contains(detect.OpenStatuses, inc.Status) {
				want[inc.Severity]++
			}
		}
		if got, err := d.db.OpenIncidentCounts(ctx, tenant); err != nil || !maps.Equal(got, want) {
			t.Errorf("OpenIncidentCounts(%s) = %v, %v; want %v", tenant, got, err, want)
		}
		checkIncidentOrders(t, d.db, tenant, incs)
	}
}

// checkAlertCounts compares the technique counts and histograms of every
// count range with a count of alerts.
func checkAlertCounts(t *testing.T, db *sqlstore.DB, alerts []*detect.Alert) {
	t.Helper()
	ctx := context.Background()
	for _, tenant := range []string{"acme", "default", "nobody"} {
		for _, rng := range countRanges() {
			from, to := rng[0], rng[1]
			wantTech := map[string]int{}
			for _, a := range alerts {
				if a.Tenant == tenant && !a.Timestamp.Before(from) && a.Timestamp.Before(to) {
					for _, tag := range a.Attack {
						wantTech[tag]++
					}
				}
			}
			if got, err := db.AlertTechniqueCounts(ctx, tenant, from, to); err != nil || !maps.Equal(got, wantTech) {
				t.Errorf("AlertTechniqueCounts(%s, %v, %v) = %v, %v; want %v", tenant, from, to, got, err, wantTech)
			}
			for _, buckets := range []int{1, 2, 7, 48} {
				width := int64(to.Sub(from)) / int64(buckets)
				want := map[string][]int{}
				for _, a := range alerts {
					if a.Tenant == tenant && !a.Timestamp.Before(from) && a.Timestamp.Before(to) {
						if want[a.Severity] == nil {
							want[a.Severity] = make([]int, buckets)
						}
						want[a.Severity][min(int(a.Timestamp.Sub(from).Nanoseconds()/width), buckets-1)]++
					}
				}
				got, err := db.AlertHistogram(ctx, tenant, from, to, buckets)
				if err != nil || !maps.EqualFunc(got, want, slices.Equal) {
					t.Errorf("AlertHistogram(%s, %v, %v, %d) = %v, %v; want %v", tenant, from, to, buckets, got, err, want)
				}
			}
		}
	}
}

// checkIncidentOrders compares every listing order's pages with a sort.
func checkIncidentOrders(t *testing.T, db *sqlstore.DB, tenant string, incs []*detect.Incident) {
	t.Helper()
	byID := func(a, b *detect.Incident) int {
		return cmp.Or(b.Updated.Compare(a.Updated), cmp.Compare(b.ID, a.ID))
	}
	orders := map[string]func(a, b *detect.Incident) int{
		"updated": byID,
		"created": func(a, b *detect.Incident) int {
			return cmp.Or(b.Created.Compare(a.Created), cmp.Compare(b.ID, a.ID))
		},
		"severity": func(a, b *detect.Incident) int {
			return cmp.Or(cmp.Compare(detect.SeverityRank(b.Severity), detect.SeverityRank(a.Severity)), byID(a, b))
		},
		"alerts": func(a, b *detect.Incident) int { return cmp.Or(cmp.Compare(b.AlertCount, a.AlertCount), byID(a, b)) },
	}
	for sort, order := range orders {
		for _, status := range []string{"", "open", "resolved"} {
			var want []string
			var mine []*detect.Incident
			for _, inc := range incs {
				if inc.Tenant == tenant && (status == "" || inc.Status == status || status == "open" && slices.Contains(detect.OpenStatuses, inc.Status)) {
					mine = append(mine, inc)
				}
			}
			slices.SortFunc(mine, order)
			for _, inc := range mine {
				want = append(want, inc.ID)
			}
			var got []string
			for offset := 0; ; offset += 40 {
				page, total, err := db.IncidentList(context.Background(),
					appliance.IncidentFilter{Tenant: tenant, Status: status, Sort: sort, Limit: 40, Offset: offset})
				if err != nil || total != len(want) {
					t.Fatalf("IncidentList(%s, %q, sort %s) total %d, %v; want %d", tenant, status, sort, total, err, len(want))
				}
				got = append(got, ids(page)...)
				if len(page) < 40 {
					break
				}
			}
			if !slices.Equal(got, want) && len(got)+len(want) > 0 {
				t.Errorf("IncidentList(%s, %q, sort %s) = %v\nwant %v", tenant, status, sort, got, want)
			}
		}
	}
}

// TestRestoreCarriesAlertRollups: a snapshot carries the alert rollups,
// so a restored store counts as its source and dumps the same.
func TestRestoreCarriesAlertRollups(t *testing.T) {
	d := newDetectDB(t)
	alerts, incs := randomDetection(11)
	storeDetection(t, d, alerts, incs)
	full := dump(t, d.db)
	var tables []string
	for i, kind := range full.Kinds {
		if kind == sqlstore.RecordTable {
			table, _, _ := strings.Cut(string(full.Payloads[i]), "\x00")
			tables = append(tables, table)
		}
	}
	if !slices.Contains(tables, "alert_techniques") || !slices.Contains(tables, "alert_severities") {
		t.Fatalf("the dump's tables %v lack the alert rollups", tables)
	}
	dst := mustOpen(t, filepath.Join(t.TempDir(), "dst.db"))
	l, err := dst.NewLoader(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i := range full.Kinds {
		if err := l.Record(full.Kinds[i], full.Payloads[i]); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	if err := l.Commit(d.index); err != nil {
		t.Fatal(err)
	}
	checkAlertCounts(t, dst, alerts)
	if got := dump(t, dst); !slices.EqualFunc(got.Payloads, full.Payloads, bytes.Equal) {
		t.Error("the restored store dumps differently from its source")
	}
}
