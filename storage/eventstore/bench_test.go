package eventstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/storage/storetest"
)

// BenchmarkSearchIndexed measures a one-term indexed search (source.ip:X,
// matching a seventh of the tenant's events) returning a page of 100, over
// a store of 200,000 events. Loading the store takes a while; it is done
// once for the sub-benchmarks.
func BenchmarkSearchIndexed(b *testing.B) {
	const total, batch = 200_000, 1000
	s := mustOpen(b, b.TempDir())
	for n := range total / batch {
		evs := make([]appliance.Event, 0, batch)
		for i := range batch {
			k := n*batch + i
			fields := storetest.SSHFields(k)
			fields["destination.ip"] = "10.1.0.5"
			fields["destination.port"] = float64(k % 10)
			evs = append(evs, storetest.LineEvent("acme", "syslog", storetest.Base.Add(time.Duration(k)*time.Second), uint64(k), fields, storetest.SSHLine(k)))
		}
		if _, err := s.ApplyBatch(uint64(n+1), "acme", evs); err != nil {
			b.Fatal(err)
		}
	}
	// success is every fifth event and destination.port k%10: port 3 never
	// meets success (the intersection must rule out every second), port 5
	// always does.
	for q, want := range map[string]int{"source.ip:10.0.0.3": 100, "source.ip:10.0.0.3 AND user.name:alice": 100,
		"event.outcome:success AND destination.port:3": 0, "event.outcome:success AND destination.port:5": 100} {
		expr := mustParse(b, q)
		b.Run(q, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				page, err := s.Search(context.Background(), appliance.EventSearch{Tenant: "acme", Expr: expr, Limit: 100})
				if err != nil {
					b.Fatal(err)
				}
				if len(page.Events) != want || !page.Indexed {
					b.Fatalf("%d events, indexed %v", len(page.Events), page.Indexed)
				}
			}
		})
	}
	b.Run("page 10", func(b *testing.B) {
		expr := mustParse(b, "source.ip:10.0.0.3")
		var cursor appliance.EventID
		page, _ := s.Search(context.Background(), appliance.EventSearch{Tenant: "acme", Expr: expr, Limit: 1000})
		cursor = page.Next
		b.ReportAllocs()
		for b.Loop() {
			page, err := s.Search(context.Background(), appliance.EventSearch{Tenant: "acme", Expr: expr, Limit: 100, Cursor: cursor})
			if err != nil || len(page.Events) != 100 {
				b.Fatal(fmt.Sprint(len(page.Events), err))
			}
		}
	})
}
