package eventstore_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/storage/eventstore"
	"github.com/minixdr/xdr/storage/storetest"
)

// statsEvent is event i of the stats fixture: 37 events a second, so some
// postings are inline and some (over 256 bytes) in Badger's value log.
type statsEvent struct {
	ts           time.Time
	source, user string
}

func statsGen(i int) statsEvent {
	e := statsEvent{ts: storetest.Base.Add(time.Duration(i/37) * time.Second), source: "json", user: fmt.Sprintf("user-%d", i%5)}
	if i%10 == 0 {
		e.source = "syslog"
	}
	if i%3 == 0 {
		e.user = "root"
	}
	return e
}

func newStatsFixture(t *testing.T, n int) *eventstore.Store {
	t.Helper()
	s := mustOpen(t, t.TempDir())
	index := uint64(0)
	for _, tenant := range []string{"acme", "other"} {
		var evs []appliance.Event
		for i := range n {
			e := statsGen(i)
			user := e.user
			if tenant == "other" {
				user = "other-user" // must never show in acme's answers
			}
			category := []any{"authentication"}
			if i%2 == 0 {
				category = append(category, "session", "Session") // the same value twice, as indexed
			}
			evs = append(evs, storetest.Event(tenant, e.source, e.ts, uint64(i), map[string]any{"user.name": user, "event.category": category}))
		}
		for start := 0; start < len(evs); start += 500 {
			index++
			if ok, err := s.ApplyBatch(index, tenant, evs[start:min(start+500, len(evs))]); err != nil || !ok {
				t.Fatalf("ApplyBatch: %v %v", ok, err)
			}
		}
	}
	return s
}

func TestHistogramAndTop(t *testing.T) {
	const n = 3000
	s := newStatsFixture(t, n)
	ctx := context.Background()
	at := func(sec int) time.Time { return storetest.Base.Add(time.Duration(sec) * time.Second) }
	for _, tc := range []struct {
		name     string
		from, to time.Time
		buckets  int
	}{
		{"everything in one bucket", at(0), at(100), 1},
		{"whole range in 10", at(0), at(80), 10},
		{"inner range", at(10), at(40), 3},
		{"range before the events", at(-100), at(-1), 4},
		{"range after the events", at(200), at(300), 2},
		{"sub-second range", at(5), at(5).Add(500 * time.Millisecond), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Histogram(ctx, "acme", tc.from, tc.to, tc.buckets)
			if err != nil {
				t.Fatal(err)
			}
			want := make([]int, tc.buckets)
			lo, hi := tc.from.Unix(), tc.to.Unix()
			users := map[string]int{}
			for i := range n {
				e := statsGen(i)
				sec := e.ts.Unix()
				if sec < lo || sec > hi {
					continue
				}
				want[min(int(float64(sec-lo)/float64(hi-lo+1)*float64(tc.buckets)), tc.buckets-1)]++
				users[e.user]++
			}
			if !slices.Equal(got, want) {
				t.Errorf("Histogram = %v, want %v", got, want)
			}
			top, err := s.Top(ctx, "acme", "user.name", tc.from, tc.to, 3)
			if err != nil {
				t.Fatal(err)
			}
			var wantTop []appliance.ValueCount
			for u, c := range users {
				wantTop = append(wantTop, appliance.ValueCount{Value: u, Count: c})
			}
			slices.SortFunc(wantTop, func(a, b appliance.ValueCount) int {
				if a.Count != b.Count {
					return b.Count - a.Count
				}
				return strings.Compare(a.Value, b.Value)
			})
			wantTop = wantTop[:min(3, len(wantTop))]
			if top.Partial || !slices.Equal(top.Values, wantTop) {
				t.Errorf("Top user.name = %+v, want %+v", top, wantTop)
			}
		})
	}
}

func TestTopSources(t *testing.T) {
	s := newStatsFixture(t, 1000)
	top, err := s.Top(context.Background(), "acme", "source", time.Time{}, time.Time{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []appliance.ValueCount{{Value: "json", Count: 900}, {Value: "syslog", Count: 100}}
	if !slices.Equal(top.Values, want) {
		t.Errorf("Top source over all time = %+v, want %+v", top.Values, want)
	}
}

func TestStatsErrors(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	ctx := context.Background()
	if _, err := s.Top(ctx, "acme", "message", time.Time{}, time.Time{}, 5); appliance.ErrorCode(err) != appliance.EINVALID {
		t.Errorf("Top of an unindexed field: %v, want EINVALID", err)
	}
	if _, err := s.Histogram(ctx, "acme", storetest.Base, storetest.Base, 5); appliance.ErrorCode(err) != appliance.EINVALID {
		t.Errorf("Histogram of an empty range: %v, want EINVALID", err)
	}
	got, err := s.Histogram(ctx, "acme", storetest.Base, storetest.Base.Add(time.Hour), 4)
	if err != nil || !slices.Equal(got, []int{0, 0, 0, 0}) {
		t.Errorf("Histogram of an empty store = %v, %v", got, err)
	}
}

// Summary counts a small range from the documents and a large one from
// the postings: both ways must agree with each other and with Top.
func TestSummaryBothWays(t *testing.T) {
	s := newStatsFixture(t, 3000)
	ctx := context.Background()
	at := func(sec int) time.Time { return storetest.Base.Add(time.Duration(sec) * time.Second) }
	fields := []string{"user.name", "source", "event.category"}
	for _, r := range []struct{ from, to time.Time }{
		{at(0), at(100)}, {at(10), at(40)}, {at(5), at(5).Add(500 * time.Millisecond)}, {at(200), at(300)},
	} {
		docs, err := eventstore.SummaryWith(s, ctx, "acme", r.from, r.to, 4, fields, 3, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		posts, err := eventstore.SummaryWith(s, ctx, "acme", r.from, r.to, 4, fields, 3, -1)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(docs.Counts, posts.Counts) {
			t.Errorf("%v..%v: counts %v and %v", r.from, r.to, docs.Counts, posts.Counts)
		}
		for i, f := range fields {
			top, err := s.Top(ctx, "acme", f, r.from, r.to, 3)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(docs.Tops[i].Values, posts.Tops[i].Values) || !slices.Equal(posts.Tops[i].Values, top.Values) {
				t.Errorf("%v..%v %s: documents %+v, postings %+v, Top %+v", r.from, r.to, f, docs.Tops[i].Values, posts.Tops[i].Values, top.Values)
			}
		}
	}
	if _, err := s.Summary(ctx, "acme", at(0), at(1), 1, []string{"message"}, 3); appliance.ErrorCode(err) != appliance.EINVALID {
		t.Errorf("Summary of an unindexed field: %v, want EINVALID", err)
	}
}
