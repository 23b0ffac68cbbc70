package ui

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestDashCache(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
	var c dashCache
	ctx := context.Background()
	calls := 0
	next := 7 // what the next count finds
	var failNext error
	release := make(chan struct{}, 10)
	block := false
	count := func(now time.Time) func(context.Context) (dashCounts, error) {
		return func(context.Context) (dashCounts, error) {
			if block {
				<-release
			}
			calls++
			return dashCounts{counts: []int{next}, at: now}, failNext
		}
	}
	refreshed := make(chan struct{}, 10)
	done := func() { refreshed <- struct{}{} }
	get := func(now time.Time) int {
		t.Helper()
		got, err := c.get(ctx, "acme\x0024h", now, count(now), done)
		if err != nil && failNext == nil {
			t.Fatal(err)
		}
		if len(got.counts) == 0 {
			return -1
		}
		return got.counts[0]
	}
	wait := func() {
		t.Helper()
		select {
		case <-refreshed:
		case <-time.After(10 * time.Second):
			t.Fatal("the background refresh did not end")
		}
	}

	if got := get(t0); got != 7 || calls != 1 {
		t.Fatalf("first view: %d (%d calls)", got, calls)
	}
	next = 8
	if got := get(t0.Add(dashFresh - time.Second)); got != 7 || calls != 1 {
		t.Fatalf("fresh view: %d (%d calls), want the kept 7", got, calls)
	}
	// Stale: the old counts at once, and one background count.
	block = true
	if got := get(t0.Add(dashFresh)); got != 7 {
		t.Fatalf("stale view: %d, want the kept 7 at once", got)
	}
	if got := get(t0.Add(dashFresh + time.Second)); got != 7 {
		t.Fatalf("second stale view: %d", got)
	}
	release <- struct{}{}
	wait()
	block = false
	if calls != 2 {
		t.Fatalf("%d counts, want 2: one background refresh for two stale views", calls)
	}
	if got := get(t0.Add(dashFresh + 2*time.Second)); got != 8 || calls != 2 {
		t.Fatalf("after the refresh: %d (%d calls), want 8 from the refresh", got, calls)
	}
	// Too old to show: counted while the page waits.
	next = 9
	if got := get(t0.Add(dashMaxStale + time.Hour)); got != 9 || calls != 3 {
		t.Fatalf("expired view: %d (%d calls)", got, calls)
	}
	// Counts from the future (the clock went back) are counted again.
	next = 10
	if got := get(t0.Add(dashMaxStale)); got != 10 || calls != 4 {
		t.Fatalf("clock went back: %d (%d calls)", got, calls)
	}
	// Empty and failed counts are never kept.
	next = 0
	later := t0.Add(3 * time.Hour)
	get(later)
	next = 4
	if got := get(later); got != 4 || calls != 6 {
		t.Fatalf("after an empty count: %d (%d calls), want a new count", got, calls)
	}
	c.entries = nil
	failNext = errors.New("disk on fire")
	get(later)
	failNext = nil
	if got := get(later); got != 4 || calls != 8 {
		t.Fatalf("after a failed count: %d (%d calls), want a new count", got, calls)
	}
}
