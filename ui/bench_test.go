package ui_test

import (
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
	"github.com/minixdr/xdr/storage/storetest"
	"github.com/minixdr/xdr/ui"
)

// Page server-time benchmarks over a populated store (docs/performance.md):
//
//	go test ./ui -run '^$' -bench BenchmarkPages -benchtime 200x
//
// Each page reports its p50 and p95 server time; the target is p95 < 100 ms
// with 1,000,000 events stored.
var benchEvents = flag.Int("bench.events", 1_000_000, "events stored for BenchmarkPages")

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
	ip := fmt.Sprintf("10.%d.%d.%d", i%3, (i/3)%40, i%50)
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
	h := ui.New(ui.Deps{Auth: &fakeAuth{}, Events: store, Node: fakeNode{true}, Metrics: http.NotFoundHandler(),
		Log: storetest.Discard, Now: func() time.Time { return benchNow }}).Handler()
	anID := benchEvent(n/2, n).ID.String()
	for _, p := range []string{
		"/dashboard", "/dashboard?range=1h", "/dashboard?range=7d", "/dashboard?range=30d",
		"/events", "/events?q=user.name%3Auser-7", "/events?q=failed", "/events?q=event.outcome%3Asuccess+AND+host.name%3Ahost-3",
		"/events/" + anID,
	} {
		b.Run(p, func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				req := httptest.NewRequest("GET", p, nil)
				req.AddCookie(&http.Cookie{Name: "xdr_session", Value: "xdrs_bench"})
				rec := httptest.NewRecorder()
				t0 := time.Now()
				h.ServeHTTP(rec, req)
				took = append(took, time.Since(t0))
				if rec.Code != http.StatusOK {
					b.Fatalf("GET %s: %d\n%s", p, rec.Code, rec.Body)
				}
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(took[len(took)*95/100].Microseconds())/1000, "p95-ms")
		})
	}
}
