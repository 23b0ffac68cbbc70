package appliance

import (
	"context"
	"time"
)

// ValueCount is how many events of a range have one value of a field.
type ValueCount struct {
	Value string // as indexed (see IndexValue)
	Count int
}

// TopValues is the most frequent values of an indexed field in a range.
// Partial is set when the store stopped counting at its work budget, so the
// counts are a lower bound.
type TopValues struct {
	Values  []ValueCount // most frequent first; ties by value
	Partial bool
}

// EventStats aggregates a tenant's stored events from counts the store
// keeps (rollups) and its indexes, for dashboards and search facets.
type EventStats interface {
	// Histogram counts events per bucket: len(counts) == buckets, bucket i
	// covering [from + i·w, from + (i+1)·w) with w = (to - from) / buckets,
	// to the second (event times are bucketed by their whole second).
	Histogram(ctx context.Context, tenant string, from, to time.Time, buckets int) ([]int, error)
	// Top returns the n most frequent values of an indexed field among the
	// events in [from, to] (EINVALID for a field without an index).
	Top(ctx context.Context, tenant, field string, from, to time.Time, n int) (TopValues, error)
	// Summary is Histogram and Top of each field in one call, which lets
	// the store count the loose seconds at the range's edges once for
	// every field (the event store counts whole minutes, hours and days
	// from its rollups).
	Summary(ctx context.Context, tenant string, from, to time.Time, buckets int, fields []string, n int) (Summary, error)
}

// Summary is a range's events per bucket and the top values of fields.
type Summary struct {
	Counts []int       // as Histogram
	Tops   []TopValues // in the order of the fields asked
}
