package ui

import (
	"cmp"
	"net/url"
	"slices"
	"strconv"

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

// searchFacets summarises the results shown (up to a page, newest
// first): the most frequent values of each facet field among them, as a
// sample of the matches. Counting a whole range from the indexes costs a
// walk per field over every distinct value (docs/performance.md): too slow
// for a page that reloads with every search. Each value links to the
// search narrowed to it.
func searchFacets(vm *pages.EventsVM) {
	narrow := func(field, value string) string {
		term := (&query.Term{Field: field, Op: query.OpEq, Value: value}).String()
		q := term
		if vm.Query != "" {
			q = "(" + vm.Query + ") AND " + term
		}
		return "/events?" + url.Values{"q": {q}, "from": {vm.From}, "to": {vm.To}}.Encode()
	}
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
}

func facet(field string, vs []appliance.ValueCount, narrow func(field, value string) string) pages.Facet {
	f := pages.Facet{Field: field}
	for _, v := range vs {
		f.Values = append(f.Values, pages.TopRow{Value: v.Value, Count: strconv.Itoa(v.Count), Href: narrow(field, v.Value)})
	}
	return f
}
