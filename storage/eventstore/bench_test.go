package eventstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/storage/eventstore"
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

// BenchmarkApplyBatch measures writing batches of 1,000 events of many
// distinct values (6,000 source addresses, 200 users, 50 hosts), 2.6 s
// apart as in the page benchmark (ui/bench_test.go): the rollups' worst
// case, a batch spanning about 43 minutes with a new key per address and
// minute.
func BenchmarkApplyBatch(b *testing.B) {
	benchApply(b, 1000, func(n int) appliance.Event {
		fields := map[string]any{
			"event.action": "ssh-login", "event.outcome": []string{"success", "failure", "failure", "failure", "failure"}[n%5],
			"source.ip": fmt.Sprintf("10.%d.%d.%d", n%3, (n/3)%40, (n/120)%50), "source.port": float64(40000 + n%20000),
			"user.name": fmt.Sprintf("user-%d", n%200), "host.name": fmt.Sprintf("host-%d", n%50),
		}
		return storetest.Event("acme", "json", storetest.Base.Add(time.Duration(n)*2600*time.Millisecond), uint64(n), fields)
	})
}

// BenchmarkApplySyslog measures writing the stream of bench/syslogload
// (scripts/syslog-bench.sh) as the node batches it: 4,000 messages a
// microsecond apart, each of a nearly new source address (50,000 in turn)
// and one of 997 users, one host. Unlike BenchmarkApplyBatch every batch
// falls in the same minute, hour and day, and most values are new to it:
// the rollups' cost per message on the syslog path.
func BenchmarkApplySyslog(b *testing.B) {
	benchApply(b, 4000, func(n int) appliance.Event {
		fields := map[string]any{
			"event.action": "ssh-login", "event.outcome": "failure", "host.name": "bench-host",
			"source.ip": fmt.Sprintf("10.%d.%d.%d", n%200, (n/200)%250, n%250), "source.port": float64(1024 + n%60000),
			"user.name": fmt.Sprintf("u%d", n%997), "process.executable": "sshd",
		}
		return storetest.Event("acme", "syslog", storetest.Base.Add(time.Duration(n)*time.Microsecond), uint64(n), fields)
	})
}

// benchApply applies batches of the events event(n) makes, n counting
// from 0, timing only the apply; it reports events/s and µs/event.
func benchApply(b *testing.B, batch int, event func(n int) appliance.Event) {
	s := mustOpen(b, b.TempDir())
	n := 0
	for b.Loop() {
		b.StopTimer()
		evs := make([]appliance.Event, 0, batch)
		for range batch {
			evs = append(evs, event(n))
			n++
		}
		b.StartTimer()
		if _, err := s.ApplyBatch(uint64(n/batch), "acme", evs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(n), "µs/event")
}

// BenchmarkTopCold measures the top source addresses of 30 days of the
// page benchmark's events (-bench.events, default 300,000 here: 6,000
// addresses a day) with nothing in the bucket cache, as the first view
// after a restart, and warm.
func BenchmarkTopCold(b *testing.B) {
	dir := b.TempDir()
	s, err := eventstore.Open(dir, eventstore.Options{}, storetest.Discard)
	if err != nil {
		b.Fatal(err)
	}
	const batch, total = 1000, 300_000
	end := storetest.Base.Add(30 * 24 * time.Hour)
	for first := 0; first < total; first += batch {
		evs := make([]appliance.Event, 0, batch)
		for n := first; n < first+batch; n++ {
			fields := map[string]any{"source.ip": fmt.Sprintf("10.%d.%d.%d", n%3, (n/3)%40, (n/120)%50), "user.name": fmt.Sprintf("user-%d", n%200)}
			ts := end.Add(-time.Duration(float64(30*24*time.Hour) * float64(total-n) / float64(total)))
			evs = append(evs, storetest.Event("acme", "json", ts, uint64(n), fields))
		}
		if _, err := s.ApplyBatch(uint64(first/batch+1), "acme", evs); err != nil {
			b.Fatal(err)
		}
	}
	from := end.Add(-30 * 24 * time.Hour).Truncate(time.Minute)
	top := func(b *testing.B, s *eventstore.Store) {
		top, err := s.Top(context.Background(), "acme", "source.ip", from, end, 10)
		if err != nil || len(top.Values) != 10 {
			b.Fatal(top, err)
		}
	}
	for _, cold := range []bool{true, false} {
		b.Run(fmt.Sprint("cold=", cold), func(b *testing.B) {
			for b.Loop() {
				if cold {
					eventstore.ForgetCounts(s)
				}
				top(b, s)
			}
		})
	}
	// The first top after a restart, once Open has read the latest days.
	s.Close()
	s = mustOpen(b, dir)
	eventstore.WaitWarm(s)
	b.Run("first after restart", func(b *testing.B) {
		for b.Loop() {
			eventstore.ForgetRuns(s)
			top(b, s)
		}
	})
}
