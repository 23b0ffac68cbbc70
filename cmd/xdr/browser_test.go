package main

// Browser tests: what an analyst does in the web UI, in Debian's Chromium
// against the real binary (helpers in browser_helpers_test.go).

import (
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// browserEvents are the events the browser tests search.
func browserEvents(t testing.TB) []byte {
	return ndjson(t,
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

	// A wrong password is shown in the page.
	b.fill("#username", "admin")
	b.fill("#password", "wrong-password")
	if st := b.submit("form[action='/login'] button[type=submit]"); st != 401 {
		t.Errorf("wrong password: status %d, want 401", st)
	}
	b.wantText("#login-error", "wrong user name or password")
	b.checkPage("login-error")

	b.login(n)
	b.open("/events")
	b.checkPage("events")

	b.fill("#q", "user.name:alice")
	b.submit("form[role=search] button[type=submit]")
	if got := eval[int](b, "document.querySelectorAll('table tbody tr').length"); got != 1 {
		t.Fatalf("search user.name:alice shows %d rows, want 1", got)
	}
	b.wantText("table tbody", "Failed password for alice")
	b.checkPage("events-search")

	b.submit("table tbody tr a")
	if p := b.path(); !strings.HasPrefix(p, "/events/") {
		t.Fatalf("the event link went to %s", p)
	}
	b.wantText("main", "203.0.113.7")
	b.checkPage("event-detail")

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
