package ui

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/detect"
	"github.com/minixdr/xdr/ui/pages"
)

// incidentsPerPage is the incidents list's page size.
const incidentsPerPage = 50

// incidentSorts are the incidents list's orders, with their labels.
var incidentSorts = []pages.Option{
	{Value: "updated", Label: "Last updated"}, {Value: "severity", Label: "Severity"},
	{Value: "created", Label: "First alert"}, {Value: "alerts", Label: "Alert count"},
}

func (s *Server) incidentsPage(w http.ResponseWriter, r *http.Request) {
	tv, ok := s.d.Events.(triageViews)
	if !ok {
		s.pageFail(w, r, "incidents", appliance.Errorf(appliance.EUNAVAILABLE, "Incidents are not available on this node."))
		return
	}
	form := r.URL.Query()
	f := appliance.IncidentFilter{Tenant: principalOf(r.Context()).Tenant, Status: form.Get("status"), Severity: form.Get("severity"),
		Assignee: form.Get("assignee"), Sort: form.Get("sort"), Limit: incidentsPerPage}
	if _, set := form["status"]; !set {
		f.Status = "open" // what an analyst works on
	}
	if f.Sort == "" {
		f.Sort = "updated"
	}
	pageNo, _ := strconv.Atoi(form.Get("page"))
	pageNo = max(pageNo, 1)
	f.Offset = (pageNo - 1) * incidentsPerPage
	vm := pages.IncidentsVM{Chrome: chromeOf(r, "incidents"), Status: f.Status, Severity: f.Severity, Assignee: f.Assignee, Sort: f.Sort,
		Statuses:   append([]pages.Option{{Value: "open", Label: "open (new, triaged, contained)", Selected: f.Status == "open"}}, options(detect.Statuses, "any", f.Status)...),
		Severities: options(detect.Severities, "any", f.Severity),
		Empty:      pages.EmptyState{Title: "No incidents match", Body: "Incidents group alerts about one entity. Change the filter (status “any” shows closed ones too), or see the Alerts page."},
		SortLinks:  map[string]pages.SortLink{}}
	for _, o := range incidentSorts {
		o.Selected = o.Value == f.Sort
		vm.Sorts = append(vm.Sorts, o)
	}
	link := func(sort string, page int) string {
		v := url.Values{"status": {f.Status}, "severity": {f.Severity}, "assignee": {f.Assignee}, "sort": {sort}}
		if page > 1 {
			v.Set("page", strconv.Itoa(page))
		}
		return "/incidents?" + v.Encode()
	}
	for _, o := range incidentSorts {
		l := pages.SortLink{Href: link(o.Value, 1)}
		if o.Value == f.Sort {
			l.AriaSort = "descending"
		}
		vm.SortLinks[o.Value] = l
	}
	incs, total, err := tv.IncidentList(r.Context(), f)
	status := http.StatusOK
	if err != nil {
		status = statusOf(appliance.ErrorCode(err))
		vm.Error = appliance.ErrorMessage(err)
	}
	pagesTotal := max((total+incidentsPerPage-1)/incidentsPerPage, 1)
	vm.Total, vm.Page = strconv.Itoa(total), fmt.Sprintf("page %d of %d", pageNo, pagesTotal)
	if pageNo > 1 {
		vm.PrevURL = link(f.Sort, pageNo-1)
	}
	if pageNo < pagesTotal {
		vm.NextURL = link(f.Sort, pageNo+1)
	}
	for _, inc := range incs {
		vm.Rows = append(vm.Rows, pages.IncidentRow{ID: inc.ID, URL: "/incidents/" + url.PathEscape(inc.ID), Title: inc.Title,
			Severity: inc.Severity, Status: inc.Status, Assignee: inc.Assignee, Alerts: strconv.Itoa(inc.AlertCount),
			Created: showTime(inc.Created), Updated: showTime(inc.Updated)})
	}
	s.render(w, r, status, pages.Incidents(vm))
}

// maxTimelineEvents bounds the events an incident page reads for its
// timeline; the evidence export has them all (up to maxEvidenceEvents).
const maxTimelineEvents = 200

func (s *Server) incidentPage(w http.ResponseWriter, r *http.Request) {
	vm := pages.IncidentVM{}
	if r.URL.Query().Get("saved") != "" {
		vm.Notice = "Saved."
	}
	s.showIncident(w, r, http.StatusOK, vm)
}

// showIncident renders the incident of the request's path around vm (its
// notice or error).
func (s *Server) showIncident(w http.ResponseWriter, r *http.Request, status int, vm pages.IncidentVM) {
	svc, err := s.detection()
	var inc *detect.Incident
	if err == nil {
		inc, err = svc.Incident(r.Context(), principalOf(r.Context()).Tenant, r.PathValue("id"))
	}
	if err != nil {
		s.pageFail(w, r, "incidents", err)
		return
	}
	p := principalOf(r.Context())
	vm.Chrome, vm.ID, vm.Title, vm.Severity, vm.Status, vm.Assignee = chromeOf(r, "incidents"), inc.ID, inc.Title, inc.Severity, inc.Status, inc.Assignee
	vm.Created, vm.Updated, vm.LastAlert, vm.Alerts = showTime(inc.Created), showTime(inc.Updated), showTime(inc.LastAlert), strconv.Itoa(inc.AlertCount)
	vm.Entities, vm.Techniques = entityTags(inc.Entities), techniqueTags(inc.Attack)
	vm.Statuses = options(detect.Statuses, "", inc.Status)[1:]
	vm.EvidenceURL = "/incidents/" + url.PathEscape(inc.ID) + "/evidence"
	vm.CanEdit = canTriage(p)
	for _, c := range inc.Comments {
		vm.Comments = append(vm.Comments, pages.CommentItem{Time: showTime(c.Time), Author: c.Author, Text: c.Text})
	}
	vm.Timeline, vm.TimelineNote = s.timeline(r, inc)
	s.render(w, r, status, pages.Incident(vm))
}

type timelineEntry struct {
	at   time.Time
	item pages.TimelineItem
}

// timeline merges an incident's alerts and their events by time.
func (s *Server) timeline(r *http.Request, inc *detect.Incident) ([]pages.TimelineItem, string) {
	var entries []timelineEntry
	var note string
	seen := map[string]bool{}
	for _, a := range inc.Alerts {
		entries = append(entries, timelineEntry{a.Timestamp, pages.TimelineItem{Time: showTime(a.Timestamp), Kind: "alert",
			Label: a.RuleTitle, Severity: a.Severity, URL: "/rules/" + url.PathEscape(a.RuleID)}})
		for _, id := range a.EventIDs {
			if seen[id] {
				continue
			}
			seen[id] = true
			if len(seen) > maxTimelineEvents {
				note = fmt.Sprintf("Showing the events of the first %d; the evidence export has them all.", maxTimelineEvents)
				continue
			}
			doc, ok := s.eventDoc(r.Context(), principalOf(r.Context()).Tenant, id)
			if !ok {
				continue
			}
			var m map[string]any
			if json.Unmarshal(doc, &m) != nil {
				continue
			}
			at, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(m["@timestamp"]))
			label := cmp.Or(str(m["event.action"]), str(m["source"]), "event")
			entries = append(entries, timelineEntry{at, pages.TimelineItem{Time: showTime(at), Kind: "event", Label: label,
				Detail: pages.Truncate(cmp.Or(str(m["message"]), str(m["process.command_line"])), 200), URL: "/events/" + url.PathEscape(id)}})
		}
	}
	if len(inc.Alerts) < inc.AlertCount {
		note = fmt.Sprintf("Showing the latest %d of %d alerts. ", len(inc.Alerts), inc.AlertCount) + note
	}
	slices.SortStableFunc(entries, func(a, b timelineEntry) int { return a.at.Compare(b.at) })
	items := make([]pages.TimelineItem, len(entries))
	for i, e := range entries {
		items[i] = e.item
	}
	return items, note
}

// eventDoc reads one of the tenant's events by its ID string.
func (s *Server) eventDoc(ctx context.Context, tenant, id string) ([]byte, bool) {
	eid, err := appliance.ParseEventID(id)
	if err != nil {
		return nil, false
	}
	doc, err := s.d.Events.Get(ctx, tenant, eid)
	return doc, err == nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func (s *Server) incidentUpdate(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	if !canTriage(p) {
		s.pageFail(w, r, "incidents", appliance.Errorf(appliance.EFORBIDDEN, "Read-only analysts cannot change incidents."))
		return
	}
	svc, err := s.detection()
	if err != nil {
		s.pageFail(w, r, "incidents", err)
		return
	}
	status, assignee := r.PostFormValue("status"), r.PostFormValue("assignee")
	patch := detect.IncidentPatch{Status: &status, Assignee: &assignee, Comment: r.PostFormValue("comment")}
	id := r.PathValue("id")
	if _, err := svc.UpdateIncident(r.Context(), p.Tenant, id, p.User, patch); err != nil {
		if appliance.ErrorCode(err) == appliance.ENOTFOUND {
			s.pageFail(w, r, "incidents", err)
			return
		}
		s.showIncident(w, r, statusOf(appliance.ErrorCode(err)), pages.IncidentVM{Error: appliance.ErrorMessage(err)})
		return
	}
	http.Redirect(w, r, "/incidents/"+url.PathEscape(id)+"?saved=1", http.StatusSeeOther)
}
