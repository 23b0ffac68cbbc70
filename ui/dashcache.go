package ui

import (
	"context"
	"sync"
	"time"

	"github.com/minixdr/xdr/appliance"
)

// The dashboard's event counts (events per second, top entities) walk the
// postings of every distinct value of a field: with a million events that
// takes from a tenth of a second to seconds (docs/performance.md). So a
// view's counts are kept per tenant and range, and reused:
//   - for dashFresh as they are;
//   - up to dashMaxStale old, shown at once (with their time) while one
//     background count brings them up to date for the next view;
//   - older, or never counted: counted while the page waits.
//
// An empty count (no events in the range) and a failed one are never kept,
// so a new appliance shows its first events at once.
const (
	dashFresh    = 30 * time.Second
	dashMaxStale = 10 * time.Minute
	// dashRefreshTimeout bounds a background count.
	dashRefreshTimeout = time.Minute
)

// dashCounts are the event counts of one dashboard view.
type dashCounts struct {
	from, to time.Time // the range counted, on whole minutes
	counts   []int     // events per bucket
	tops     []appliance.TopValues
	at       time.Time // when counted
}

func (c dashCounts) empty() bool {
	for _, n := range c.counts {
		if n > 0 {
			return false
		}
	}
	return true
}

// dashCache keeps dashCounts by key; the zero value is ready.
type dashCache struct {
	mu      sync.Mutex
	entries map[string]*dashEntry
}

type dashEntry struct {
	counts     dashCounts
	refreshing bool
}

// get returns the counts of key: kept ones when fresh enough, else what
// count returns. A stale answer starts one background count (with ctx's
// values but not its cancellation); done, if not nil, is called when it
// ends (for tests).
func (c *dashCache) get(ctx context.Context, key string, now time.Time, count func(context.Context) (dashCounts, error), done func()) (dashCounts, error) {
	c.mu.Lock()
	for k, e := range c.entries { // few: a handful of ranges per tenant
		if now.Sub(e.counts.at) >= dashMaxStale && !e.refreshing {
			delete(c.entries, k)
		}
	}
	// A negative age (the clock went back) makes the counts unusable.
	if e, ok := c.entries[key]; ok && !now.Before(e.counts.at) {
		age := now.Sub(e.counts.at)
		if age < dashFresh {
			c.mu.Unlock()
			return e.counts, nil
		}
		if age < dashMaxStale {
			if !e.refreshing {
				e.refreshing = true
				go c.refresh(context.WithoutCancel(ctx), key, count, done)
			}
			c.mu.Unlock()
			return e.counts, nil
		}
	}
	c.mu.Unlock()
	counts, err := count(ctx)
	if err == nil {
		c.put(key, counts)
	}
	return counts, err
}

func (c *dashCache) refresh(ctx context.Context, key string, count func(context.Context) (dashCounts, error), done func()) {
	ctx, cancel := context.WithTimeout(ctx, dashRefreshTimeout)
	defer cancel()
	counts, err := count(ctx)
	if err == nil {
		c.put(key, counts)
	}
	c.mu.Lock()
	if e, ok := c.entries[key]; ok {
		e.refreshing = false
	}
	c.mu.Unlock()
	if done != nil {
		done()
	}
}

// put keeps counts under key unless they are empty (an empty key is
// dropped: its events may be arriving right now).
func (c *dashCache) put(key string, counts dashCounts) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if counts.empty() {
		delete(c.entries, key)
		return
	}
	if c.entries == nil {
		c.entries = map[string]*dashEntry{}
	}
	c.entries[key] = &dashEntry{counts: counts}
}
