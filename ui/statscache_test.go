package ui

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance"
)

// countingStats answers Top with values (or none, or an error) and counts
// the calls.
type countingStats struct {
	calls  int
	values []appliance.ValueCount
	err    error
}

func (c *countingStats) Histogram(context.Context, string, time.Time, time.Time, int) ([]int, error) {
	c.calls++
	if len(c.values) == 0 {
		return []int{0, 0}, c.err
	}
	return []int{1, 0}, c.err
}

func (c *countingStats) Top(context.Context, string, string, time.Time, time.Time, int) (appliance.TopValues, error) {
	c.calls++
	return appliance.TopValues{Values: c.values}, c.err
}

func TestStatsCache(t *testing.T) {
	now := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
	inner := &countingStats{}
	var cache statsCache
	st := cachingStats{inner: inner, cache: &cache, now: func() time.Time { return now }}
	ctx := context.Background()
	from, to := now.Add(-time.Hour), now
	ask := func() {
		t.Helper()
		if _, err := st.Top(ctx, "acme", "user.name", from, to, 5); err != nil && inner.err == nil {
			t.Fatal(err)
		}
		if _, err := st.Histogram(ctx, "acme", from, to, 2); err != nil && inner.err == nil {
			t.Fatal(err)
		}
	}

	ask()
	ask()
	if inner.calls != 4 {
		t.Fatalf("empty answers were reused: %d calls, want 4", inner.calls)
	}
	inner.err = errors.New("disk on fire")
	inner.values = []appliance.ValueCount{{Value: "root", Count: 3}}
	ask()
	ask()
	if inner.calls != 8 {
		t.Fatalf("errors were reused: %d calls, want 8", inner.calls)
	}
	inner.err = nil
	ask()
	ask() // within the TTL: from the cache
	if inner.calls != 10 {
		t.Fatalf("%d calls, want 10 (the second ask answered from the cache)", inner.calls)
	}
	if got, _ := st.Top(ctx, "other", "user.name", from, to, 5); inner.calls != 11 || len(got.Values) != 1 {
		t.Fatalf("another tenant's question was answered from the cache (%d calls)", inner.calls)
	}
	now = now.Add(statsTTL)
	ask()
	if inner.calls != 13 {
		t.Fatalf("%d calls after the TTL, want 13", inner.calls)
	}
	if len(cache.entries) != 2 { // the fresh pair; the other tenant's expired entry is dropped
		t.Errorf("%d cache entries, want 2", len(cache.entries))
	}
}
