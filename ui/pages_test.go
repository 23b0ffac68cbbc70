package ui_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// detailLinkRE matches a results row's link to its event's detail page.
var detailLinkRE = regexp.MustCompile(`href="/events/([0-9a-f]{32})"`)

// detailLinks lists the event ids a results page links to, in order.
func detailLinks(page string) []string {
	var ids []string
	for _, m := range detailLinkRE.FindAllStringSubmatch(page, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// checkNoInternals fails if a page shows what only a developer should see.
func checkNoInternals(t *testing.T, page string) {
	t.Helper()
	wantNotContains(t, "page", page, "goroutine ", ".go:", "panic", "runtime.")
}

func TestPagesSignIn(t *testing.T) {
	e := newEnv(t, false)
	anon := e.browser()

	t.Run("redirects to sign in", func(t *testing.T) {
		for path, want := range map[string]string{
			"/events":                  "/login?next=%2Fevents",
			"/events?q=user.name:x":    "/login?next=%2Fevents%3Fq%3Duser.name%3Ax",
			"/events/0123456789abcdef": "/login?next=%2Fevents%2F0123456789abcdef",
			"/":                        "/dashboard",
		} {
			r := e.get(anon, path)
			if r.status != http.StatusSeeOther || r.header.Get("Location") != want {
				t.Errorf("GET %s: %d Location %q, want 303 %q", path, r.status, r.header.Get("Location"), want)
			}
		}
		// A forged session cookie is no session either.
		r := send(t, e.client, e.newRequest("GET", "/events", nil, "Cookie", "xdr_session=xdrs_forged"))
		if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login?") {
			t.Errorf("GET /events with a forged cookie: %d %q", r.status, r.header.Get("Location"))
		}
		// So is a logout without a session.
		if r := e.form(anon, "/logout", url.Values{"csrf": {"x"}}); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login?") {
			t.Errorf("POST /logout without session: %d %q", r.status, r.header.Get("Location"))
		}
	})

	t.Run("unknown page", func(t *testing.T) {
		r := e.get(anon, "/no-such-page")
		if r.status != http.StatusNotFound {
			t.Fatalf("status %d, want 404", r.status)
		}
		if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		wantContains(t, "404 page", r.body, "<!doctype html>", "Not Found", "There is no page at /no-such-page.", `href="/login"`)
		wantNotContains(t, "404 page", r.body, "Log out")
	})

	t.Run("login form", func(t *testing.T) {
		r := e.get(e.browser(), "/login?next=%2Fevents%3Fq%3Droot")
		if r.status != http.StatusOK {
			t.Fatalf("GET /login: %d", r.status)
		}
		c := r.cookie("xdr_login_csrf")
		if c == nil || len(c.Value) < 32 {
			t.Fatalf("login CSRF cookie %+v, want a random token", c)
		}
		if got, ok := hiddenField(r.body, "csrf"); !ok || got != c.Value {
			t.Errorf("hidden csrf %q (found %v) does not match the cookie %q", got, ok, c.Value)
		}
		if got, _ := hiddenField(r.body, "next"); got != "/events?q=root" {
			t.Errorf("hidden next %q, want /events?q=root", got)
		}
		wantContains(t, "login page", r.body, `action="/login"`, `method="post"`, `name="username"`, `type="password"`)
		// A new form gets a new token.
		if r2 := e.get(e.browser(), "/login"); r2.cookie("xdr_login_csrf") == nil || r2.cookie("xdr_login_csrf").Value == c.Value {
			t.Error("two login forms got the same CSRF token")
		}
		// An off-site next is not echoed into the form.
		for _, next := range []string{"//evil.example", "https://evil.example/", "/\\evil.example"} {
			r := e.get(e.browser(), "/login?next="+url.QueryEscape(next))
			if got, _ := hiddenField(r.body, "next"); got != "/dashboard" {
				t.Errorf("GET /login?next=%s: hidden next %q, want /dashboard", next, got)
			}
		}
	})

	t.Run("CSRF check", func(t *testing.T) {
		b := e.browser()
		p := e.get(b, "/login")
		csrf, _ := hiddenField(p.body, "csrf")
		for name, v := range map[string]url.Values{
			"wrong csrf":   {"username": {"admin"}, "password": {adminPassword}, "csrf": {csrf + "x"}},
			"missing csrf": {"username": {"admin"}, "password": {adminPassword}},
		} {
			r := e.form(b, "/login", v)
			if r.status != http.StatusForbidden {
				t.Errorf("%s: status %d, want 403", name, r.status)
			}
			if r.cookie("xdr_session") != nil {
				t.Errorf("%s: a session cookie was set", name)
			}
			wantContains(t, name, r.body, `role="alert"`, "The sign-in form expired")
			// The username is kept in the re-shown form.
			wantContains(t, name, r.body, `id="username" name="username" value="admin"`)
		}
		// The right token in the field but no cookie (another browser).
		r := e.form(e.browser(), "/login", url.Values{"username": {"admin"}, "password": {adminPassword}, "csrf": {csrf}})
		if r.status != http.StatusForbidden || r.cookie("xdr_session") != nil {
			t.Errorf("csrf field without its cookie: %d, session cookie %v", r.status, r.cookie("xdr_session"))
		}
		// The refused browser has no session.
		if r := e.get(b, "/events"); r.status != http.StatusSeeOther {
			t.Errorf("GET /events after refused sign-ins: %d, want 303", r.status)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		b := e.browser()
		r := e.signIn(b, "/events", "not-the-password")
		if r.status != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401", r.status)
		}
		if r.cookie("xdr_session") != nil {
			t.Error("a session cookie was set")
		}
		wantContains(t, "login page", r.body, `role="alert"`, "wrong user name or password", `aria-describedby="login-error"`)
		wantNotContains(t, "login page", r.body, "not-the-password")
		// The page is a fresh form: its new CSRF token works.
		csrf, _ := hiddenField(r.body, "csrf")
		r = e.form(b, "/login", url.Values{"username": {"admin"}, "password": {adminPassword}, "csrf": {csrf}, "next": {"/events"}})
		if r.status != http.StatusSeeOther {
			t.Errorf("sign in with the re-shown form: %d", r.status)
		}
	})

	t.Run("sign in goes to next", func(t *testing.T) {
		b := e.browser()
		r := e.signIn(b, "/events?q=user.name%3Aroot", adminPassword)
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/events?q=user.name%3Aroot" {
			t.Fatalf("sign in: %d Location %q, want 303 /events?q=user.name%%3Aroot", r.status, r.header.Get("Location"))
		}
		if c := r.cookie("xdr_login_csrf"); c == nil || c.MaxAge >= 0 {
			t.Errorf("the login CSRF cookie is not deleted after sign in: %+v", c)
		}
		if ev := e.get(b, "/events"); ev.status != http.StatusOK {
			t.Errorf("GET /events after sign in: %d", ev.status)
		} else {
			wantContains(t, "events page", ev.body, "Signed in as <strong>admin</strong>", "Tenant <strong>default</strong>", `action="/logout"`, `aria-current="page"`)
		}
	})

	t.Run("no open redirect", func(t *testing.T) {
		for _, next := range []string{"//evil.example", "https://evil.example", "http://evil.example/events", "/\\evil.example",
			"///evil.example", "evil.example", "", "javascript:alert(1)"} {
			r := e.signIn(e.browser(), next, adminPassword)
			if r.status != http.StatusSeeOther || r.header.Get("Location") != "/dashboard" {
				t.Errorf("next=%q: %d Location %q, want 303 /dashboard", next, r.status, r.header.Get("Location"))
			}
		}
	})
}

// TestPagesNoOpenRedirectViaControlCharacters: browsers drop ASCII tab, LF
// and CR anywhere in a URL (WHATWG URL parsing), so a Location of "/\t/evil"
// takes them to //evil, i.e. https://evil.
func TestPagesNoOpenRedirectViaControlCharacters(t *testing.T) {
	e := newEnv(t, false)
	// Go's client refuses such a Location, so read the answer off the
	// transport, as a browser would get it.
	rt := e.srv.Client().Transport
	for _, next := range []string{"/\t/evil.example", "/\n/evil.example", "/\r/evil.example", "\t//evil.example", "/\t\\evil.example"} {
		p := e.get(e.browser(), "/login")
		csrf, _ := hiddenField(p.body, "csrf")
		form := url.Values{"username": {"admin"}, "password": {adminPassword}, "csrf": {csrf}, "next": {next}}
		req := e.newRequest("POST", "/login", strings.NewReader(form.Encode()),
			"Content-Type", "application/x-www-form-urlencoded", "Cookie", "xdr_login_csrf="+csrf)
		res, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		loc := res.Header.Get("Location")
		asBrowser := strings.Map(func(r rune) rune {
			if r == '\t' || r == '\n' || r == '\r' {
				return -1
			}
			return r
		}, strings.TrimLeft(loc, " \x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\v\f\r"))
		slashed := strings.ReplaceAll(asBrowser, `\`, "/")
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(slashed, "/") || strings.HasPrefix(slashed, "//") {
			t.Errorf("next=%q: %d Location %q, which a browser reads as %q: off-site", next, res.StatusCode, loc, asBrowser)
		}
	}
}

func TestPagesEvents(t *testing.T) {
	e := newEnv(t, false)
	b := e.browser()
	e.mustSignIn(b)

	t.Run("empty state", func(t *testing.T) {
		r := e.get(b, "/events")
		if r.status != http.StatusOK {
			t.Fatalf("status %d", r.status)
		}
		wantContains(t, "events page", r.body, "No events yet", "xdr token create", "curl -H",
			"--data-binary @events.ndjson", "http://"+e.srv.Listener.Addr().String()+"/api/v1/ingest/json", "full scan, 0 events read")
		wantNotContains(t, "events page", r.body, "Older events", "<table")
	})

	tok := e.token("default", "sensor", "ingest", "")
	t0 := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
	xss := `<script>alert("xss")</script> & more`
	e.ingest(tok,
		eventLine(t0, "mallory", xss),
		eventLine(t0.Add(time.Hour), "timed", "timed 10"),
		eventLine(t0.Add(2*time.Hour), "timed", "timed 11"),
		eventLine(t0.Add(3*time.Hour), "timed", "timed 12"),
	)
	var bulk []string
	for i := range 150 {
		bulk = append(bulk, eventLine(t0.Add(-time.Duration(i+1)*time.Minute), "bulk", fmt.Sprintf("bulk event %03d", i)))
	}
	e.ingest(tok, bulk...)
	xssID := ""
	if ids, _ := e.eventIDs(e.token("default", "reader", "api", ""), "q=user.name:mallory"); len(ids) == 1 {
		xssID = ids[0]
	} else {
		t.Fatalf("the <script> event is stored %d times", len(ids))
	}

	t.Run("results are escaped", func(t *testing.T) {
		r := e.get(b, "/events")
		if r.status != http.StatusOK {
			t.Fatalf("status %d", r.status)
		}
		wantContains(t, "events page", r.body, "&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt; &amp; more", "mallory",
			"Events, newest first", "timed 12", "ssh_login", "10.0.0.7", `class="outcome-failure"`, `href="/events/`+xssID+`"`)
		if strings.Contains(r.body, "<script>") {
			t.Errorf("an event's message reaches the page unescaped")
		}
		wantNotContains(t, "events page", r.body, "No events yet")
	})

	t.Run("query error", func(t *testing.T) {
		r := e.get(b, "/events?q="+url.QueryEscape("user.name:"))
		if r.status != http.StatusBadRequest {
			t.Fatalf("status %d, want 400", r.status)
		}
		wantContains(t, "events page", r.body, `role="alert"`, "query: position 11", `aria-invalid="true"`, `value="user.name:"`)
		wantNotContains(t, "events page", r.body, "No events", "<table")
		checkNoInternals(t, r.body)
	})

	t.Run("no match", func(t *testing.T) {
		r := e.get(b, "/events?q="+url.QueryEscape("user.name:nobody"))
		if r.status != http.StatusOK {
			t.Fatalf("status %d", r.status)
		}
		wantContains(t, "events page", r.body, "No events match", "indexed search")
		wantNotContains(t, "events page", r.body, "curl", "<table", `role="alert"`)
	})

	t.Run("pagination", func(t *testing.T) {
		for _, c := range []struct {
			name, query string
			total       int
		}{
			{"all", "", 154},
			{"filtered", "?q=" + url.QueryEscape("user.name:bulk"), 150},
		} {
			t.Run(c.name, func(t *testing.T) {
				var seen []string
				path := "/events" + c.query
				for pages := 1; path != ""; pages++ {
					if pages > 3 {
						t.Fatal("more pages than expected")
					}
					r := e.get(b, path)
					if r.status != http.StatusOK {
						t.Fatalf("GET %s: %d", path, r.status)
					}
					ids := detailLinks(r.body)
					if pages == 1 && len(ids) != 100 {
						t.Errorf("first page has %d rows, want 100", len(ids))
					}
					seen = append(seen, ids...)
					next, ok := linkHref(r.body, "a", `rel="next"`)
					if ok {
						wantContains(t, "page", r.body, "Older events")
						if !strings.HasPrefix(next, "/events?") || !strings.Contains(next, "cursor=") {
							t.Errorf("next link %q", next)
						}
						if c.query != "" && !strings.Contains(next, "q=user.name%3Abulk") {
							t.Errorf("next link %q drops the query", next)
						}
					}
					path = next
				}
				if len(seen) != c.total {
					t.Errorf("pages hold %d events, want %d", len(seen), c.total)
				}
				sorted := slices.Clone(seen)
				slices.Sort(sorted)
				if len(slices.Compact(sorted)) != len(seen) {
					t.Error("an event is shown on two pages")
				}
			})
		}
	})

	t.Run("time range", func(t *testing.T) {
		for _, c := range []struct {
			name, from, to string
			want           []string
			notWant        []string
		}{
			{"datetime-local", "2024-03-01T10:30", "2024-03-01T11:30", []string{"timed 11"}, []string{"timed 10", "timed 12"}},
			{"inclusive minutes", "2024-03-01T10:00", "2024-03-01T11:00", []string{"timed 10", "timed 11"}, []string{"timed 12"}},
			{"with seconds", "2024-03-01T11:59:59", "", []string{"timed 12"}, []string{"timed 10", "timed 11"}},
			{"space separated", "", "2024-03-01 10:00", []string{"timed 10"}, []string{"timed 11", "timed 12"}},
			{"RFC 3339 with zone", "2024-03-01T11:30:00+01:00", "2024-03-01T13:30:00+02:00", []string{"timed 11"}, []string{"timed 10", "timed 12"}},
			{"a date", "2024-03-01", "", []string{"timed 10", "timed 11", "timed 12"}, nil},
		} {
			t.Run(c.name, func(t *testing.T) {
				q := url.Values{"q": {"user.name:timed"}, "from": {c.from}, "to": {c.to}}
				r := e.get(b, "/events?"+q.Encode())
				if r.status != http.StatusOK {
					t.Fatalf("status %d\n%s", r.status, r.body)
				}
				wantContains(t, "events page", r.body, c.want...)
				wantNotContains(t, "events page", r.body, c.notWant...)
				if got := len(detailLinks(r.body)); got != len(c.want) {
					t.Errorf("%d rows, want %d", got, len(c.want))
				}
				// The form shows the times as typed.
				wantContains(t, "events page", r.body, `id="from" name="from" value="`+c.from+`"`)
			})
		}
		for _, q := range []string{"from=yesterday", "to=2024-02-30T10:00", "from=" + url.QueryEscape("2024-03-01T10:00&x")} {
			r := e.get(b, "/events?"+q)
			if r.status != http.StatusBadRequest {
				t.Errorf("%s: status %d, want 400", q, r.status)
				continue
			}
			wantContains(t, q, r.body, `role="alert"`, "is not a time")
			checkNoInternals(t, r.body)
		}
		// A time range alone is a filter too: no "No events yet" advice.
		if r := e.get(b, "/events?from=2030-01-01T00:00"); r.status != http.StatusOK || !strings.Contains(r.body, "No events match") ||
			strings.Contains(r.body, "curl") {
			t.Errorf("empty time range: %d, want the \"No events match\" state", r.status)
		}
		if r := e.get(b, "/events?cursor=nonsense"); r.status != http.StatusBadRequest || !strings.Contains(r.body, "not a cursor") {
			t.Errorf("bad cursor: %d", r.status)
		}
	})

	t.Run("detail", func(t *testing.T) {
		r := e.get(b, "/events/"+xssID)
		if r.status != http.StatusOK {
			t.Fatalf("status %d", r.status)
		}
		wantContains(t, "detail page", r.body, "<code>"+xssID+"</code>", "Normalised fields", "Original event",
			"<dt>user.name</dt>", "<dd>mallory</dd>", "<dt>tenant</dt>", "<dd>default</dd>", "2024-03-01T09:00:00Z",
			"&lt;script&gt;", `href="/events"`)
		if strings.Contains(r.body, "<script>") {
			t.Error("the detail page shows the message unescaped")
		}
		// The original is shown indented, as received.
		wantContains(t, "detail page", r.body, "&#34;message&#34;: &#34;")
	})

	t.Run("detail errors", func(t *testing.T) {
		for path, status := range map[string]int{
			"/events/00000000000000000000000000000000": http.StatusNotFound,
			"/events/not-an-id":                        http.StatusBadRequest,
		} {
			r := e.get(b, path)
			if r.status != status {
				t.Errorf("GET %s: %d, want %d", path, r.status, status)
				continue
			}
			if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("GET %s: Content-Type %q", path, ct)
			}
			wantContains(t, path, r.body, "Back to events", "Signed in as")
			checkNoInternals(t, r.body)
		}
		// Another tenant's event is not found.
		e.createTenant("acme")
		acme := e.token("acme", "acme-sensor", "ingest", "")
		e.ingest(acme, eventLine(t0, "acme-user", "acme secret"))
		ids, _ := e.eventIDs(e.token("acme", "acme-reader", "api", ""), "")
		if len(ids) != 1 {
			t.Fatalf("acme has %d events", len(ids))
		}
		if r := e.get(b, "/events/"+ids[0]); r.status != http.StatusNotFound || strings.Contains(r.body, "acme secret") {
			t.Errorf("another tenant's event: %d", r.status)
		}
		if r := e.get(b, "/events?q=acme"); strings.Contains(r.body, "acme secret") {
			t.Error("another tenant's event is listed")
		}
	})

	t.Run("logout", func(t *testing.T) {
		page := e.get(b, "/events")
		csrf, ok := hiddenField(page.body, "csrf")
		if !ok || csrf == "" {
			t.Fatalf("events page has no logout csrf:\n%s", page.body)
		}
		for name, v := range map[string]url.Values{"missing": {}, "wrong": {"csrf": {csrf + "x"}}} {
			r := e.form(b, "/logout", v)
			if r.status != http.StatusForbidden {
				t.Errorf("logout with %s csrf: %d, want 403", name, r.status)
			}
			wantContains(t, "403 page", r.body, "CSRF check failed")
			if r := e.get(b, "/events"); r.status != http.StatusOK {
				t.Errorf("after a refused logout the session is gone: %d", r.status)
			}
		}
		u, _ := url.Parse(e.srv.URL)
		var secret string
		for _, c := range b.Jar.Cookies(u) {
			if c.Name == "xdr_session" {
				secret = c.Value
			}
		}
		if secret == "" {
			t.Fatal("the browser holds no session cookie")
		}
		r := e.form(b, "/logout", url.Values{"csrf": {csrf}})
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
			t.Fatalf("logout: %d Location %q, want 303 /login", r.status, r.header.Get("Location"))
		}
		// The session is ended on the server, not only forgotten by the browser.
		if r := send(t, e.client, e.newRequest("GET", "/events", nil, "Cookie", "xdr_session="+secret)); r.status != http.StatusSeeOther {
			t.Errorf("the old session cookie still opens /events: %d", r.status)
		}
		if r := e.get(b, "/events"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/login?next=%2Fevents" {
			t.Errorf("GET /events after logout: %d %q", r.status, r.header.Get("Location"))
		}
	})
}

// TestPagesRefuseIngestToken: an ingest token "may only send events"
// (docs/api.md), so presenting it as the session cookie must not open the
// event pages.
func TestPagesRefuseIngestToken(t *testing.T) {
	e := newEnv(t, false)
	tok := e.token("default", "sensor", "ingest", "")
	e.ingest(tok, eventLine(time.Now(), "root", "confidential"))
	// The API refuses it, with or without the cookie.
	if r := send(t, e.client, e.newRequest("GET", "/api/v1/events", nil, "Cookie", "xdr_session="+tok)); r.status != http.StatusForbidden {
		t.Errorf("GET /api/v1/events with an ingest token cookie: %d, want 403", r.status)
	}
	r := send(t, e.client, e.newRequest("GET", "/events", nil, "Cookie", "xdr_session="+tok))
	if r.status == http.StatusOK || strings.Contains(r.body, "confidential") {
		t.Errorf("GET /events with an ingest token as session cookie: %d, events shown: %v", r.status, strings.Contains(r.body, "confidential"))
	}
}
