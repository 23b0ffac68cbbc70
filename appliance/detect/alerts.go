package detect

import (
	"sort"
	"strings"
	"time"

	"github.com/minixdr/xdr/appliance/intel"
	"github.com/minixdr/xdr/appliance/sigma"
)

// batch turns one batch's matches into stored alerts; the first error
// stops it.
type batch struct {
	e      *Engine
	st     State
	ts     *tenantState
	tenant string
	source string
	err    error

	// Incidents this batch changed, written once at the end: a burst of
	// alerts about one entity updates its incident many times.
	incidents []*Incident          // in the order first changed
	byID      map[string]*Incident // the same, by ID
	byKey     map[Entity]*Incident // the latest incident used for each key
}

// flush writes the incidents the batch changed.
func (b *batch) flush() error {
	if b.err != nil {
		return b.err
	}
	for _, inc := range b.incidents {
		if err := b.st.PutIncident(inc); err != nil {
			return err
		}
	}
	return nil
}

// IntelRuleID is the rule_id of threat-intel alerts.
const IntelRuleID = "threat-intel"

// maxEntities bounds the entities an incident lists.
const maxEntities = 32

func (b *batch) ruleAlert(r *sigma.Rule, ev *sigma.Event, t time.Time, eventIDs []string, groupKey string) {
	level := r.Level
	if SeverityRank(level) < 0 {
		level = "medium"
	}
	a := &Alert{
		ID:     hashID(b.tenant, "rule", r.ID, groupKey, strings.Join(eventIDs, ",")),
		RuleID: r.ID, RuleTitle: r.Title, Severity: level,
		Attack: r.Techniques(), Tactics: r.Tactics(), EventIDs: eventIDs, Timestamp: t, GroupKey: groupKey,
	}
	b.record(a, ev)
}

func (b *batch) intelAlert(hit intel.Hit, ev *sigma.Event, t time.Time, eventID string) {
	in := hit.Indicator
	sev := in.Severity
	if sev == "" {
		sev = "high"
	}
	ctx := &IntelContext{Indicator: in.ID, Type: string(in.Type), Value: in.Value, Source: in.Source, Name: in.Name,
		Description: in.Description, Labels: in.Labels, Field: hit.Field, Observed: hit.Value}
	if !in.ValidUntil.IsZero() {
		ctx.ValidUntil = in.ValidUntil.UTC().Format(time.RFC3339)
	}
	a := &Alert{
		ID:     hashID(b.tenant, "intel", in.ID, eventID),
		RuleID: IntelRuleID, RuleTitle: "Threat intel: " + string(in.Type) + " " + in.Value + " (" + in.Source + ")",
		Severity: sev, Attack: []string{}, EventIDs: []string{eventID}, Timestamp: t, Intel: ctx,
	}
	b.record(a, ev)
}

// record stores an alert once and files it into an incident.
func (b *batch) record(a *Alert, ev *sigma.Event) {
	if b.err != nil {
		return
	}
	a.Tenant, a.Source = b.tenant, b.source
	if a.Attack == nil {
		a.Attack = []string{}
	}
	exists, err := b.st.AlertExists(b.tenant, a.ID)
	if err != nil || exists {
		b.err = err
		return
	}
	for _, f := range entityFields {
		if v, ok := ev.Field(f.field); ok && v != "" {
			a.Entities = append(a.Entities, Entity{Type: f.typ, Value: v})
		}
	}
	inc, err := b.fileAlert(a)
	if err != nil {
		b.err = err
		return
	}
	a.Incident = inc.ID
	b.err = b.st.PutAlert(a)
}

// fileAlert finds or opens the incident an alert belongs to: the open
// incident of its first entity (source IP, else user, else host; else the
// rule itself) with an alert within IncidentWindow.
func (b *batch) fileAlert(a *Alert) (*Incident, error) {
	key := Entity{Type: "rule", Value: a.RuleID}
	if len(a.Entities) > 0 {
		key = a.Entities[0]
	}
	inc := b.byKey[key]
	if inc == nil || !inc.takes(a.Timestamp) {
		found, err := b.st.OpenIncident(b.tenant, key, a.Timestamp, IncidentWindow)
		if err != nil {
			return nil, err
		}
		inc = found
		if found != nil && b.byID[found.ID] != nil {
			inc = b.byID[found.ID] // this batch's newer version
		}
	}
	if inc == nil {
		inc = &Incident{
			ID: hashID(b.tenant, "incident", key.Type, key.Value, a.ID), Tenant: b.tenant, Status: StatusNew,
			Key: key, Created: a.Timestamp, Updated: a.Timestamp, LastAlert: a.Timestamp, Severity: a.Severity,
			Entities: []Entity{}, Attack: []string{}, Rules: []string{},
		}
	}
	inc.AlertCount++
	if a.Timestamp.Before(inc.Created) {
		inc.Created = a.Timestamp
	}
	if a.Timestamp.After(inc.LastAlert) {
		inc.LastAlert = a.Timestamp
	}
	if a.Timestamp.After(inc.Updated) {
		inc.Updated = a.Timestamp
	}
	for _, en := range a.Entities {
		if len(inc.Entities) < maxEntities && !containsEntity(inc.Entities, en) {
			inc.Entities = append(inc.Entities, en)
		}
	}
	inc.Attack = union(inc.Attack, a.Attack)
	before := len(inc.Rules)
	inc.Rules = union(inc.Rules, []string{a.RuleID})
	inc.Severity = rollUp(inc.Severity, a.Severity, before, len(inc.Rules))
	inc.Title = incidentTitle(inc, a)
	if b.byID == nil {
		b.byID, b.byKey = map[string]*Incident{}, map[Entity]*Incident{}
	}
	if b.byID[inc.ID] == nil {
		b.byID[inc.ID] = inc
		b.incidents = append(b.incidents, inc)
	}
	b.byKey[key] = inc
	return inc, nil
}

// takes reports whether an alert at t may join the incident: it is open
// and has an alert within IncidentWindow of t (State.OpenIncident's test).
func (inc *Incident) takes(t time.Time) bool {
	open := false
	for _, s := range OpenStatuses {
		open = open || inc.Status == s
	}
	return open && !inc.LastAlert.Before(t.Add(-IncidentWindow)) && !inc.Created.After(t.Add(IncidentWindow))
}

// rollUp is the incident's severity: its worst alert's, raised one level
// when a third distinct rule joins (independent detections agreeing on one
// entity make it likelier to be real).
func rollUp(current, alert string, rulesBefore, rules int) string {
	r := max(SeverityRank(current), SeverityRank(alert), 0)
	if rulesBefore < 3 && rules >= 3 && r < len(Severities)-1 {
		r++
	}
	return Severities[r]
}

func incidentTitle(inc *Incident, a *Alert) string {
	who := inc.Key.Value
	switch inc.Key.Type {
	case "ip":
		who = "from " + who
	case "user":
		who = "by user " + who
	case "host":
		who = "on host " + who
	case "rule":
		return a.RuleTitle
	}
	if len(inc.Rules) > 1 {
		return "Multiple detections " + who
	}
	return a.RuleTitle + " " + who
}

func containsEntity(list []Entity, e Entity) bool {
	for _, x := range list {
		if x == e {
			return true
		}
	}
	return false
}

// union merges b into a, sorted and without duplicates.
func union(a, b []string) []string {
	set := map[string]bool{}
	for _, s := range a {
		set[s] = true
	}
	for _, s := range b {
		set[s] = true
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}
