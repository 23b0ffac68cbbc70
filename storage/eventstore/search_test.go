package eventstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/query"
	"github.com/minixdr/xdr/storage/eventstore"
	"github.com/minixdr/xdr/storage/storetest"
)

func mustOpen(tb testing.TB, dir string) *eventstore.Store {
	tb.Helper()
	s, err := eventstore.Open(dir, eventstore.Options{}, storetest.Discard)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// fixture is one generated event with the facts the oracle checks.
type fixture struct {
	tenant  string
	id      appliance.EventID
	ts      time.Time
	user    string
	ip      string
	port    int
	outcome string
	host    string
	session bool   // event.category has "session"
	cmdline string // "" when absent
}

var (
	users = []string{"root", "admin", "alice", "bob"}
	ports = []int{22, 443, 3389}
	// Two command lines longer than the indexed prefix that share it: the
	// index finds both, the document check tells them apart.
	longA = "/usr/bin/python3 -c " + strings.Repeat("A", 250) + " --one"
	longB = "/usr/bin/python3 -c " + strings.Repeat("A", 250) + " --two"
)

const perTenant = 300

// gen builds event i of a tenant. Events 2k and 2k+1 share a timestamp.
func gen(tenant string, i int) (fixture, appliance.Event) {
	f := fixture{
		tenant:  tenant,
		ts:      storetest.Base.Add(time.Duration(i/2) * time.Minute),
		user:    users[i%4],
		ip:      fmt.Sprintf("10.0.0.%d", i%7+1),
		port:    ports[i%3],
		outcome: "failure",
		host:    fmt.Sprintf("web-%d", i%2+1),
		session: i%2 == 0,
	}
	if i%5 == 0 {
		f.outcome = "success"
	}
	switch i % 25 {
	case 0:
		f.cmdline = longA
	case 1:
		f.cmdline = longB
	}
	category := []any{"authentication"}
	if f.session {
		category = append(category, "session")
	}
	fields := map[string]any{
		"event.action":   "ssh_login",
		"event.category": category,
		"event.outcome":  f.outcome,
		"source.ip":      f.ip,
		"source.port":    float64(f.port),
		"user.name":      f.user,
		"host.name":      f.host,
		"message":        fmt.Sprintf("Failed password for %s from %s port 51234 ssh2", f.user, f.ip),
	}
	if f.cmdline != "" {
		fields["process.command_line"] = f.cmdline
	}
	ev := storetest.Event(tenant, "json", f.ts, uint64(i), fields)
	f.id = ev.ID
	return f, ev
}

// searchFixture holds two tenants whose names share a prefix and whose
// events have identical IDs and fields; acme-eu has a few more.
type searchFixture struct {
	s      *eventstore.Store
	events map[string][]fixture
}

func newSearchFixture(t *testing.T) *searchFixture {
	t.Helper()
	sf := &searchFixture{s: mustOpen(t, t.TempDir()), events: map[string][]fixture{}}
	index := uint64(0)
	for _, tc := range []struct {
		tenant string
		n      int
	}{{"acme", perTenant}, {"acme-eu", perTenant + 5}} {
		// Several batches, in shuffled time order, as ingest would commit them.
		var evs []appliance.Event
		for i := range tc.n {
			f, ev := gen(tc.tenant, i)
			sf.events[tc.tenant] = append(sf.events[tc.tenant], f)
			evs = append(evs, ev)
		}
		for start := 0; start < len(evs); start += 64 {
			end := min(start+64, len(evs))
			index++
			batch := slices.Clone(evs[start:end])
			slices.Reverse(batch)
			if ok, err := sf.s.ApplyBatch(index, tc.tenant, batch); err != nil || !ok {
				t.Fatalf("ApplyBatch %d: %v, %v", index, ok, err)
			}
		}
	}
	return sf
}

// want lists the IDs of a tenant's events that satisfy pred, newest first.
func (sf *searchFixture) want(tenant string, pred func(f fixture) bool) []appliance.EventID {
	var ids []appliance.EventID
	for _, f := range sf.events[tenant] {
		if pred(f) {
			ids = append(ids, f.id)
		}
	}
	slices.SortFunc(ids, func(a, b appliance.EventID) int { return bytes.Compare(b[:], a[:]) })
	return ids
}

type docHead struct {
	ID     string `json:"id"`
	Tenant string `json:"tenant"`
}

func head(t *testing.T, doc []byte) (appliance.EventID, string) {
	t.Helper()
	var h docHead
	if err := json.Unmarshal(doc, &h); err != nil {
		t.Fatalf("stored document is not JSON: %v: %s", err, doc)
	}
	id, err := appliance.ParseEventID(h.ID)
	if err != nil {
		t.Fatal(err)
	}
	return id, h.Tenant
}

// page through a search, checking every page, and return the IDs.
func (sf *searchFixture) collect(t *testing.T, req appliance.EventSearch, wantIndexed bool) []appliance.EventID {
	t.Helper()
	var ids []appliance.EventID
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("pagination does not end")
		}
		page, err := sf.s.Search(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if page.Indexed != wantIndexed {
			t.Fatalf("Indexed = %v, want %v", page.Indexed, wantIndexed)
		}
		if len(page.Events) > req.Limit {
			t.Fatalf("page of %d events, limit %d", len(page.Events), req.Limit)
		}
		for _, doc := range page.Events {
			id, tenant := head(t, doc)
			if tenant != req.Tenant {
				t.Fatalf("search of tenant %q returned an event of tenant %q", req.Tenant, tenant)
			}
			ids = append(ids, id)
		}
		if page.Next == (appliance.EventID{}) {
			return ids
		}
		if len(page.Events) != req.Limit {
			t.Fatalf("a page of %d events (limit %d) has a next cursor", len(page.Events), req.Limit)
		}
		if page.Next != ids[len(ids)-1] {
			t.Fatalf("next cursor %s is not the last event %s", page.Next, ids[len(ids)-1])
		}
		req.Cursor = page.Next
	}
}

func mustParse(t testing.TB, q string) query.Expr {
	t.Helper()
	e, err := query.Parse(q)
	if err != nil {
		t.Fatalf("parse %q: %v", q, err)
	}
	return e
}

func TestSearch(t *testing.T) {
	sf := newSearchFixture(t)
	all := func(fixture) bool { return true }
	from := storetest.Base.Add(25 * time.Minute) // events 50, 51
	to := storetest.Base.Add(60 * time.Minute)   // events 120, 121
	inRange := func(f fixture) bool { return !f.ts.Before(from) && !f.ts.After(to) }

	cases := []struct {
		name     string
		q        string
		from, to time.Time
		indexed  bool
		pred     func(fixture) bool
		// exact: the index yields exactly the matches (Scanned == matches).
		exact bool
	}{
		{name: "everything", q: "", pred: all},
		{name: "exact term", q: "user.name:root", indexed: true, exact: true, pred: func(f fixture) bool { return f.user == "root" }},
		{name: "exact term, other case", q: "user.name:ROOT", indexed: true, exact: true, pred: func(f fixture) bool { return f.user == "root" }},
		{name: "source", q: "source:json", indexed: true, exact: true, pred: all},
		{name: "numeric term", q: "source.port:22", indexed: true, exact: true, pred: func(f fixture) bool { return f.port == 22 }},
		{name: "numeric term as float", q: "source.port:22.0", indexed: true, exact: true, pred: func(f fixture) bool { return f.port == 22 }},
		{name: "numeric term with exponent", q: "source.port:3.389e3", indexed: true, exact: true, pred: func(f fixture) bool { return f.port == 3389 }},
		{name: "array value", q: "event.category:session", indexed: true, exact: true, pred: func(f fixture) bool { return f.session }},
		{name: "prefix term", q: "user.name:ad*", indexed: true, exact: true, pred: func(f fixture) bool { return f.user == "admin" }},
		{name: "prefix term, several values", q: "source.ip:10.0.0.*", indexed: true, exact: true, pred: all},
		{name: "prefix term, no match", q: "user.name:zz*", indexed: true, pred: func(fixture) bool { return false }},
		{name: "AND of indexed terms", q: "source.ip:10.0.0.1 AND user.name:root", indexed: true, exact: true,
			pred: func(f fixture) bool { return f.ip == "10.0.0.1" && f.user == "root" }},
		{name: "AND of three indexed terms", q: "host.name:web-1 event.outcome:success source.port:443", indexed: true, exact: true,
			pred: func(f fixture) bool { return f.host == "web-1" && f.outcome == "success" && f.port == 443 }},
		{name: "OR of indexed terms", q: "user.name:root OR user.name:admin", indexed: true, exact: true,
			pred: func(f fixture) bool { return f.user == "root" || f.user == "admin" }},
		{name: "OR of overlapping terms", q: "user.name:root OR source.ip:10.0.0.1", indexed: true, exact: true,
			pred: func(f fixture) bool { return f.user == "root" || f.ip == "10.0.0.1" }},
		{name: "OR inside AND", q: "(source.port:22 OR source.port:443) AND host.name:web-1", indexed: true, exact: true,
			pred: func(f fixture) bool { return (f.port == 22 || f.port == 443) && f.host == "web-1" }},
		{name: "AND with a non-indexed term", q: `user.name:alice message:"Failed password for alice from 10.0.0.3 port 51234 ssh2"`, indexed: true,
			pred: func(f fixture) bool { return f.user == "alice" && f.ip == "10.0.0.3" }},
		{name: "AND with a word", q: `user.name:alice "from 10.0.0.3 "`, indexed: true,
			pred: func(f fixture) bool { return f.user == "alice" && f.ip == "10.0.0.3" }},
		{name: "AND with NOT", q: "user.name:root AND NOT event.outcome:success", indexed: true,
			pred: func(f fixture) bool { return f.user == "root" && f.outcome != "success" }},
		{name: "NOT alone", q: "NOT user.name:root", pred: func(f fixture) bool { return f.user != "root" }},
		{name: "bare word", q: "alice", pred: func(f fixture) bool { return f.user == "alice" }},
		{name: "OR with a non-indexed term", q: "user.name:root OR alice", pred: func(f fixture) bool { return f.user == "root" || f.user == "alice" }},
		{name: "range term", q: "source.port>1000", pred: func(f fixture) bool { return f.port == 3389 }},
		{name: "exists term", q: "process.command_line:*", pred: func(f fixture) bool { return f.cmdline != "" }},
		{name: "long value beyond the indexed prefix", q: fmt.Sprintf("process.command_line:%q", longB), indexed: true,
			pred: func(f fixture) bool { return f.cmdline == longB }},
		{name: "no such value", q: "user.name:nobody", indexed: true, exact: true, pred: func(fixture) bool { return false }},
		{name: "time range, scan", from: from, to: to, pred: inRange},
		{name: "time range, indexed", q: "user.name:root", from: from, to: to, indexed: true, exact: true,
			pred: func(f fixture) bool { return f.user == "root" && inRange(f) }},
		{name: "time range, intersection", q: "user.name:root source.port:22", from: from, to: to, indexed: true, exact: true,
			pred: func(f fixture) bool { return f.user == "root" && f.port == 22 && inRange(f) }},
		{name: "time range, prefix", q: "user.name:a*", from: from, to: to, indexed: true, exact: true,
			pred: func(f fixture) bool { return (f.user == "admin" || f.user == "alice") && inRange(f) }},
		{name: "time range, union", q: "user.name:bob OR user.name:alice", from: from, to: to, indexed: true, exact: true,
			pred: func(f fixture) bool { return (f.user == "bob" || f.user == "alice") && inRange(f) }},
		{name: "from only", q: "user.name:bob", from: to, indexed: true, exact: true,
			pred: func(f fixture) bool { return f.user == "bob" && !f.ts.Before(to) }},
		{name: "to only", to: from, pred: func(f fixture) bool { return !f.ts.After(from) }},
		{name: "empty range", from: to, to: from, pred: func(fixture) bool { return false }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expr := mustParse(t, c.q)
			for _, tenant := range []string{"acme", "acme-eu"} {
				want := sf.want(tenant, c.pred)
				for _, limit := range []int{7, 1000} {
					req := appliance.EventSearch{Tenant: tenant, Expr: expr, From: c.from, To: c.to, Limit: limit}
					got := sf.collect(t, req, c.indexed)
					if !slices.Equal(got, want) {
						t.Fatalf("%s, limit %d: got %d events, want %d\ngot  %v\nwant %v", tenant, limit, len(got), len(want), got, want)
					}
				}
				if c.exact {
					page, err := sf.s.Search(context.Background(), appliance.EventSearch{Tenant: tenant, Expr: expr, From: c.from, To: c.to, Limit: 1000})
					if err != nil {
						t.Fatal(err)
					}
					if page.Scanned != len(want) {
						t.Fatalf("%s: the index led to %d candidates for %d matches", tenant, page.Scanned, len(want))
					}
				}
			}
			// A tenant whose name is a prefix of both has nothing.
			page, err := sf.s.Search(context.Background(), appliance.EventSearch{Tenant: "acm", Expr: expr, From: c.from, To: c.to})
			if err != nil || len(page.Events) != 0 {
				t.Fatalf("tenant acm: %d events, %v", len(page.Events), err)
			}
		})
	}
}

func TestSearchDefaultsAndCursorEdges(t *testing.T) {
	sf := newSearchFixture(t)
	ctx := context.Background()
	for _, limit := range []int{0, -5} {
		page, err := sf.s.Search(ctx, appliance.EventSearch{Tenant: "acme", Limit: limit})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Events) != eventstore.DefaultLimit || page.Next == (appliance.EventID{}) {
			t.Fatalf("limit %d: %d events, next %v; want the default page of %d and a cursor", limit, len(page.Events), page.Next, eventstore.DefaultLimit)
		}
	}
	want := sf.want("acme", func(fixture) bool { return true })
	// The cursor of the oldest event ends the listing.
	page, err := sf.s.Search(ctx, appliance.EventSearch{Tenant: "acme", Cursor: want[len(want)-1]})
	if err != nil || len(page.Events) != 0 || page.Next != (appliance.EventID{}) {
		t.Fatalf("after the oldest event: %d events, next %v, %v", len(page.Events), page.Next, err)
	}
	// A cursor with no smaller ID.
	page, err = sf.s.Search(ctx, appliance.EventSearch{Tenant: "acme", Cursor: appliance.EventID{15: 1}})
	if err != nil || len(page.Events) != 0 {
		t.Fatalf("cursor 0…01: %d events, %v", len(page.Events), err)
	}
	page, err = sf.s.Search(ctx, appliance.EventSearch{Tenant: "acme", Cursor: appliance.EventID{}, Limit: 3})
	if err != nil || len(page.Events) != 3 {
		t.Fatalf("zero cursor means the start: %d events, %v", len(page.Events), err)
	}
	// A cursor from the middle continues strictly below it, by index too.
	mid := want[100]
	for _, q := range []string{"", "source:json", "source.ip:10.0.0.*"} {
		page, err = sf.s.Search(ctx, appliance.EventSearch{Tenant: "acme", Expr: mustParse(t, q), Cursor: mid, Limit: 1})
		if err != nil || len(page.Events) != 1 {
			t.Fatalf("%q after %s: %v", q, mid, err)
		}
		if id, _ := head(t, page.Events[0]); id != want[101] {
			t.Fatalf("%q after cursor %s: %s, want %s", q, mid, id, want[101])
		}
	}
}

func TestSearchLimitCap(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	const n = eventstore.MaxLimit + 100
	b := storetest.Batch("bulk", "bulk", 0, n)
	if _, err := s.ApplyBatch(1, "bulk", b.Events); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"", "source:json"} {
		page, err := s.Search(context.Background(), appliance.EventSearch{Tenant: "bulk", Expr: mustParse(t, q), Limit: 50_000})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Events) != eventstore.MaxLimit || page.Next == (appliance.EventID{}) {
			t.Fatalf("%q: %d events (next %v), want the cap %d", q, len(page.Events), page.Next, eventstore.MaxLimit)
		}
		rest, err := s.Search(context.Background(), appliance.EventSearch{Tenant: "bulk", Expr: mustParse(t, q), Limit: 50_000, Cursor: page.Next})
		if err != nil || len(rest.Events) != 100 || rest.Next != (appliance.EventID{}) {
			t.Fatalf("%q: second page %d events, next %v, %v", q, len(rest.Events), rest.Next, err)
		}
	}
	// Long searches notice a cancelled context, by scan and by index.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, q := range []string{"nosuchword", "source:json nosuchword"} {
		_, err := s.Search(ctx, appliance.EventSearch{Tenant: "bulk", Expr: mustParse(t, q)})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("%q with a cancelled context: %v", q, err)
		}
	}
}

func TestGet(t *testing.T) {
	sf := newSearchFixture(t)
	ctx := context.Background()
	f := sf.events["acme"][42]
	doc, err := sf.s.Get(ctx, "acme", f.id)
	if err != nil {
		t.Fatal(err)
	}
	if id, tenant := head(t, doc); id != f.id || tenant != "acme" {
		t.Fatalf("Get returned %s of %s", id, tenant)
	}
	// The same ID exists in acme-eu: each tenant gets its own.
	doc, err = sf.s.Get(ctx, "acme-eu", f.id)
	if err != nil {
		t.Fatal(err)
	}
	if _, tenant := head(t, doc); tenant != "acme-eu" {
		t.Fatalf("Get in acme-eu returned an event of %s", tenant)
	}
	only := sf.events["acme-eu"][perTenant+2] // exists in acme-eu only
	for _, c := range []struct {
		tenant string
		id     appliance.EventID
	}{{"acme", only.id}, {"acm", f.id}, {"acme-eu\x00", f.id}, {"acme", appliance.EventID{}}} {
		if _, err := sf.s.Get(ctx, c.tenant, c.id); appliance.ErrorCode(err) != appliance.ENOTFOUND {
			t.Fatalf("Get(%q, %s): %v, want ENOTFOUND", c.tenant, c.id, err)
		}
	}
}
