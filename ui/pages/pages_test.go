package pages_test

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"

	"github.com/minixdr/xdr/ui/pages"
	"github.com/minixdr/xdr/ui/static"
)

// hostile is put into every user-controlled value; it must come out escaped.
const hostile = `<script>alert(1)</script>"><img src=x onerror=alert(1)>`

var chrome = pages.Chrome{User: "alice", Tenant: "acme", CSRF: "csrf-token-1", Current: "events"}

func render(t *testing.T, c templ.Component) string {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// allPages renders every component in its interesting states.
func allPages(t *testing.T) map[string]string {
	hostileChrome := pages.Chrome{User: hostile, Tenant: hostile, CSRF: hostile, Current: "events"}
	rows := []pages.EventRow{
		{ID: "e1", Time: "2024-05-01 12:00:00.000 UTC", Source: "sshd", Action: "ssh_login", Outcome: "failure",
			SourceIP: "203.0.113.9", User: "root", Host: "web-1", Message: "Failed password", DetailURL: "/events/e1"},
		{ID: "e2", Time: hostile, Source: hostile, Action: hostile, Outcome: hostile, SourceIP: hostile,
			User: hostile, Host: hostile, Message: hostile, DetailURL: "javascript:alert(1)"},
	}
	return map[string]string{
		"login":         render(t, pages.Login(pages.LoginVM{CSRF: "csrf-token-1", Next: "/events?q=a"})),
		"login error":   render(t, pages.Login(pages.LoginVM{Error: "Wrong username or password.", Username: "bob", CSRF: "csrf-token-1"})),
		"login hostile": render(t, pages.Login(pages.LoginVM{Error: hostile, Username: hostile, CSRF: hostile, Next: hostile})),
		"events rows": render(t, pages.Events(pages.EventsVM{Chrome: chrome, Query: "user.name:root", Rows: rows[:1],
			NextURL: "/events?q=user.name%3Aroot&cursor=abc", Indexed: true, Scanned: 100})),
		"events empty": render(t, pages.Events(pages.EventsVM{Chrome: chrome, Empty: pages.EmptyState{
			Title: "No events yet", Body: "Send some events.", Curl: `curl -H 'Authorization: Bearer TOKEN' --data-binary @events.ndjson https://xdr.local/api/v1/events`}})),
		"events error": render(t, pages.Events(pages.EventsVM{Chrome: chrome, Query: "user.name:(", Error: "syntax error at 11: unclosed parenthesis",
			Empty: pages.EmptyState{Title: "No events yet"}})),
		"events hostile": render(t, pages.Events(pages.EventsVM{Chrome: hostileChrome, Query: hostile, From: hostile, To: hostile,
			Rows: rows, NextURL: "javascript:alert(1)"})),
		"events hostile error": render(t, pages.Events(pages.EventsVM{Chrome: chrome, Error: hostile})),
		"events hostile empty": render(t, pages.Events(pages.EventsVM{Chrome: chrome, Empty: pages.EmptyState{Title: hostile, Body: hostile, Curl: hostile}})),
		"detail": render(t, pages.EventDetail(pages.EventDetailVM{Chrome: chrome, ID: "e1", BackURL: "/events?q=x",
			Fields: []pages.Field{{"id", "e1"}, {"source", "sshd"}}, Original: "{\n  \"a\": 1\n}"})),
		"detail hostile": render(t, pages.EventDetail(pages.EventDetailVM{Chrome: hostileChrome, ID: hostile, BackURL: "javascript:alert(1)",
			Fields: []pages.Field{{hostile, hostile}}, Original: hostile})),
		"dashboard": render(t, pages.Dashboard(sampleDashboard(chrome, "203.0.113.9"))),
		"dashboard empty": render(t, pages.Dashboard(pages.DashboardVM{Chrome: chrome, Empty: &pages.EmptyState{Title: "No events yet", Curl: "curl …"},
			Events: pages.StackedChart("events-chart", "Events", "events/s", time.Unix(0, 0), time.Minute, []pages.Series{{Counts: make([]int, 4)}}, true)})),
		"dashboard hostile": render(t, pages.Dashboard(sampleDashboard(hostileChrome, hostile))),
		"tokens": render(t, pages.Tokens(pages.TokensVM{Chrome: chrome, Roles: []string{"soc_analyst"}, Notice: "Token x was revoked",
			Tokens:   []pages.TokenRow{{Name: "fw-01", Scope: "ingest", Created: "2024-05-01 10:00 UTC", ID: "ab12", Short: "ab12"}},
			NewToken: &pages.NewToken{Name: "fw-02", Secret: "xdrt_secret", Scope: "ingest", Curl: "curl …"}})),
		"tokens hostile": render(t, pages.Tokens(pages.TokensVM{Chrome: hostileChrome, Roles: []string{hostile}, Notice: hostile, Error: hostile,
			Form:     pages.TokenForm{Name: hostile, Scope: hostile, Role: hostile},
			Tokens:   []pages.TokenRow{{Name: hostile, Scope: hostile, Role: hostile, Created: hostile, ID: hostile, Short: hostile}},
			NewToken: &pages.NewToken{Name: hostile, Secret: hostile, Scope: "ingest", Curl: hostile}})),
		"events facets hostile": render(t, pages.Events(pages.EventsVM{Chrome: chrome, Rows: rows, FacetScope: hostile,
			Facets: []pages.Facet{{Field: hostile, Values: []pages.TopRow{{Value: hostile, Count: "3", Href: "javascript:alert(1)"}}}}})),
		"alerts hostile": render(t, pages.Alerts(pages.AlertsVM{Chrome: chrome, Query: hostile, Error: hostile,
			Rows: []pages.AlertRow{{Time: hostile, Severity: hostile, Rule: hostile, RuleURL: "javascript:alert(1)", Source: hostile,
				Techniques: []pages.Tag{{Label: hostile, Title: hostile, Href: "javascript:alert(1)"}}, IncidentURL: "javascript:alert(1)"}}})),
		"incidents hostile": render(t, pages.Incidents(pages.IncidentsVM{Chrome: chrome, Assignee: hostile, Total: hostile, Page: hostile,
			Statuses: []pages.Option{{Value: hostile, Label: hostile, Selected: true}}, PrevURL: "javascript:alert(1)",
			SortLinks: map[string]pages.SortLink{"severity": {Href: "javascript:alert(1)", AriaSort: hostile}},
			Rows:      []pages.IncidentRow{{URL: "javascript:alert(1)", Title: hostile, Severity: hostile, Status: hostile, Assignee: hostile}}})),
		"incident hostile": render(t, pages.Incident(pages.IncidentVM{Chrome: chrome, ID: hostile, Title: hostile, Status: hostile, Assignee: hostile,
			Error: hostile, CanEdit: true, EvidenceURL: "javascript:alert(1)", Entities: []pages.Tag{{Label: hostile}},
			Timeline: []pages.TimelineItem{{Time: hostile, Kind: hostile, Label: hostile, Detail: hostile, URL: "javascript:alert(1)"}},
			Comments: []pages.CommentItem{{Author: hostile, Text: hostile}}})),
		"rules hostile": render(t, pages.Rules(pages.RulesVM{Chrome: chrome, Query: hostile, Error: hostile, CanEdit: true, Total: "1",
			Rows: []pages.RuleRow{{ID: hostile, URL: "javascript:alert(1)", Title: hostile, Level: hostile, Enabled: true}}, PrevURL: "javascript:alert(1)"})),
		"job running": render(t, pages.Job(pages.JobVM{Chrome: chrome, Title: "Rule pack import", SelfURL: "/jobs/ab", StatusURL: "/jobs/ab/status",
			Running: true, Stage: "Storing the rules", Done: 1200, Of: 3204, Text: "1,200 of 3,204 rules", BackURL: "/rules", BackLabel: "Back"})),
		"job checking": render(t, pages.Job(pages.JobVM{Chrome: chrome, Title: "Rule pack import", SelfURL: "/jobs/ab", StatusURL: "/jobs/ab/status",
			Running: true, Stage: "Checking", BackURL: "/rules", BackLabel: "Back"})),
		"job hostile": render(t, pages.Job(pages.JobVM{Chrome: hostileChrome, Title: hostile, Error: hostile, BackURL: "javascript:alert(1)", BackLabel: hostile,
			DownloadURL: "javascript:alert(1)", DownloadName: hostile, DownloadDetail: hostile, Started: hostile, Took: hostile,
			Import: &pages.ImportResult{Imported: "1", Refused: hostile, FailedPage: hostile, NextURL: "javascript:alert(1)",
				Failed: []pages.ImportFailure{{File: hostile, Rule: hostile, Reason: hostile}}}})),
		"rule hostile": render(t, pages.Rule(pages.RuleVM{Chrome: chrome, ID: hostile, Title: hostile, Source: hostile, Description: hostile,
			AlertsURL: "javascript:alert(1)", CanEdit: true})),
		"attack hostile": render(t, pages.Attack(pages.AttackVM{Chrome: chrome, Range: hostile,
			Columns: []pages.AttackColumn{{ID: "TA1", Name: hostile, Techniques: []pages.AttackCell{{ID: "T1", Name: hostile, URL: "javascript:alert(1)", Fired: "2", Covered: true}}}}})),
		"error signed in": render(t, pages.ErrorPage(pages.ErrorVM{Chrome: chrome, Status: 404, Title: "Not found", Message: "No such event."})),
		"error anonymous": render(t, pages.ErrorPage(pages.ErrorVM{Status: 500})),
		"error hostile":   render(t, pages.ErrorPage(pages.ErrorVM{Chrome: hostileChrome, Status: 400, Title: hostile, Message: hostile})),
	}
}

var (
	scriptTag = regexp.MustCompile(`<script([^>]*)>([^<]*)</script>`)
	labelFor  = regexp.MustCompile(`<label for="([^"]*)"`)
	inputTag  = regexp.MustCompile(`<input [^>]*>`)
	attrID    = regexp.MustCompile(` id="([^"]*)"`)
)

// Every page must satisfy a strict CSP (no inline script or style), carry
// the document skeleton, and escape hostile values.
func TestEveryPage(t *testing.T) {
	for name, html := range allPages(t) {
		t.Run(name, func(t *testing.T) {
			lower := strings.ToLower(html)
			for _, bad := range []string{" style=", "<style", "<img", `href="javascript:`, "<meta http-equiv"} {
				if strings.Contains(lower, bad) {
					t.Errorf("page contains %q", bad)
				}
			}
			// Scripts only from the appliance's embedded files, never inline.
			for _, m := range scriptTag.FindAllStringSubmatch(lower, -1) {
				if !strings.HasPrefix(m[1], ` src="/static/`) || m[2] != "" {
					t.Errorf("page has a script that is not an embedded file: %s", m[0])
				}
			}
			for _, want := range []string{
				"<!doctype html>",
				`<html lang="en">`,
				`<meta name="viewport" content="width=device-width, initial-scale=1">`,
				` · Mini-XDR</title>`,
				`<link rel="stylesheet" href="` + static.Path("app.css") + `">`,
				`<a class="skip-link" href="#main">`,
				`<main id="main"`,
				"Mini-XDR",
			} {
				if !strings.Contains(html, want) {
					t.Errorf("page lacks %q", want)
				}
			}
			if strings.Contains(name, "hostile") && !strings.Contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;") {
				t.Error("hostile value not shown escaped")
			}
			// Every label points at an element that exists, and every
			// visible input has a label.
			ids := map[string]bool{}
			for _, m := range attrID.FindAllStringSubmatch(html, -1) {
				ids[m[1]] = true
			}
			labelled := map[string]bool{}
			for _, m := range labelFor.FindAllStringSubmatch(html, -1) {
				if !ids[m[1]] {
					t.Errorf("label for=%q has no element with that id", m[1])
				}
				labelled[m[1]] = true
			}
			for _, in := range inputTag.FindAllString(html, -1) {
				if strings.Contains(in, `type="hidden"`) {
					continue
				}
				m := attrID.FindStringSubmatch(in)
				if m == nil || !labelled[m[1]] {
					t.Errorf("input without a label: %s", in)
				}
			}
		})
	}
}

func TestSignedInChrome(t *testing.T) {
	html := allPages(t)
	for _, name := range []string{"events rows", "events empty", "detail", "error signed in"} {
		t.Run(name, func(t *testing.T) {
			page := html[name]
			mustContain(t, page,
				`<a href="/events" aria-current="page">Events</a>`,
				`<strong>alice</strong>`,
				`<strong>acme</strong>`,
				`<form method="post" action="/logout"><input type="hidden" name="csrf" value="csrf-token-1">`,
			)
		})
	}
	t.Run("anonymous", func(t *testing.T) {
		for _, name := range []string{"error anonymous", "login"} {
			page := html[name]
			mustNotContain(t, page, `action="/logout"`, "aria-current", `class="site-nav"`)
		}
	})
}

func TestLogin(t *testing.T) {
	html := allPages(t)
	mustContain(t, html["login"],
		"<title>Sign in · Mini-XDR</title>",
		`<form method="post" action="/login">`,
		`<input type="hidden" name="csrf" value="csrf-token-1">`,
		`<input type="hidden" name="next" value="/events?q=a">`,
		`<label for="username">`, `id="username" name="username"`, `autocomplete="username"`,
		`<label for="password">`, `type="password" id="password" name="password" autocomplete="current-password"`,
	)
	mustNotContain(t, html["login"], `role="alert"`)
	mustContain(t, html["login error"],
		`<p class="alert" role="alert" id="login-error">Wrong username or password.</p>`,
		`value="bob"`, `aria-describedby="login-error"`)
}

func TestEvents(t *testing.T) {
	html := allPages(t)
	t.Run("rows", func(t *testing.T) {
		page := html["events rows"]
		mustContain(t, page,
			"<title>Events · Mini-XDR</title>",
			`<form class="search" method="get" action="/events"`,
			`<label for="q">Query</label>`, `id="q" name="q" value="user.name:root"`,
			`<label for="from">`, `id="from" name="from"`, `<label for="to">`, `id="to" name="to"`,
			`<button type="submit">Search</button>`,
			`<caption`, `<th scope="col">Time</th>`, `<th scope="col">Message</th>`,
			`<a href="/events/e1">2024-05-01 12:00:00.000 UTC</a>`,
			`<td class="outcome-failure">failure</td>`,
			`<a href="/events?q=user.name%3Aroot&amp;cursor=abc" rel="next">Older events</a>`,
			"indexed search, 100 candidates read",
		)
		mustNotContain(t, page, `role="alert"`, `class="empty"`)
	})
	t.Run("empty", func(t *testing.T) {
		page := html["events empty"]
		mustContain(t, page,
			`<h2 id="empty-title">No events yet</h2>`, "<p>Send some events.</p>",
			`<pre tabindex="0"><code>curl -H &#39;Authorization: Bearer TOKEN&#39; --data-binary @events.ndjson https://xdr.local/api/v1/events</code></pre>`,
			"full scan, 0 events read",
		)
		mustNotContain(t, page, "<table", "Older events", `role="alert"`)
	})
	t.Run("error", func(t *testing.T) {
		page := html["events error"]
		mustContain(t, page,
			`<p class="alert" role="alert" id="q-error">syntax error at 11: unclosed parenthesis</p>`,
			`aria-invalid="true"`, `aria-describedby="q-error q-hint"`, `value="user.name:("`,
		)
		mustNotContain(t, page, "<table", `class="empty"`, "No events yet", "read</p>")
		// The error sits in the search form, next to the query box.
		form := page[strings.Index(page, `<form class="search"`):]
		if !strings.Contains(form[:strings.Index(form, "</form>")], `id="q-error"`) {
			t.Error("error is not inside the search form")
		}
	})
	t.Run("hostile urls sanitised", func(t *testing.T) {
		mustContain(t, html["events hostile"], `about:invalid#TemplFailedSanitizationURL`)
	})
}

func TestEventDetail(t *testing.T) {
	page := allPages(t)["detail"]
	mustContain(t, page,
		"<title>Event e1 · Mini-XDR</title>",
		`<a class="back" href="/events?q=x">`,
		`<dl class="fields"><div><dt>id</dt><dd>e1</dd></div><div><dt>source</dt><dd>sshd</dd></div></dl>`,
		"<pre tabindex=\"0\"><code>{\n  &#34;a&#34;: 1\n}</code></pre>",
	)
}

func TestErrorPage(t *testing.T) {
	html := allPages(t)
	mustContain(t, html["error signed in"], "<title>Not found · Mini-XDR</title>", "404", "<h1>Not found</h1>",
		"<p>No such event.</p>", `href="/events"`)
	mustContain(t, html["error anonymous"], "<title>Internal Server Error · Mini-XDR</title>", "500",
		`<a href="/login">Sign in</a>`)
}

func mustContain(t *testing.T, page string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(page, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}

func mustNotContain(t *testing.T, page string, bads ...string) {
	t.Helper()
	for _, b := range bads {
		if strings.Contains(page, b) {
			t.Errorf("page contains %q", b)
		}
	}
}

func TestJob(t *testing.T) {
	html := allPages(t)
	mustContain(t, html["job running"],
		"<title>Rule pack import: running · Mini-XDR</title>",
		`data-status-url="/jobs/ab/status"`,
		`<label for="job-progress">Progress</label>`,
		`<progress id="job-progress" max="3204" value="1200" aria-describedby="job-text">1,200 of 3,204 rules</progress>`,
		`<p id="job-text" role="status">1,200 of 3,204 rules</p>`,
		`<a href="/jobs/ab" id="job-reload">Check again</a>`,
		`<script src="`+static.Path("job.js")+`" defer></script>`)
	// A stage that cannot be measured shows an indeterminate bar.
	mustContain(t, html["job checking"], `<progress id="job-progress" aria-describedby="job-text">`, `role="status">Working…</p>`)
	mustContain(t, html["job hostile"], `role="alert" id="job-error"`, "Import: 1 imported", `rel="next"`)
	mustNotContain(t, html["job hostile"], "<progress", "<script")
	if strings.Count(strings.ToLower(html["job running"]), "<script") != len(scriptTag.FindAllString(strings.ToLower(html["job running"]), -1)) {
		t.Error("a script tag the script check does not see")
	}
}
