package backup

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Collector exports the replicated record of scheduled backups, so every
// node reports the same figures and they survive a leader change; and this
// node's count of intervals skipped for want of changes.
type Collector struct{ s *Scheduler }

// NewCollector returns the collector of s's record.
func NewCollector(s *Scheduler) *Collector { return &Collector{s: s} }

var (
	descLastSuccess = prometheus.NewDesc("xdr_backup_last_success_timestamp_seconds", "When the last scheduled backup succeeded (Unix time; 0: never).", nil, nil)
	descLastSize    = prometheus.NewDesc("xdr_backup_last_size_bytes", "Size of the last successful scheduled backup file.", nil, nil)
	descLastDur     = prometheus.NewDesc("xdr_backup_last_duration_seconds", "How long the last successful scheduled backup took.", nil, nil)
	descLastIndex   = prometheus.NewDesc("xdr_backup_last_raft_index", "Raft index of the state in the last successful scheduled backup.", nil, nil)
	descSuccesses   = prometheus.NewDesc("xdr_backup_successes_total", "Scheduled backups that succeeded, cluster-wide.", nil, nil)
	descFailures    = prometheus.NewDesc("xdr_backup_failures_total", "Scheduled backup attempts that failed, cluster-wide.", nil, nil)
	descLastFailure = prometheus.NewDesc("xdr_backup_last_failure_timestamp_seconds", "When the last scheduled backup attempt failed (Unix time; 0: never).", nil, nil)
	descFailing     = prometheus.NewDesc("xdr_backup_failing", "1 when the latest scheduled backup attempt failed.", nil, nil)
	descStatusErr   = prometheus.NewDesc("xdr_backup_status_error", "1 when the backup record could not be read for this scrape.", nil, nil)
	descSkipped     = prometheus.NewDesc("xdr_backup_skipped_unchanged_total", "Scheduled backup intervals this node, while leading, skipped because nothing changed since the last backup.", nil, nil)
)

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLastSuccess, descLastSize, descLastDur, descLastIndex, descSuccesses, descFailures, descLastFailure, descFailing, descStatusErr, descSkipped} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	// Node-local: it needs no read of the record.
	ch <- prometheus.MustNewConstMetric(descSkipped, prometheus.CounterValue, float64(c.s.Skipped()))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := c.s.Status(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(descStatusErr, prometheus.GaugeValue, 1)
		return
	}
	ch <- prometheus.MustNewConstMetric(descStatusErr, prometheus.GaugeValue, 0)
	failing := 0.0
	if st.FailureRecord > st.SuccessRecord {
		failing = 1
	}
	for _, m := range []struct {
		d *prometheus.Desc
		t prometheus.ValueType
		v float64
	}{
		{descLastSuccess, prometheus.GaugeValue, unixSeconds(st.SuccessAt)},
		{descLastSize, prometheus.GaugeValue, float64(st.Size)},
		{descLastDur, prometheus.GaugeValue, st.Duration.Seconds()},
		{descLastIndex, prometheus.GaugeValue, float64(st.RaftIndex)},
		{descSuccesses, prometheus.CounterValue, float64(st.Successes)},
		{descFailures, prometheus.CounterValue, float64(st.Failures)},
		{descLastFailure, prometheus.GaugeValue, unixSeconds(st.FailureAt)},
		{descFailing, prometheus.GaugeValue, failing},
	} {
		ch <- prometheus.MustNewConstMetric(m.d, m.t, m.v)
	}
}

func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}
