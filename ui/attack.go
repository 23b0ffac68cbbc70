package ui

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/minixdr/xdr/appliance/attack"
	"github.com/minixdr/xdr/appliance/detect"
	"github.com/minixdr/xdr/ui/pages"
)

// attackPage draws the Enterprise matrix: a column per tactic with its
// techniques (sub-techniques count for their parent), marked when an
// enabled rule is tagged with them and with the alerts they had in the
// chosen range.
func (s *Server) attackPage(w http.ResponseWriter, r *http.Request) {
	svc, err := s.detection()
	if err != nil {
		s.pageFail(w, r, "attack", err)
		return
	}
	tenant := principalOf(r.Context()).Tenant
	rng := pickRange(r.URL.Query().Get("range"))
	to := s.d.Now().UTC()
	from := to.Add(-rng.span)
	enabled := true
	rules, err := svc.Reader().Rules(r.Context(), tenant, detect.RuleFilter{Enabled: &enabled})
	if err != nil {
		s.pageFail(w, r, "attack", err)
		return
	}
	covered := map[string]bool{}
	for _, ru := range rules {
		for _, id := range ru.Attack {
			covered[parentID(id)] = true
		}
	}
	fired := map[string]int{}
	if tv, ok := s.d.Events.(triageViews); ok {
		counts, err := tv.AlertTechniqueCounts(r.Context(), tenant, from, to)
		if err != nil {
			s.pageFail(w, r, "attack", err)
			return
		}
		for id, n := range counts {
			fired[parentID(id)] += n
		}
	}
	vm := pages.AttackVM{Chrome: chromeOf(r, "attack"), Range: rng.label}
	for _, o := range dashRanges {
		vm.Ranges = append(vm.Ranges, pages.Choice{Label: o.label, Href: "/attack?range=" + o.key, Current: o.key == rng.key})
	}
	cat := attack.Enterprise()
	byTactic := map[string][]attack.Technique{}
	total, nCovered, nFired := 0, 0, 0
	for _, t := range cat.Techniques() {
		if t.Parent != "" {
			continue
		}
		total++
		if covered[t.ID] {
			nCovered++
		}
		if fired[t.ID] > 0 {
			nFired++
		}
		for _, tac := range t.Tactics {
			byTactic[tac] = append(byTactic[tac], t)
		}
	}
	for _, tac := range cat.Tactics() {
		col := pages.AttackColumn{ID: tac.ID, Name: tac.Name}
		ts := byTactic[tac.Shortname]
		slices.SortFunc(ts, func(a, b attack.Technique) int { return strings.Compare(a.Name, b.Name) })
		for _, t := range ts {
			c := pages.AttackCell{ID: t.ID, Name: t.Name, Covered: covered[t.ID],
				URL: "/alerts?" + url.Values{"q": {"attack:" + t.ID + "*"}}.Encode()}
			if n := fired[t.ID]; n > 0 {
				c.Fired = strconv.Itoa(n)
			}
			col.Techniques = append(col.Techniques, c)
		}
		vm.Columns = append(vm.Columns, col)
	}
	vm.Total, vm.Covered, vm.Fired = strconv.Itoa(total), strconv.Itoa(nCovered), strconv.Itoa(nFired)
	s.render(w, r, http.StatusOK, pages.Attack(vm))
}

// parentID is the technique of a sub-technique ("T1110.001" → "T1110").
func parentID(id string) string {
	id = strings.ToUpper(id)
	if i := strings.IndexByte(id, '.'); i > 0 {
		return id[:i]
	}
	return id
}
