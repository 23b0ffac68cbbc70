package ui

import (
	"net/http"
	"net/url"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/detect"
	"github.com/minixdr/xdr/appliance/query"
	"github.com/minixdr/xdr/ui/pages"
)

func (s *Server) alertsPage(w http.ResponseWriter, r *http.Request) {
	svc, err := s.detection()
	if err != nil {
		s.pageFail(w, r, "alerts", err)
		return
	}
	form := r.URL.Query()
	vm := pages.AlertsVM{Chrome: chromeOf(r, "alerts"), Query: form.Get("q"),
		Empty: pages.EmptyState{Title: "No alerts", Body: "Alerts appear when enabled rules match incoming events. See the Rules page for what is detected, or widen the query."}}
	for _, sev := range append([]string{""}, detect.Severities...) {
		q, label := "severity:"+sev, sev
		if sev == "" {
			q, label = "", "all"
		}
		vm.Severities = append(vm.Severities, pages.Choice{Label: label, Href: "/alerts?" + url.Values{"q": {q}}.Encode(), Current: q == vm.Query})
	}
	status := http.StatusOK
	expr, err := query.Parse(vm.Query)
	var page detect.AlertPage
	if err != nil {
		err = appliance.Errorf(appliance.EINVALID, "%v", err)
	} else {
		page, err = svc.Alerts(r.Context(), detect.AlertQuery{Tenant: principalOf(r.Context()).Tenant, Expr: expr, Cursor: form.Get("cursor")})
	}
	if err != nil {
		status = statusOf(appliance.ErrorCode(err))
		vm.Error = appliance.ErrorMessage(err)
	}
	for _, a := range page.Alerts {
		row := pages.AlertRow{Time: showTime(a.Timestamp), Severity: a.Severity, Rule: a.RuleTitle,
			RuleURL: "/rules/" + url.PathEscape(a.RuleID), Source: a.Source,
			Techniques: techniqueTags(a.Attack), Entities: entityTags(a.Entities)}
		if a.Incident != "" {
			row.IncidentURL = "/incidents/" + url.PathEscape(a.Incident)
		}
		vm.Rows = append(vm.Rows, row)
	}
	if page.Next != "" {
		vm.NextURL = "/alerts?" + url.Values{"q": {vm.Query}, "cursor": {page.Next}}.Encode()
	}
	s.render(w, r, status, pages.Alerts(vm))
}
