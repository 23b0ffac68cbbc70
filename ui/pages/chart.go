package pages

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Chart is a bar chart drawn as inline SVG on the server: no script, no
// style attributes (colours come from classes in app.css), and a data table
// beside it for screen readers and for copying.
type Chart struct {
	ID          string // unique on the page; prefixes the title and table ids
	Title, Desc string // the accessible name and a one-line summary
	Unit        string // of a value, e.g. "events/s"
	Bars        []Bar
	YMax        string // the label of the top grid line
	XLabels     []AxisLabel
	Rows        []ChartRow // the data table
	Legend      []LegendItem
}

// Bar is one rectangle in chart coordinates (ChartW × ChartH).
type Bar struct {
	X, Y, W, H float64
	Class      string // "bar" or "bar sev-high" …
	Tip        string // the tooltip (<title>)
}

// AxisLabel is a label under the x axis at X; Anchor is its SVG
// text-anchor (start, middle or end), so the edge labels stay inside.
type AxisLabel struct {
	X            float64
	Text, Anchor string
}

// ChartRow is one bucket in the data table.
type ChartRow struct {
	Label  string
	Values []string
}

// LegendItem names a series of a stacked chart.
type LegendItem struct{ Label, Class string }

// Chart geometry: the SVG's viewBox, the plot area inside it.
const (
	ChartW   = 720.0
	ChartH   = 200.0
	plotLeft = 56.0
	plotTop  = 24.0
	plotBot  = 172.0
)

// Series is one stacked layer of a chart.
type Series struct {
	Label, Class string
	Counts       []int
}

// StackedChart draws per-bucket counts of one or more series, stacked, for
// buckets of step starting at start. With perSecond the values shown are
// counts divided by the bucket's seconds (a rate); otherwise raw counts.
func StackedChart(id, title, unit string, start time.Time, step time.Duration, series []Series, perSecond bool) Chart {
	c := Chart{ID: id, Title: title, Unit: unit}
	if len(series) == 0 || len(series[0].Counts) == 0 {
		return c
	}
	n := len(series[0].Counts)
	scale := 1.0
	if perSecond && step >= time.Second {
		scale = 1 / step.Seconds()
	}
	totals := make([]float64, n)
	var sum float64
	for _, s := range series {
		for i, v := range s.Counts {
			totals[i] += float64(v) * scale
			sum += float64(v)
		}
	}
	top := niceCeil(slicesMax(totals))
	c.YMax = formatValue(top)
	plotW := ChartW - plotLeft
	slot := plotW / float64(n)
	barW := math.Max(slot*0.8, 1)
	for i := range n {
		x := plotLeft + float64(i)*slot + (slot-barW)/2
		y := plotBot
		from := start.Add(time.Duration(i) * step)
		row := ChartRow{Label: bucketLabel(from, step)}
		for _, s := range series {
			v := float64(s.Counts[i]) * scale
			row.Values = append(row.Values, formatValue(v))
			if v == 0 {
				continue
			}
			// At least a pixel, so a single event still shows.
			h := max(v/top*(plotBot-plotTop), 1)
			y -= h
			tip := fmt.Sprintf("%s: %s %s", row.Label, formatValue(v), unit)
			if len(series) > 1 {
				tip = fmt.Sprintf("%s: %s %s %s", row.Label, formatValue(v), s.Label, unit)
			}
			c.Bars = append(c.Bars, Bar{X: round1(x), Y: round1(y), W: round1(barW), H: round1(h), Class: "bar " + s.Class, Tip: tip})
		}
		c.Rows = append(c.Rows, row)
	}
	span := step * time.Duration(n)
	c.XLabels = []AxisLabel{
		{X: plotLeft, Text: axisTime(start, span), Anchor: "start"},
		{X: round1(plotLeft + plotW/2), Text: axisTime(start.Add(span/2), span), Anchor: "middle"},
		{X: ChartW, Text: axisTime(start.Add(span), span), Anchor: "end"},
	}
	if len(series) > 1 {
		for _, s := range series {
			c.Legend = append(c.Legend, LegendItem{Label: s.Label, Class: s.Class})
		}
	}
	peak := slicesMax(totals)
	c.Desc = fmt.Sprintf("%s in total; peak %s %s.", thousands(int(sum)), formatValue(peak), unit)
	return c
}

func slicesMax(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, x)
	}
	return m
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten (1 for nothing).
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// formatValue shows a count or rate: integers with separators, other
// values with three significant digits in plain notation ("0.00111").
func formatValue(v float64) string {
	switch {
	case v == math.Trunc(v) && v < 1e15:
		return thousands(int(v))
	case v >= 100:
		return thousands(int(math.Round(v)))
	}
	decimals := max(0, 2-int(math.Floor(math.Log10(v))))
	out := strconv.FormatFloat(v, 'f', decimals, 64)
	if strings.Contains(out, ".") {
		out = strings.TrimRight(strings.TrimRight(out, "0"), ".")
	}
	return out
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

// bucketLabel names a bucket by its start, precise enough for its width.
func bucketLabel(t time.Time, step time.Duration) string {
	t = t.UTC()
	if step >= 24*time.Hour {
		return t.Format("2006-01-02")
	}
	return t.Format("2006-01-02 15:04") + " UTC"
}

// axisTime is an x-axis label for a chart spanning span.
func axisTime(t time.Time, span time.Duration) string {
	t = t.UTC()
	if span > 48*time.Hour {
		return t.Format("Jan 2")
	}
	return t.Format("15:04")
}

// ChartViewBox is the SVG viewBox of every chart.
func chartViewBox() string {
	return "0 0 " + strconv.Itoa(int(ChartW)) + " " + strconv.Itoa(int(ChartH))
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
