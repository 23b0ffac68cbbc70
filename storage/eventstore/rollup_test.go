package eventstore_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/storage/eventstore"
	"github.com/minixdr/xdr/storage/storetest"
)

// rollupEvents are n events of a tenant at random times over three days
// (so every level of rollup and the loose seconds are exercised).
func rollupEvents(tenant string, seed uint64, n int) []appliance.Event {
	rng := rand.New(rand.NewPCG(seed, uint64(len(tenant))))
	var evs []appliance.Event
	for i := range n {
		ts := storetest.Base.Add(time.Duration(rng.Int64N(int64(72 * time.Hour))))
		fields := map[string]any{
			"user.name": "user-" + strconv.Itoa(rng.IntN(20)), "source.ip": fmt.Sprintf("10.0.%d.%d", rng.IntN(4), rng.IntN(200)),
			"host.name": tenant + "-host-" + strconv.Itoa(rng.IntN(5)), "event.outcome": []string{"success", "failure"}[rng.IntN(2)],
			"source.port": float64(rng.IntN(3)), "event.category": []any{"authentication"}, // indexed, without rollups
		}
		if i%3 == 0 {
			fields["event.action"] = []any{"login", "logon", "Login"} // one value twice, as indexed
		}
		source := []string{"json", "syslog"}[rng.IntN(2)]
		evs = append(evs, storetest.Event(tenant, source, ts, seed<<32|uint64(i), fields))
	}
	return evs
}

// rollupBatch is how many events rollupFixture applies at once: its
// batches straddle minutes, hours and days.
const rollupBatch = 97

// fixtureEntry is one log entry of the fixture: a batch of a tenant.
type fixtureEntry struct {
	tenant string
	events []appliance.Event
}

// fixtureEntries are rollupEvents of two tenants, n each, in batches.
func fixtureEntries(seed uint64, n int) []fixtureEntry {
	var entries []fixtureEntry
	for _, tenant := range []string{"acme", "beta"} {
		evs := rollupEvents(tenant, seed, n)
		for start := 0; start < n; start += rollupBatch {
			entries = append(entries, fixtureEntry{tenant, evs[start:min(start+rollupBatch, n)]})
		}
	}
	return entries
}

// applyFrom applies entries[from:] as log indexes from+1 on.
func applyFrom(t *testing.T, s *eventstore.Store, entries []fixtureEntry, from int) {
	t.Helper()
	for i := from; i < len(entries); i++ {
		if ok, err := s.ApplyBatch(uint64(i+1), entries[i].tenant, entries[i].events); err != nil || !ok {
			t.Fatalf("apply %d: %v %v", i+1, ok, err)
		}
	}
}

// rollupFixture stores rollupEvents of two tenants after *index.
func rollupFixture(t *testing.T, s *eventstore.Store, index *uint64, seed uint64, n int) {
	t.Helper()
	for _, e := range fixtureEntries(seed, n) {
		*index++
		if _, err := s.ApplyBatch(*index, e.tenant, e.events); err != nil {
			t.Fatal(err)
		}
	}
}

// sameDump fails unless two dumps hold the same records.
func sameDump(t *testing.T, got, want *records, what string) {
	t.Helper()
	if len(got.payloads) != len(want.payloads) {
		t.Fatalf("%s dumps %d records, want %d", what, len(got.payloads), len(want.payloads))
	}
	for i := range want.payloads {
		if string(got.payloads[i]) != string(want.payloads[i]) {
			t.Fatalf("%s: record %d is %q, want %q", what, i, got.payloads[i], want.payloads[i])
		}
	}
}

// scanCounts counts a field's values among a tenant's events in [from, to]
// (to the second) by reading every document: the truth the rollups must
// match.
func scanCounts(t *testing.T, s *eventstore.Store, tenant, field string, from, to time.Time) (map[string]int, []int64) {
	t.Helper()
	counts := map[string]int{}
	var seconds []int64
	req := appliance.EventSearch{Tenant: tenant, From: from.Truncate(time.Second), To: to.Truncate(time.Second).Add(time.Second - 1), Limit: eventstore.MaxLimit}
	for {
		page, err := s.Search(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range page.Events {
			var m map[string]any
			if err := json.Unmarshal(doc, &m); err != nil {
				t.Fatal(err)
			}
			id, _ := appliance.ParseEventID(m["id"].(string))
			seconds = append(seconds, int64(binary.BigEndian.Uint64(id[:8])/1e9))
			list, ok := m[field].([]any)
			if !ok && m[field] != nil {
				list = []any{m[field]}
			}
			seen := map[string]bool{}
			for _, v := range list {
				iv := appliance.IndexValue(fmt.Sprint(v))
				if !seen[iv] {
					seen[iv] = true
					counts[iv]++
				}
			}
		}
		if page.Next == (appliance.EventID{}) {
			return counts, seconds
		}
		req.Cursor = page.Next
	}
}

var rollupCheckFields = []string{"source", "user.name", "source.ip", "host.name", "event.outcome", "event.action"}

// checkRollups compares every count the rollups give for random ranges
// (aligned and not) with a scan of the documents.
func checkRollups(t *testing.T, s *eventstore.Store, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 11))
	ranges := [][2]time.Time{
		{storetest.Base.Add(-time.Hour), storetest.Base.Add(80 * time.Hour)},                                   // everything
		{storetest.Base.Truncate(24 * time.Hour), storetest.Base.Truncate(24 * time.Hour).Add(48 * time.Hour)}, // whole days
		{storetest.Base.Add(90 * time.Minute), storetest.Base.Add(3 * time.Hour)},                              // whole minutes
	}
	for range 6 {
		from := storetest.Base.Add(time.Duration(rng.Int64N(int64(72 * time.Hour))))
		ranges = append(ranges, [2]time.Time{from, from.Add(time.Duration(rng.Int64N(int64(50 * time.Hour))))})
	}
	for _, r := range ranges {
		for _, tenant := range []string{"acme", "beta"} {
			checkRollupsOf(t, s, tenant, r[0], r[1])
		}
	}
}

// checkRollupsOf compares a tenant's histogram and top values of a range
// with a scan of its documents.
func checkRollupsOf(t *testing.T, s *eventstore.Store, tenant string, from, to time.Time) {
	t.Helper()
	sum, err := s.Summary(context.Background(), tenant, from, to, 7, rollupCheckFields, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range rollupCheckFields {
		want, seconds := scanCounts(t, s, tenant, f, from, to)
		lo, hi := from.Unix(), to.Unix()
		wantHist := make([]int, len(sum.Counts))
		for _, sec := range seconds {
			wantHist[min(int(float64(sec-lo)/float64(hi-lo+1)*float64(len(wantHist))), len(wantHist)-1)]++
		}
		if !slices.Equal(sum.Counts, wantHist) {
			t.Fatalf("%s %v..%v: histogram %v, the documents %v", tenant, from, to, sum.Counts, wantHist)
		}
		got := map[string]int{}
		for _, vc := range sum.Tops[i].Values {
			got[vc.Value] = vc.Count
		}
		if !maps.Equal(got, want) || sum.Tops[i].Partial {
			t.Fatalf("%s %s %v..%v: rollups %v (partial %v), documents %v", tenant, f, from, to, got, sum.Tops[i].Partial, want)
		}
	}
}

// The counts read the same as the events whenever they are written:
// readers add the pending counts to those on disk.
func TestRollupsMatchTheEvents(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys int // pending counts that make a flush
	}{{"as configured", 0}, {"flushed after nearly every batch", 40}, {"never flushed", 1 << 30}} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.keys > 0 {
				defer eventstore.SetRollupPending(tc.keys, time.Hour)()
			}
			s := mustOpen(t, t.TempDir())
			var index uint64
			rollupFixture(t, s, &index, 1, 1500)
			checkRollups(t, s, 1)
			// More events into the same buckets add to the counts.
			rollupFixture(t, s, &index, 2, 500)
			checkRollups(t, s, 2)
		})
	}
}

// A writer cache too small for one batch's keys forgets counts, past
// buckets first, while batches in and out of time order keep adding to
// them: the counts stay exact.
func TestRollupsWithASmallWriterCache(t *testing.T) {
	for _, max := range []int{50, 2000} {
		t.Run(fmt.Sprint("max=", max), func(t *testing.T) {
			defer eventstore.SetRollupCacheMax(max)()
			defer eventstore.SetRollupPending(10, time.Hour)() // a flush nearly every batch
			s := mustOpen(t, t.TempDir())
			var index uint64
			rollupFixture(t, s, &index, 13, 800)
			// In time order, as a syslog stream: each batch's latest buckets
			// are the ones kept.
			for _, tenant := range []string{"acme", "beta"} {
				evs := rollupEvents(tenant, 14, 600)
				slices.SortFunc(evs, func(a, b appliance.Event) int { return bytes.Compare(a.ID[:], b.ID[:]) })
				for start := 0; start < len(evs); start += rollupBatch {
					index++
					if _, err := s.ApplyBatch(index, tenant, evs[start:min(start+rollupBatch, len(evs))]); err != nil {
						t.Fatal(err)
					}
				}
			}
			checkRollups(t, s, 13)
		})
	}
}

// Tenant B's counts never include tenant A's events: the fixture's host
// names carry the tenant's name.
func TestRollupsTenantIsolation(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	var index uint64
	rollupFixture(t, s, &index, 3, 400)
	for _, tenant := range []string{"acme", "beta"} {
		top, err := s.Top(context.Background(), tenant, "host.name", time.Time{}, time.Time{}, 100)
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, vc := range top.Values {
			if vc.Value[:len(tenant)] != tenant {
				t.Errorf("tenant %s sees host %q", tenant, vc.Value)
			}
			total += vc.Count
		}
		if total != 400 {
			t.Errorf("tenant %s counts %d events, want 400", tenant, total)
		}
	}
	if top, err := s.Top(context.Background(), "nobody", "host.name", time.Time{}, time.Time{}, 100); err != nil || len(top.Values) != 0 {
		t.Errorf("a tenant without events sees %+v, %v", top, err)
	}
}

func TestRollupsSurviveRestartAndRestore(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	var index uint64
	rollupFixture(t, s, &index, 4, 600)
	s.Close()
	s = mustOpen(t, dir)
	checkRollups(t, s, 4)
	// The writer's cache starts empty after a restart: new events add to
	// the counts on disk.
	rollupFixture(t, s, &index, 5, 300)
	checkRollups(t, s, 5)

	dst := mustOpen(t, t.TempDir())
	restore(t, dst, dump(t, s), index, nil)
	checkRollups(t, dst, 6)
	rollupFixture(t, dst, &index, 7, 200)
	checkRollups(t, dst, 7)
}

// restore loads a dump into dst, leaving out the records skip rejects.
func restore(t *testing.T, dst *eventstore.Store, r *records, applied uint64, skip func(key []byte) bool) {
	t.Helper()
	l, err := dst.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range r.payloads {
		if skip != nil && skip(p[1:1+p[0]]) {
			continue
		}
		if err := l.Record(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Commit(applied); err != nil {
		t.Fatal(err)
	}
}

// A store, or a snapshot, from before rollups existed gets them rebuilt
// from its postings.
func TestRollupsRebuiltForOldStores(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	var index uint64
	rollupFixture(t, s, &index, 8, 700)
	old := dump(t, s)
	if err := eventstore.DropRollups(s); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = mustOpen(t, dir)
	checkRollups(t, s, 8)
	// The rebuilt counts and stamps are the ones ingest wrote.
	sameDump(t, dump(t, s), old, "the rebuilt store (want: the original)")
	rollupFixture(t, s, &index, 9, 100)
	checkRollups(t, s, 9)

	dst := mustOpen(t, t.TempDir())
	restore(t, dst, old, 100, func(key []byte) bool { return key[0] == 'r' || key[0] == 'R' })
	checkRollups(t, dst, 10)
}

// A store with rollups of an older layout (v1: hours for every field, v2:
// this one, v3: minutes only for source.ip and user.name) gets them
// rebuilt in the current one, and only the current marker.
func TestRollupsOfAnOlderLayoutRebuilt(t *testing.T) {
	for _, version := range []int{1, 2, 3} {
		t.Run(fmt.Sprint("v", version), func(t *testing.T) {
			dir := t.TempDir()
			s := mustOpen(t, dir)
			var index uint64
			rollupFixture(t, s, &index, 15, 300)
			want := dump(t, s)
			if err := eventstore.MakeOldRollups(s, "acme", version); err != nil {
				t.Fatal(err)
			}
			if got := dump(t, s); len(got.payloads) != len(want.payloads)+1 {
				t.Fatalf("the old layout dumps %d records, want %d", len(got.payloads), len(want.payloads)+1)
			}
			s.Close()
			s = mustOpen(t, dir)
			sameDump(t, dump(t, s), want, "the rebuilt store")
			checkRollups(t, s, 15)
		})
	}
}

// After a crash, the entries since the last flush of the counts are
// applied again (as Raft replays them) and counted once: whether the crash
// lost every pending count or came in the middle of a flush that wrote
// part of them (each such key keeps its count from before the flush). The
// store then holds what a store that never crashed holds.
func TestRollupsCountOnceAfterACrash(t *testing.T) {
	for _, tc := range []struct {
		name    string
		flushed bool // a flush before the crash's batches
		partial bool // the crash comes in the middle of a flush
	}{
		{"pending lost", false, false},
		{"pending lost after a flush", true, false},
		{"in a flush", false, true},
		{"in a flush after a flush", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entries := append(fixtureEntries(21, 300), fixtureEntries(22, 300)...)
			clean := mustOpen(t, t.TempDir())
			applyFrom(t, clean, entries, 0)

			dir := t.TempDir()
			s := mustOpen(t, dir)
			half := len(entries) / 2
			applyFrom(t, s, entries[:half], 0)
			if tc.flushed {
				if err := s.Flush(); err != nil {
					t.Fatal(err)
				}
			}
			applyFrom(t, s, entries, half)
			if err := eventstore.Crash(s, tc.partial); err != nil {
				t.Fatal(err)
			}
			s = mustOpen(t, dir)
			want := uint64(0)
			if tc.flushed {
				want = uint64(half)
			}
			if s.Applied() != want {
				t.Fatalf("applied index after the crash %d, want %d (the last flush)", s.Applied(), want)
			}
			// Before the replay, keys an unfinished flush made have no
			// count yet: neither a snapshot nor a reader shows them.
			for _, p := range dump(t, s).payloads {
				if key := p[1 : 1+p[0]]; key[0] == 'r' && binary.BigEndian.Uint64(p[1+p[0]:]) == 0 {
					t.Fatalf("the dump holds rollup %q with count 0", key)
				}
			}
			for _, f := range rollupCheckFields {
				top, err := s.Top(context.Background(), "acme", f, time.Time{}, time.Time{}, 1000)
				if err != nil {
					t.Fatal(err)
				}
				for _, vc := range top.Values {
					if vc.Count == 0 {
						t.Fatalf("top %s lists %q with count 0", f, vc.Value)
					}
				}
			}
			applyFrom(t, s, entries, int(s.Applied()))
			checkRollups(t, s, 21)
			sameDump(t, dump(t, s), dump(t, clean), "the replayed store (want: the store that never crashed)")
		})
	}
}

// After a restart, Open reads the counts of each tenant's latest 30 whole
// days into the bucket cache in the background, for every rollup field.
func TestOpenWarmsTheLatestDays(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	var evs []appliance.Event
	for h := range 35 * 24 {
		evs = append(evs, storetest.Event("acme", "json", storetest.Base.Add(time.Duration(h)*time.Hour), uint64(h), map[string]any{
			"user.name": "u", "source.ip": "10.0.0.1", "host.name": "h", "event.outcome": "success", "event.action": "login",
		}))
	}
	if _, err := s.ApplyBatch(1, "acme", evs); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = mustOpen(t, dir)
	eventstore.WaitWarm(s)
	if n := eventstore.CachedBuckets(s); n != 30*6 {
		t.Fatalf("%d buckets read after the restart, want 180 (30 days, 6 fields)", n)
	}
	checkRollupsOf(t, s, "acme", storetest.Base, storetest.Base.Add(35*24*time.Hour))
}

// An idempotent batch applied again after a crash, by the entry that first
// applied it, is stored and counted again; the same batch in a later entry
// is still a retry that stores nothing.
func TestIdempotentBatchAppliedAgainAfterACrash(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	evs := rollupEvents("acme", 31, 50)
	rec := eventstore.BatchRecord{BatchID: "k1", Part: 0, Digest: 77}
	if dErr, err := s.ApplyIdempotentBatch(1, "acme", rec, evs); dErr != nil || err != nil {
		t.Fatal(dErr, err)
	}
	if err := eventstore.Crash(s, false); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, dir)
	if seen, err := s.HasBatch(1, "acme", rec); seen || err != nil {
		t.Fatalf("the entry that wrote the record sees a retry: %v %v", seen, err)
	}
	if dErr, err := s.ApplyIdempotentBatch(1, "acme", rec, evs); dErr != nil || err != nil {
		t.Fatal(dErr, err)
	}
	if s.Applied() != 1 {
		t.Fatalf("applied %d, want 1", s.Applied())
	}
	if seen, err := s.HasBatch(2, "acme", rec); !seen || err != nil {
		t.Fatalf("a later entry with the same batch is not a retry: %v %v", seen, err)
	}
	if dErr, err := s.ApplyIdempotentBatch(2, "acme", rec, evs); dErr != nil || err != nil {
		t.Fatal(dErr, err)
	}
	conflict := rec
	conflict.Digest++
	if dErr, err := s.ApplyIdempotentBatch(3, "acme", conflict, evs); appliance.ErrorCode(dErr) != appliance.ECONFLICT || err != nil {
		t.Fatalf("a different body under the same key: %v %v, want a conflict", dErr, err)
	}
	if n := count(t, s, "acme"); n != 50 {
		t.Fatalf("%d events stored, want 50", n)
	}
	checkRollupsOf(t, s, "acme", storetest.Base.Add(-time.Hour), storetest.Base.Add(80*time.Hour))
}

// Readers while counts are flushed every few batches never see a batch's
// counts twice, nor lose counts once seen: every total is between the
// events applied before the read (less the batch being added) and after.
func TestRollupReadersDuringFlushes(t *testing.T) {
	defer eventstore.SetRollupPending(3000, time.Hour)() // a flush every few batches, of many keys
	s := mustOpen(t, t.TempDir())
	evs := rollupEvents("acme", 41, 20000)
	var applied atomic.Int64
	done := make(chan struct{})
	errs := make(chan error, 1)
	go func() {
		defer close(errs)
		for {
			select {
			case <-done:
				return
			default:
			}
			before := applied.Load()
			counts, err := s.Histogram(context.Background(), "acme", storetest.Base.Add(-time.Hour), storetest.Base.Add(80*time.Hour), 1)
			if err != nil {
				errs <- err
				return
			}
			after := applied.Load()
			if total := int64(counts[0]); total < before-rollupBatch || total > after+rollupBatch {
				errs <- fmt.Errorf("a reader counted %d events while %d to %d were applied", total, before, after)
				return
			}
		}
	}()
	for start, index := 0, uint64(1); start < len(evs); start, index = start+rollupBatch, index+1 {
		batch := evs[start:min(start+rollupBatch, len(evs))]
		if _, err := s.ApplyBatch(index, "acme", batch); err != nil {
			t.Fatal(err)
		}
		applied.Add(int64(len(batch)))
	}
	close(done)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	checkRollupsOf(t, s, "acme", storetest.Base.Add(-time.Hour), storetest.Base.Add(80*time.Hour))
}

// With write-behind (the state machine's mode), ApplyBatch returns while
// Badger writes; Applied counts a batch once written, a retry of the
// batch just handed off is still recognised, and the counts and the store
// after a crash and replay are those of a store that waited each time.
func TestWriteBehind(t *testing.T) {
	defer eventstore.SetRollupPending(2000, time.Hour)() // flushes among the batches too
	dir := t.TempDir()
	s, err := eventstore.Open(dir, eventstore.Options{WriteBehind: true}, storetest.Discard)
	if err != nil {
		t.Fatal(err)
	}
	entries := fixtureEntries(51, 900)
	applyFrom(t, s, entries, 0)
	index := uint64(len(entries))
	if err := s.Wait(); err != nil {
		t.Fatal(err)
	}
	if s.Applied() != index {
		t.Fatalf("Applied %d after Wait, want %d", s.Applied(), index)
	}
	checkRollups(t, s, 51)

	// The same idempotent batch twice in a row: the second is a retry.
	evs := rollupEvents("acme", 52, 40)
	rec := eventstore.BatchRecord{BatchID: "wb", Digest: 9}
	idempotent := func(st *eventstore.Store, index uint64) {
		t.Helper()
		if dErr, err := st.ApplyIdempotentBatch(index, "acme", rec, evs); dErr != nil || err != nil {
			t.Fatalf("batch at %d: %v %v", index, dErr, err)
		}
	}
	idempotent(s, index+1)
	idempotent(s, index+2)
	if err := eventstore.Crash(s, true); err != nil {
		t.Fatal(err)
	}
	// Replay from the last flush, as Raft would, with the same entries.
	s = mustOpen(t, dir)
	applyFrom(t, s, entries, min(int(s.Applied()), len(entries)))
	for i := max(index, s.Applied()) + 1; i <= index+2; i++ {
		idempotent(s, i)
	}
	if n := count(t, s, "acme"); n != 940 {
		t.Fatalf("%d events of acme, want 940 (the retried batch once)", n)
	}
	clean := mustOpen(t, t.TempDir())
	applyFrom(t, clean, entries, 0)
	idempotent(clean, index+1)
	sameDump(t, dump(t, s), dump(t, clean), "the replayed store (want: a store that waited for each write)")
}

// A store of rollup layout v4 closed cleanly keeps its counts as they are
// (no rebuild: its values stay in the v4 form until next written), and
// they read and grow exactly; one a crash left with a v4 batch cut short is
// rebuilt from its postings.
func TestRollupsOfLayoutV4(t *testing.T) {
	for _, cutShort := range []bool{false, true} {
		t.Run(fmt.Sprint("cut short ", cutShort), func(t *testing.T) {
			dir := t.TempDir()
			s := mustOpen(t, dir)
			var index uint64
			rollupFixture(t, s, &index, 61, 400)
			want := dump(t, s)
			if err := eventstore.MakeV4Rollups(s, cutShort); err != nil {
				t.Fatal(err)
			}
			s.Close()
			s = mustOpen(t, dir)
			lens, err := eventstore.RollupValueLens(s)
			if err != nil {
				t.Fatal(err)
			}
			if kept := lens[16] > 0; kept == cutShort {
				t.Fatalf("value lengths after open %v: want the v4 values kept only when no batch was cut short", lens)
			}
			sameDump(t, dump(t, s), want, "the v4 store opened")
			rollupFixture(t, s, &index, 62, 200)
			checkRollups(t, s, 62)
		})
	}
}
