package ui

import (
	"cmp"
	"context"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/query"
	"github.com/minixdr/xdr/ui/pages"
)

// facetFields are the fields the event search summarises, in order.
var facetFields = []string{"source", "event.action", "event.outcome", "user.name", "source.ip", "host.name"}

// facetN is how many values each facet lists.
const facetN = 5

// facetDefaultSpan is the range facets cover when the search has no bounds,
// so that their cost is bounded by a day's events, not the whole store.
const facetDefaultSpan = 24 * time.Hour

// rowValue reads a facet field from a results row.
func rowValue(r pages.EventRow, field string) string {
	switch field {
	case "source":
		return r.Source
	case "event.action":
		return r.Action
	case "event.outcome":
		return r.Outcome
	case "user.name":
		return r.User
	case "source.ip":
		return r.SourceIP
	case "host.name":
		return r.Host
	}
	return ""
}

// searchFacets summarises a search. Without a query they count the whole
// time range from the indexes; with one, the results shown (a sample of the
// matches, as the indexes cannot count a query's result set cheaply).
// Each value links to the search narrowed to it.
func (s *Server) searchFacets(ctx context.Context, tenant string, vm *pages.EventsVM, from, to time.Time) error {
	narrow := func(field, value string) string {
		term := (&query.Term{Field: field, Op: query.OpEq, Value: value}).String()
		q := term
		if vm.Query != "" {
			q = "(" + vm.Query + ") AND " + term
		}
		return "/events?" + url.Values{"q": {q}, "from": {vm.From}, "to": {vm.To}}.Encode()
	}
	if vm.Query != "" {
		vm.FacetScope = "in the " + strconv.Itoa(len(vm.Rows)) + " events shown"
		for _, f := range facetFields {
			counts := map[string]int{}
			for _, r := range vm.Rows {
				if v := rowValue(r, f); v != "" {
					counts[v]++
				}
			}
			vs := make([]appliance.ValueCount, 0, len(counts))
			for v, c := range counts {
				vs = append(vs, appliance.ValueCount{Value: v, Count: c})
			}
			slices.SortFunc(vs, func(a, b appliance.ValueCount) int {
				return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Value, b.Value))
			})
			vm.Facets = append(vm.Facets, facet(f, vs[:min(facetN, len(vs))], narrow))
		}
		return nil
	}
	vm.FacetScope = "in the time range"
	if from.IsZero() && to.IsZero() {
		// Whole minutes, so that reloads reuse the counts (statsTTL).
		to = s.d.Now().UTC().Truncate(time.Minute).Add(time.Minute)
		from = to.Add(-facetDefaultSpan)
		vm.FacetScope = "in the last 24 hours"
	}
	for _, f := range facetFields {
		top, err := s.stats().Top(ctx, tenant, f, from, to, facetN)
		if err != nil {
			return err
		}
		vm.Facets = append(vm.Facets, facet(f, top.Values, narrow))
	}
	return nil
}

func facet(field string, vs []appliance.ValueCount, narrow func(field, value string) string) pages.Facet {
	f := pages.Facet{Field: field}
	for _, v := range vs {
		f.Values = append(f.Values, pages.TopRow{Value: v.Value, Count: strconv.Itoa(v.Count), Href: narrow(field, v.Value)})
	}
	return f
}
