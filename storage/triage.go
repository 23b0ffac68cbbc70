package storage

import (
	"context"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/detect"
)

// Reads of the analyst pages over detection state that the detection
// service does not offer: filtered and sorted incident pages with a total,
// and counts for the dashboard.

// IncidentList returns a page of incidents matching f and the total.
func (s *Store) IncidentList(ctx context.Context, f appliance.IncidentFilter) ([]detect.Incident, int, error) {
	return s.SQL.IncidentList(ctx, f)
}

// OpenIncidentCounts counts open incidents by severity.
func (s *Store) OpenIncidentCounts(ctx context.Context, tenant string) (map[string]int, error) {
	return s.SQL.OpenIncidentCounts(ctx, tenant)
}

// AlertHistogram counts alerts per severity and time bucket.
func (s *Store) AlertHistogram(ctx context.Context, tenant string, from, to time.Time, buckets int) (map[string][]int, error) {
	return s.SQL.AlertHistogram(ctx, tenant, from, to, buckets)
}

// AlertTechniqueCounts counts alerts in [from, to) by ATT&CK technique.
func (s *Store) AlertTechniqueCounts(ctx context.Context, tenant string, from, to time.Time) (map[string]int, error) {
	return s.SQL.AlertTechniqueCounts(ctx, tenant, from, to)
}
