package ui

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/minixdr/xdr/appliance"
)

// statsTTL is how long a count of the dashboard or the facets is reused.
// Their ranges end on a whole minute, so a page reloaded within the minute
// asks the same question: counting a million events' postings again can
// take a second, and the answer can only have grown by what arrived since.
const statsTTL = 30 * time.Second

// statsCache remembers the answers of an appliance.EventStats for statsTTL.
// Errors and empty answers are not remembered: a new appliance must show
// its first events at once. The zero value is ready.
type statsCache struct {
	mu      sync.Mutex
	entries map[string]statsEntry
}

type statsEntry struct {
	at    time.Time
	value any
}

// cached answers key from the cache, or computes, stores and returns it.
func cached[T any](c *statsCache, now time.Time, key string, empty func(T) bool, compute func() (T, error)) (T, error) {
	c.mu.Lock()
	if e, ok := c.entries[key]; ok && now.Sub(e.at) < statsTTL {
		c.mu.Unlock()
		return e.value.(T), nil
	}
	c.mu.Unlock()
	v, err := compute()
	if err != nil || empty(v) {
		return v, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]statsEntry{}
	}
	for k, e := range c.entries { // few entries: a handful of ranges per tenant
		if now.Sub(e.at) >= statsTTL {
			delete(c.entries, k)
		}
	}
	c.entries[key] = statsEntry{at: now, value: v}
	return v, nil
}

// cachingStats is an appliance.EventStats answering from a statsCache.
type cachingStats struct {
	inner appliance.EventStats
	cache *statsCache
	now   func() time.Time
}

func (c cachingStats) Histogram(ctx context.Context, tenant string, from, to time.Time, buckets int) ([]int, error) {
	key := fmt.Sprintf("h\x00%s\x00%d\x00%d\x00%d", tenant, from.UnixNano(), to.UnixNano(), buckets)
	return cached(c.cache, c.now(), key, func(counts []int) bool { return !slices.ContainsFunc(counts, func(n int) bool { return n > 0 }) },
		func() ([]int, error) { return c.inner.Histogram(ctx, tenant, from, to, buckets) })
}

func (c cachingStats) Top(ctx context.Context, tenant, field string, from, to time.Time, n int) (appliance.TopValues, error) {
	key := fmt.Sprintf("t\x00%s\x00%s\x00%d\x00%d\x00%d", tenant, field, from.UnixNano(), to.UnixNano(), n)
	return cached(c.cache, c.now(), key, func(t appliance.TopValues) bool { return len(t.Values) == 0 },
		func() (appliance.TopValues, error) { return c.inner.Top(ctx, tenant, field, from, to, n) })
}
