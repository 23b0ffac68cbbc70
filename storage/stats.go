package storage

import (
	"context"
	"time"

	"github.com/minixdr/xdr/appliance"
)

// Histogram counts a tenant's events per time bucket (see appliance.EventStats).
func (s *Store) Histogram(ctx context.Context, tenant string, from, to time.Time, buckets int) ([]int, error) {
	return s.Events.Histogram(ctx, tenant, from, to, buckets)
}

// Top returns the most frequent values of an indexed field in a range.
func (s *Store) Top(ctx context.Context, tenant, field string, from, to time.Time, n int) (appliance.TopValues, error) {
	return s.Events.Top(ctx, tenant, field, from, to, n)
}

// Summary counts a range's events per bucket and the top values of fields.
func (s *Store) Summary(ctx context.Context, tenant string, from, to time.Time, buckets int, fields []string, n int) (appliance.Summary, error) {
	return s.Events.Summary(ctx, tenant, from, to, buckets, fields, n)
}

var _ appliance.EventStats = (*Store)(nil)
