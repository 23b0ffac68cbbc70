package eventstore

import (
	"context"
	"time"

	"github.com/minixdr/xdr/appliance"
)

// SummaryWith is Summary with its document-scan threshold, for tests.
func SummaryWith(s *Store, ctx context.Context, tenant string, from, to time.Time, buckets int, fields []string, n, scanMax int) (appliance.Summary, error) {
	return s.summary(ctx, tenant, from, to, buckets, fields, n, scanMax)
}
