package pages_test

import (
	"strings"
	"testing"
	"time"

	"github.com/minixdr/xdr/ui/pages"
)

func sampleDashboard(c pages.Chrome, value string) pages.DashboardVM {
	start := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	alerts := pages.StackedChart("alerts-chart", "Alerts", "alerts", start, time.Hour,
		[]pages.Series{{Label: "high", Class: "sev-high", Counts: []int{1, 0, 2}}, {Label: "low", Class: "sev-low", Counts: []int{0, 3, 1}}}, false)
	return pages.DashboardVM{
		Chrome: c, Range: "last 24 hours",
		Ranges: []pages.Choice{{Label: "last hour", Href: "/dashboard?range=1h"}, {Label: "last 24 hours", Href: "/dashboard?range=24h", Current: true}},
		Events: pages.StackedChart("events-chart", "Events per second", "events/s", start, time.Hour, []pages.Series{{Label: "events", Counts: []int{3600, 7200, 0}}}, true),
		Alerts: &alerts,
		Total:  10800,
		Entities: []pages.TopTable{{ID: "top-source-ip", Title: "Top source addresses", Field: "source.ip",
			Rows: []pages.TopRow{{Value: value, Count: "7", Href: "/events?q=x"}}, Partial: true}},
		Ingest: []pages.IngestRow{{Source: value, Accepted: "10", Rejected: "2", LastEvent: "now", LastError: value, Failing: true}},
		Open:   []pages.SevCount{{Severity: "high", Count: "2", Href: "/incidents?severity=high"}},
	}
}

func TestDashboard(t *testing.T) {
	html := render(t, pages.Dashboard(sampleDashboard(chrome, "203.0.113.9")))
	wantIn(t, html,
		`<svg class="chart-svg" viewBox="0 0 720 200" role="img" aria-labelledby="events-chart-svg-title events-chart-desc"`,
		`<title id="events-chart-svg-title">Events per second</title>`,
		// 3600 events in an hour is 1/s, 7200 is 2/s: the top of the axis is 2.
		`text-anchor="end">2</text>`, `>events/s</text>`,
		"10,800 in total; peak 2 events/s.",
		`<a href="/dashboard?range=24h" aria-current="true">`,
		`<caption id="top-source-ip">Top source addresses</caption>`,
		`<a href="/events?q=x">203.0.113.9</a>`,
		"Counted from part of the range only",
		`class="bar sev-high"`, `class="swatch sev-low"`,
		`<span class="badge sev-high">high</span>`,
		`class="num tnum outcome-failure"`,
	)
	if n := strings.Count(html, "<rect "); n != 2+4 {
		t.Errorf("%d bars, want 2 (events; the empty hour has none) + 4 (alerts)", n)
	}
}

func TestStackedChartGeometry(t *testing.T) {
	start := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	c := pages.StackedChart("c", "T", "n", start, time.Hour, []pages.Series{
		{Label: "a", Class: "x", Counts: []int{5, 0, 10}},
		{Label: "b", Class: "y", Counts: []int{5, 0, 0}},
	}, false)
	if c.YMax != "10" {
		t.Errorf("YMax %q, want the peak stack 10 rounded to 10", c.YMax)
	}
	if len(c.Bars) != 3 {
		t.Fatalf("%d bars, want 3 (zero values draw nothing): %+v", len(c.Bars), c.Bars)
	}
	// Bucket 0 stacks a (5) under b (5): together as tall as bucket 2's 10.
	a0, b0, a2 := c.Bars[0], c.Bars[1], c.Bars[2]
	if a0.H+b0.H != a2.H || b0.Y+b0.H != a0.Y || a0.Y+a0.H != a2.Y+a2.H {
		t.Errorf("stack geometry: a0 %+v b0 %+v a2 %+v", a0, b0, a2)
	}
	if len(c.Rows) != 3 || c.Rows[1].Label != "2024-05-01 01:00 UTC" || strings.Join(c.Rows[0].Values, ",") != "5,5" {
		t.Errorf("data table rows %+v", c.Rows)
	}
	if len(c.Legend) != 2 {
		t.Errorf("legend %+v, want both series", c.Legend)
	}
	// Low rates get a readable axis and visible bars: 2 events in an hour.
	low := pages.StackedChart("l", "T", "events/s", start, time.Hour, []pages.Series{{Counts: []int{2, 0}}}, true)
	if low.YMax != "0.001" || len(low.Bars) != 1 || low.Bars[0].H < 1 || low.Rows[0].Values[0] != "0.000556" {
		t.Errorf("low rate: YMax %q, bars %+v, rows %+v", low.YMax, low.Bars, low.Rows)
	}
	if empty := pages.StackedChart("e", "T", "n", start, time.Hour, nil, false); len(empty.Bars) != 0 {
		t.Errorf("a chart without series has bars: %+v", empty.Bars)
	}
}

func wantIn(t *testing.T, html string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(html, s) {
			t.Errorf("page lacks %q", s)
		}
	}
}
