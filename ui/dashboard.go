package ui

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/detect"
	"github.com/minixdr/xdr/appliance/ingest"
	"github.com/minixdr/xdr/appliance/query"
	"github.com/minixdr/xdr/ui/pages"
)

// dashRange is a time range the dashboard offers.
type dashRange struct {
	key, label string
	span       time.Duration
}

var dashRanges = []dashRange{
	{"1h", "last hour", time.Hour},
	{"24h", "last 24 hours", 24 * time.Hour},
	{"7d", "last 7 days", 7 * 24 * time.Hour},
	{"30d", "last 30 days", 30 * 24 * time.Hour},
}

// chartBuckets is the number of bars of a dashboard chart.
const chartBuckets = 48

// topN is how many values each top-entities table shows.
const topN = 10

// dashEntities are the fields of the top-entities tables.
var dashEntities = []struct{ field, title string }{
	{"source.ip", "Top source addresses"},
	{"user.name", "Top users"},
	{"host.name", "Top hosts"},
}

func pickRange(key string) dashRange {
	for _, r := range dashRanges {
		if r.key == key {
			return r
		}
	}
	return dashRanges[1]
}

func (s *Server) dashboardPage(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	rng := pickRange(r.URL.Query().Get("range"))
	vm := pages.DashboardVM{Chrome: chromeOf(r, "dashboard"), Range: rng.label}
	for _, o := range dashRanges {
		vm.Ranges = append(vm.Ranges, pages.Choice{Label: o.label, Href: "/dashboard?range=" + o.key, Current: o.key == rng.key})
	}
	status := http.StatusOK
	fail := func(err error) {
		status = statusOf(appliance.ErrorCode(err))
		s.d.Log.Error("dashboard", "err", err)
		vm.Error = "Some figures could not be read: " + appliance.ErrorMessage(err)
	}
	c, err := s.countEvents(r.Context(), p.Tenant, rng, s.d.Now().UTC())
	if err != nil {
		fail(err)
	}
	from, to, step := c.from, c.to, rng.span/chartBuckets
	for _, n := range c.counts {
		vm.Total += n
	}
	vm.Events = pages.StackedChart("events-chart", "Events per second, "+rng.label, "events/s", from, step,
		[]pages.Series{{Label: "events", Counts: c.counts}}, true)
	for i, e := range dashEntities {
		var top appliance.TopValues
		if i < len(c.tops) {
			top = c.tops[i]
		}
		tt := pages.TopTable{ID: "top-" + strings.ReplaceAll(e.field, ".", "-"), Title: e.title, Field: e.field, Partial: top.Partial}
		for _, v := range top.Values {
			tt.Rows = append(tt.Rows, pages.TopRow{Value: v.Value, Count: strconv.Itoa(v.Count), Href: searchURL(e.field, v.Value, from, to)})
		}
		vm.Entities = append(vm.Entities, tt)
	}
	if tv, ok := s.d.Events.(triageViews); ok {
		if err := s.dashboardDetection(r, tv, &vm, from, to, step); err != nil {
			fail(err)
		}
	}
	if s.d.IngestHealth != nil {
		vm.Ingest, vm.IngestErrors = ingestRows(visibleHealth(s.d.IngestHealth.Health(), p))
	}
	if vm.Total == 0 && vm.Error == "" {
		// Nothing in the range: tell a new appliance how to send events.
		if newest, err := s.d.Events.Search(r.Context(), appliance.EventSearch{Tenant: p.Tenant, Limit: 1}); err == nil && len(newest.Events) == 0 {
			e := emptyState(false, r)
			vm.Empty = &e
		}
	}
	s.render(w, r, status, pages.Dashboard(vm))
}

// dashCounts are the event counts of one dashboard view.
type dashCounts struct {
	from, to time.Time // the range counted, on whole minutes
	counts   []int     // events per bucket
	tops     []appliance.TopValues
}

// countEvents counts a dashboard view's events: per bucket and the top
// entities, over whole buckets ending at the minute after now. The event
// store keeps counts per minute, hour and day (its rollups), so this costs
// the range's buckets, not its events: every view counts afresh.
func (s *Server) countEvents(ctx context.Context, tenant string, rng dashRange, now time.Time) (dashCounts, error) {
	c := dashCounts{to: now.Truncate(time.Minute).Add(time.Minute)}
	c.from = c.to.Add(-rng.span)
	fields := make([]string, len(dashEntities))
	for i, e := range dashEntities {
		fields[i] = e.field
	}
	sum, err := s.stats().Summary(ctx, tenant, c.from, c.to.Add(-time.Nanosecond), chartBuckets, fields, topN)
	c.counts, c.tops = sum.Counts, sum.Tops
	if c.counts == nil {
		c.counts = make([]int, chartBuckets)
	}
	return c, err
}

// searchURL is the event search for field = value within [from, to].
func searchURL(field, value string, from, to time.Time) string {
	q := url.Values{"q": {(&query.Term{Field: field, Op: query.OpEq, Value: value}).String()}}
	if !from.IsZero() {
		q.Set("from", from.UTC().Format(time.RFC3339))
	}
	if !to.IsZero() {
		q.Set("to", to.UTC().Format(time.RFC3339))
	}
	return "/events?" + q.Encode()
}

// stats are the event counts of the dashboard and of the search facets
// without a query: the event reader's own, when it keeps them (the real
// store does).
func (s *Server) stats() appliance.EventStats {
	if st, ok := s.d.Events.(appliance.EventStats); ok {
		return st
	}
	return noStats{}
}

// noStats stands in when the server has no event statistics.
type noStats struct{}

var errNoStats = appliance.Errorf(appliance.EUNAVAILABLE, "event statistics are not available on this node")

func (noStats) Histogram(context.Context, string, time.Time, time.Time, int) ([]int, error) {
	return nil, errNoStats
}

func (noStats) Top(context.Context, string, string, time.Time, time.Time, int) (appliance.TopValues, error) {
	return appliance.TopValues{}, errNoStats
}

func (noStats) Summary(context.Context, string, time.Time, time.Time, int, []string, int) (appliance.Summary, error) {
	return appliance.Summary{}, errNoStats
}

// maxIngestErrors is how many recent syslog errors the dashboard lists.
const maxIngestErrors = 10

// ingestRows shows a node's ingest accounting: a row per source, then per
// syslog listener (with its latest error), and the latest syslog errors.
func ingestRows(h ingest.Health) ([]pages.IngestRow, []pages.IngestError) {
	rows := []pages.IngestRow{}
	row := func(name string, c ingest.Counts, last *time.Time) pages.IngestRow {
		r := pages.IngestRow{Source: name, Accepted: strconv.FormatUint(c.Accepted, 10), Rejected: strconv.FormatUint(c.Rejected, 10),
			Dropped: strconv.FormatUint(c.Dropped, 10), LastEvent: "never", Failing: c.Rejected+c.Dropped > 0}
		if last != nil {
			r.LastEvent = showTime(*last)
		}
		return r
	}
	for _, src := range h.Sources {
		rows = append(rows, row(src.Source, src.Counts, src.LastEvent))
	}
	if h.Syslog == nil {
		return rows, nil
	}
	lastErr := map[string]string{}
	for _, e := range h.Syslog.RecentErrors { // oldest first: the last one wins
		lastErr[e.Listener] = e.Reason
	}
	for _, l := range h.Syslog.Listeners {
		name := l.Transport + "://" + l.Address
		r := row("syslog listener "+name+" (tenant "+l.Tenant+")", l.Counts, l.LastMessage)
		r.LastError = lastErr[name]
		rows = append(rows, r)
	}
	var errs []pages.IngestError
	for i := len(h.Syslog.RecentErrors) - 1; i >= 0 && len(errs) < maxIngestErrors; i-- {
		e := h.Syslog.RecentErrors[i]
		errs = append(errs, pages.IngestError{Time: showTime(e.Time), Listener: e.Listener, Reason: e.Reason})
	}
	return rows, errs
}

// triageViews are the counts and listings of detection state the pages
// read beside the detection service; the store implements them.
type triageViews interface {
	IncidentList(ctx context.Context, f appliance.IncidentFilter) ([]detect.Incident, int, error)
	OpenIncidentCounts(ctx context.Context, tenant string) (map[string]int, error)
	AlertHistogram(ctx context.Context, tenant string, from, to time.Time, buckets int) (map[string][]int, error)
	AlertTechniqueCounts(ctx context.Context, tenant string, from, to time.Time) (map[string]int, error)
}

// dashboardDetection adds alerts by severity over time and the open
// incidents by severity.
func (s *Server) dashboardDetection(r *http.Request, tv triageViews, vm *pages.DashboardVM, from, to time.Time, step time.Duration) error {
	tenant := principalOf(r.Context()).Tenant
	hist, err := tv.AlertHistogram(r.Context(), tenant, from, to, chartBuckets)
	if err != nil {
		return err
	}
	var series []pages.Series
	for i := len(detect.Severities) - 1; i >= 0; i-- { // most severe at the bottom of each stack
		sev := detect.Severities[i]
		counts := hist[sev]
		if counts == nil {
			counts = make([]int, chartBuckets)
		}
		series = append(series, pages.Series{Label: sev, Class: "sev-" + sev, Counts: counts})
	}
	alerts := pages.StackedChart("alerts-chart", "Alerts by severity, "+vm.Range, "alerts", from, step, series, false)
	vm.Alerts = &alerts
	open, err := tv.OpenIncidentCounts(r.Context(), tenant)
	if err != nil {
		return err
	}
	vm.Open = []pages.SevCount{}
	for i := len(detect.Severities) - 1; i >= 0; i-- {
		sev := detect.Severities[i]
		vm.Open = append(vm.Open, pages.SevCount{Severity: sev, Count: strconv.Itoa(open[sev]),
			Href: "/incidents?" + url.Values{"status": {"open"}, "severity": {sev}}.Encode()})
	}
	return nil
}
