package ui

import (
	"cmp"
	"context"
	"errors"
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

// searchFacets adds the most frequent values of each facet field; each
// links to the search narrowed to it.
//
// A search without a query gets them over its whole time range, from the
// event store's per-field counts (which cost the range's minutes, hours and
// days, not its events). The counts are kept per field, not per query, so
// a search with a query gets them among the matching events shown: a
// sample of the newest matches, and the page says so.
func (s *Server) searchFacets(ctx context.Context, vm *pages.EventsVM, req appliance.EventSearch) {
	narrow := func(field, value string) string {
		term := (&query.Term{Field: field, Op: query.OpEq, Value: value}).String()
		q := term
		if vm.Query != "" {
			q = "(" + vm.Query + ") AND " + term
		}
		return "/events?" + url.Values{"q": {q}, "from": {vm.From}, "to": {vm.To}}.Encode()
	}
	if req.Expr == nil {
		to := req.To
		if to.IsZero() {
			to = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC) // every stored event, whatever its clock said
		}
		sum, err := s.stats().Summary(ctx, req.Tenant, req.From, to, 1, facetFields, facetN)
		if err == nil {
			vm.FacetScope = "among all " + pages.Thousands(sum.Counts[0]) + " events of the time range"
			if req.From.IsZero() && req.To.IsZero() {
				vm.FacetScope = "among all " + pages.Thousands(sum.Counts[0]) + " events stored"
			}
			for i, f := range facetFields {
				vm.Facets = append(vm.Facets, facet(f, sum.Tops[i].Values, narrow))
			}
			return
		}
		// No counts (a store without them, or they failed): the sample below.
		if !errors.Is(err, errNoStats) {
			s.d.Log.Warn("search facets over the range", "err", err)
		}
	}
	vm.FacetScope = "among the " + pages.Thousands(len(vm.Rows)) + " newest matching events shown (a sample: counts over the whole range are kept per field, not per query)"
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
}

func facet(field string, vs []appliance.ValueCount, narrow func(field, value string) string) pages.Facet {
	f := pages.Facet{Field: field}
	for _, v := range vs {
		f.Values = append(f.Values, pages.TopRow{Value: v.Value, Count: strconv.Itoa(v.Count), Href: narrow(field, v.Value)})
	}
	return f
}
