package ui_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/minixdr/xdr/internal/shareddata"
)

const apiTestRule = `title: Root login on the honeypot
id: 0d7f3e52-9a1b-4c3d-8e5f-6a7b8c9d0e1f
status: test
level: critical
logsource:
  product: cowrie
detection:
  selection:
    event.action: login-success
    user.name: root
  condition: selection
tags:
  - attack.initial-access
  - attack.t1078.003
`

func readSample(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(shareddata.Path(t, path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// waitFor polls the API until cond holds on the JSON answer (detection is
// part of the ingest commit, so this is immediate; the poll only guards
// against a slow machine).
func waitFor(t *testing.T, e *env, path string, creds []string, cond func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := e.do("GET", path, "", creds...)
		if r.status == http.StatusOK {
			if m := r.json(t); cond(m) {
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s never satisfied the condition; last %d %s", path, r.status, r.body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAPIRules(t *testing.T) {
	e, c := newAPIEnv(t)
	id := "0d7f3e52-9a1b-4c3d-8e5f-6a7b8c9d0e1f"
	runScenarios(t, e, c, []apiScenario{
		{name: "add/analyst forbidden", method: "POST", path: "/api/v1/rules", auth: "analyst", body: apiTestRule,
			status: 403, wantBody: []string{"security_admin"}},
		{name: "add/bad yaml", method: "POST", path: "/api/v1/rules", auth: "secadmin", body: "title: [",
			status: 400, wantBody: []string{"document 1"}},
		{name: "add/unmapped logsource", method: "POST", path: "/api/v1/rules", auth: "secadmin",
			body: strings.Replace(apiTestRule, "product: cowrie", "product: aws", 1), status: 400, wantBody: []string{"aws"}},
		{name: "add/ok", method: "POST", path: "/api/v1/rules", auth: "secadmin", body: apiTestRule,
			status: 201, wantJSON: map[string]any{"id": id, "level": "critical", "status": "test", "enabled": true, "builtin": false,
				"attack": []any{"T1078.003"}, "tactics": []any{"initial-access"}}},
		{name: "list/by status", method: "GET", path: "/api/v1/rules?status=test", auth: "analyst", status: 200,
			wantBody: []string{id}},
		{name: "list/by level shows builtin", method: "GET", path: "/api/v1/rules?level=high&enabled=true", auth: "analyst", status: 200,
			wantBody: []string{"SSH brute force", `"builtin":true`}},
		{name: "list/bad enabled", method: "GET", path: "/api/v1/rules?enabled=maybe", auth: "analyst", status: 400},
		{name: "get/one with source", method: "GET", path: "/api/v1/rules/" + id, auth: "analyst", status: 200,
			wantBody: []string{"login-success"}},
		{name: "get/other tenant", method: "GET", path: "/api/v1/rules/" + id, auth: "acme-api", status: 404},
		{name: "patch/disable", method: "PATCH", path: "/api/v1/rules/" + id, auth: "secadmin", body: `{"enabled":false}`,
			status: 200, wantJSON: map[string]any{"enabled": false}},
		{name: "patch/no field", method: "PATCH", path: "/api/v1/rules/" + id, auth: "secadmin", body: `{}`, status: 400},
		{name: "patch/unknown rule", method: "PATCH", path: "/api/v1/rules/nope", auth: "secadmin", body: `{"enabled":true}`, status: 404},
		{name: "list/disabled", method: "GET", path: "/api/v1/rules?enabled=false", auth: "analyst", status: 200, wantBody: []string{id}},
		{name: "delete/ok", method: "DELETE", path: "/api/v1/rules/" + id, auth: "secadmin", status: 204},
		{name: "delete/again", method: "DELETE", path: "/api/v1/rules/" + id, auth: "secadmin", status: 404},
	})
}

func TestAPIAlertsAndIncidents(t *testing.T) {
	e, c := newAPIEnv(t)
	if r := e.do("POST", "/api/v1/rules", apiTestRule, bearer(c.secAdmin)...); r.status != http.StatusCreated {
		t.Fatalf("add rule: %d %s", r.status, r.body)
	}
	body := readSample(t, "testdata/samples/cowrie/cowrie_scenarioA.ndjson")
	if r := e.do("POST", "/api/v1/ingest/cowrie", body, bearer(c.ingest)...); r.status != http.StatusOK {
		t.Fatalf("ingest: %d %s", r.status, r.body)
	}
	api := bearer(c.analyst)
	m := waitFor(t, e, "/api/v1/alerts?q="+url.QueryEscape(`rule_title:"Root login on the honeypot"`), api, func(m map[string]any) bool {
		return len(m["alerts"].([]any)) > 0
	})
	a := m["alerts"].([]any)[0].(map[string]any)
	for _, k := range []string{"id", "tenant", "rule_id", "rule_title", "severity", "attack", "event_ids", "@timestamp", "incident"} {
		if _, ok := a[k]; !ok {
			t.Errorf("alert lacks %q: %v", k, a)
		}
	}
	if a["severity"] != "critical" || a["tenant"] != "default" || a["techniques"].([]any)[0].(map[string]any)["name"] != "Local Accounts" {
		t.Errorf("alert %v", a)
	}
	// The event behind the alert is readable.
	ev := a["event_ids"].([]any)[0].(string)
	if r := e.do("GET", "/api/v1/events/"+ev, "", api...); r.status != http.StatusOK || !strings.Contains(r.body, "login") {
		t.Errorf("alert's event: %d %s", r.status, r.body)
	}
	// source.ip names the alert's ip entity: every alert listed has it.
	var ip string
	for _, en := range a["entities"].([]any) {
		if en := en.(map[string]any); en["type"] == "ip" {
			ip = en["value"].(string)
		}
	}
	if ip == "" {
		t.Fatalf("alert without an ip entity: %v", a)
	}
	byIP := e.do("GET", "/api/v1/alerts?q="+url.QueryEscape("severity:CRITICAL AND source.ip:"+ip), "", api...).json(t)["alerts"].([]any)
	if len(byIP) == 0 {
		t.Fatalf("no alert of source.ip:%s", ip)
	}
	for _, x := range byIP {
		if x := x.(map[string]any); x["severity"] != "critical" || !strings.Contains(fmt.Sprint(x["entities"]), ip) {
			t.Errorf("source.ip:%s listed %v", ip, x)
		}
	}
	// Paging: one at a time, no repeats.
	p1 := e.do("GET", "/api/v1/alerts?limit=1", "", api...).json(t)
	p2 := e.do("GET", "/api/v1/alerts?limit=1&cursor="+url.QueryEscape(p1["next"].(string)), "", api...).json(t)
	if p1["alerts"].([]any)[0].(map[string]any)["id"] == p2["alerts"].([]any)[0].(map[string]any)["id"] {
		t.Error("second page repeats the first")
	}

	incID := a["incident"].(string)
	runScenarios(t, e, c, []apiScenario{
		{name: "incidents/list new", method: "GET", path: "/api/v1/incidents?status=new", auth: "analyst", status: 200,
			wantBody: []string{incID, `"alert_count"`, `"entities"`}},
		{name: "incidents/bad status", method: "GET", path: "/api/v1/incidents?status=closed", auth: "analyst", status: 400},
		{name: "incidents/list open", method: "GET", path: "/api/v1/incidents?status=open&limit=1000", auth: "analyst", status: 200,
			wantBody: []string{incID}},
		{name: "incidents/bad cursor", method: "GET", path: "/api/v1/incidents?cursor=zzz", auth: "analyst", status: 400},
		{name: "alerts/other tenant by entity", method: "GET", path: "/api/v1/alerts?q=" + url.QueryEscape("source.ip:"+ip), auth: "acme-api",
			status: 200, wantJSON: map[string]any{"alerts": []any{}}},
		{name: "incidents/one with alerts", method: "GET", path: "/api/v1/incidents/" + incID, auth: "analyst", status: 200,
			wantJSON: map[string]any{"id": incID, "status": "new", "severity": "critical", "tenant": "default"},
			wantBody: []string{`"alerts":[{`, "Root login on the honeypot"}},
		{name: "incidents/other tenant", method: "GET", path: "/api/v1/incidents/" + incID, auth: "acme-api", status: 404},
		{name: "incidents/other tenant lists none", method: "GET", path: "/api/v1/incidents", auth: "acme-api", status: 200,
			wantJSON: map[string]any{"incidents": []any{}, "next": ""}},
		{name: "alerts/other tenant lists none", method: "GET", path: "/api/v1/alerts", auth: "acme-api", status: 200,
			wantJSON: map[string]any{"alerts": []any{}}},
		{name: "alerts/bad query", method: "GET", path: "/api/v1/alerts?q=" + url.QueryEscape("a:(("), auth: "analyst", status: 400},
		{name: "alerts/bad cursor", method: "GET", path: "/api/v1/alerts?cursor=zzz", auth: "analyst", status: 400},
		{name: "patch/triage", method: "PATCH", path: "/api/v1/incidents/" + incID, auth: "analyst",
			body: `{"status":"triaged","assignee":"alice","comment":"looking"}`, status: 200,
			wantJSON: map[string]any{"status": "triaged", "assignee": "alice"}, wantBody: []string{`"text":"looking"`, `"author":"token:analyst"`}},
		{name: "patch/bad status", method: "PATCH", path: "/api/v1/incidents/" + incID, auth: "analyst", body: `{"status":"done"}`, status: 400},
		{name: "patch/nothing", method: "PATCH", path: "/api/v1/incidents/" + incID, auth: "analyst", body: `{}`, status: 400},
		{name: "patch/other tenant", method: "PATCH", path: "/api/v1/incidents/" + incID, auth: "acme-api", body: `{"comment":"x"}`, status: 404},
		{name: "patch/ingest token", method: "PATCH", path: "/api/v1/incidents/" + incID, auth: "ingest", body: `{"comment":"x"}`, status: 403},
		{name: "incidents/triaged", method: "GET", path: "/api/v1/incidents?status=triaged", auth: "analyst", status: 200, wantBody: []string{incID}},
	})
}

func TestAPIIntel(t *testing.T) {
	e, c := newAPIEnv(t)
	feed := "# test feed\n203.0.113.50\t9\nnot-an-indicator\n"
	runScenarios(t, e, c, []apiScenario{
		{name: "import/analyst forbidden", method: "POST", path: "/api/v1/intel?format=list", auth: "analyst", body: feed, status: 403},
		{name: "import/bad format", method: "POST", path: "/api/v1/intel?format=yara", auth: "secadmin", body: feed, status: 400},
		{name: "import/bad expiry", method: "POST", path: "/api/v1/intel?expires=soon", auth: "secadmin", body: feed, status: 400},
		{name: "import/list", method: "POST", path: "/api/v1/intel?format=list&source=ipsum&expires=720h", auth: "secadmin", body: feed,
			status: 200, wantJSON: map[string]any{"format": "list", "read": 2, "imported": 1, "malformed": 1}, wantBody: []string{`"where":"line 3"`}},
		{name: "import/stix sample", method: "POST", path: "/api/v1/intel?source=oasis", auth: "secadmin",
			body: readSample(t, "data/intel/stix/indicator-for-malicious-url.json"), status: 200, wantJSON: map[string]any{"format": "stix", "imported": 1}},
		{name: "summary", method: "GET", path: "/api/v1/intel", auth: "analyst", status: 200,
			wantBody: []string{`{"source":"ipsum","type":"ip","count":1}`, `{"source":"oasis","type":"url","count":1}`}},
		{name: "summary/other tenant", method: "GET", path: "/api/v1/intel", auth: "acme-api", status: 200, wantJSON: map[string]any{"sources": []any{}}},
	})
	line := `{"@timestamp":"` + time.Now().UTC().Format(time.RFC3339) + `","source":{"ip":"203.0.113.50"},"message":"hello"}`
	if r := e.do("POST", "/api/v1/ingest/json", line, bearer(c.ingest)...); r.status != http.StatusOK {
		t.Fatalf("ingest: %d %s", r.status, r.body)
	}
	m := waitFor(t, e, "/api/v1/alerts?q=rule_id:threat-intel", bearer(c.analyst), func(m map[string]any) bool { return len(m["alerts"].([]any)) == 1 })
	in := m["alerts"].([]any)[0].(map[string]any)["intel"].(map[string]any)
	if in["source"] != "ipsum" || in["value"] != "203.0.113.50" || in["field"] != "source.ip" || in["description"] != "9" || in["valid_until"] == "" {
		t.Errorf("intel context %v", in)
	}
	runScenarios(t, e, c, []apiScenario{
		{name: "delete", method: "DELETE", path: "/api/v1/intel/ipsum", auth: "secadmin", status: 204},
		{name: "summary after delete", method: "GET", path: "/api/v1/intel", auth: "analyst", status: 200,
			wantJSON: map[string]any{"sources": []any{map[string]any{"source": "oasis", "type": "url", "count": 1}}}},
	})
}
