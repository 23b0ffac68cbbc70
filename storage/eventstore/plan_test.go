package eventstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/storage/eventstore"
	"github.com/minixdr/xdr/storage/storetest"
)

// planTerms are the terms random queries are made of: common and rare
// values, numbers in two spellings, prefixes, a word and a NOT.
var planTerms = []string{
	"event.outcome:success", "event.outcome:failure", "host.name:h-0", "host.name:h-3", "host.name:h-9",
	"user.name:u-1", "user.name:u-7", "source.ip:10.1.*", "source.ip:10.0.0.1", "source.port:22", "source.port:22.0",
	"source.port:3389", "user.name:nobody", "sshd", "NOT event.outcome:failure", "source:syslog",
}

// planEvents are n events at random times over two days, several to a
// second, applied in batches that interleave in time, so a second's
// postings are spread over several batches.
func planEvents(t *testing.T, s *eventstore.Store, seed uint64, n int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 3))
	var evs []appliance.Event
	for i := range n {
		ts := storetest.Base.Add(time.Duration(rng.IntN(2*86400/3)) * 3 * time.Second)
		outcome := "failure"
		if rng.IntN(5) == 0 {
			outcome = "success"
		}
		fields := map[string]any{
			"event.outcome": outcome, "host.name": fmt.Sprintf("h-%d", rng.IntN(10)), "user.name": fmt.Sprintf("u-%d", rng.IntN(8)),
			"source.ip": fmt.Sprintf("10.%d.0.%d", rng.IntN(2), rng.IntN(3)), "source.port": float64([]int{22, 443, 3389}[rng.IntN(3)]),
		}
		line := "sshd: session"
		if rng.IntN(2) == 0 {
			line = "cron: job"
		}
		source := "json"
		if rng.IntN(7) == 0 {
			source = "syslog"
		}
		evs = append(evs, storetest.LineEvent("acme", source, ts, uint64(i), fields, line))
	}
	rng.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
	for start, index := 0, uint64(1); start < n; start, index = start+250, index+1 {
		if _, err := s.ApplyBatch(index, "acme", evs[start:min(start+250, n)]); err != nil {
			t.Fatal(err)
		}
	}
}

// pages collects every page of a search.
func pages(t *testing.T, req appliance.EventSearch, search func(context.Context, appliance.EventSearch) (appliance.EventPage, error)) [][]byte {
	t.Helper()
	var out [][]byte
	for range 10_000 {
		page, err := search(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Events...)
		if page.Next == (appliance.EventID{}) {
			return out
		}
		req.Cursor = page.Next
	}
	t.Fatal("search never ended")
	return nil
}

// The planner (leapfrog intersections, unions, prefixes) returns exactly
// what reading every event and checking it returns, in the same order and
// pages, for random ANDs and ORs over random data and time ranges.
func TestPlannerMatchesScan(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	planEvents(t, s, 1, 6000)
	rng := rand.New(rand.NewPCG(2, 5))
	term := func() string { return planTerms[rng.IntN(len(planTerms))] }
	for i := range 150 {
		var q string
		switch i % 3 {
		case 0:
			q = term() + " AND " + term()
		case 1:
			q = term() + " AND " + term() + " AND " + term()
		default:
			q = "(" + term() + " OR " + term() + ") AND " + term()
		}
		req := appliance.EventSearch{Tenant: "acme", Expr: mustParse(t, q), Limit: []int{1, 13, 100}[rng.IntN(3)]}
		if rng.IntN(2) == 0 {
			req.From = storetest.Base.Add(time.Duration(rng.IntN(40*3600)) * time.Second)
			req.To = req.From.Add(time.Duration(rng.IntN(20*3600)) * time.Second)
		}
		t.Run(strings.ReplaceAll(q, " ", "_"), func(t *testing.T) {
			got := pages(t, req, s.Search)
			want := pages(t, req, func(ctx context.Context, r appliance.EventSearch) (appliance.EventPage, error) {
				return eventstore.SearchScan(s, ctx, r)
			})
			if !slices.EqualFunc(got, want, func(a, b []byte) bool { return string(a) == string(b) }) {
				t.Fatalf("%s %v..%v: planner found %d events, the scan %d", q, req.From, req.To, len(got), len(want))
			}
		})
	}
}
