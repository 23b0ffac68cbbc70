package ui_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/minixdr/xdr/appliance/auth"
)

// TestPagesSessionEnds: once a session has expired, or its user logged
// out, its cookie opens no page and no job, and a form posted with it
// changes nothing: every request goes to the login page.
func TestPagesSessionEnds(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	for _, end := range []string{"expiry", "logout"} {
		t.Run(end, func(t *testing.T) {
			b := e.browser()
			e.mustSignIn(b)
			csrf, _ := hiddenField(e.get(b, "/rules").body, "csrf")
			started := e.uploadPack(b, csrf, map[string][]byte{"a.yml": []byte(goodRule)})
			jobURL := started.header.Get("Location")
			e.runJob(b, started)
			switch end {
			case "expiry":
				e.clock.Advance(auth.SessionTTL)
			case "logout":
				// The logout ends the session on the server; the cookie
				// is replayed afterwards, as one stolen would be.
				u, _ := url.Parse(e.srv.URL)
				kept := b.Jar.Cookies(u)
				if r := e.form(b, "/logout", url.Values{"csrf": {csrf}}); r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
					t.Fatalf("logout: %d %q", r.status, r.header.Get("Location"))
				}
				b.Jar.SetCookies(u, kept)
			}
			for _, p := range []string{"/rules", "/incidents", jobURL, jobURL + "/status"} {
				r := e.get(b, p)
				if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login?next=") {
					t.Errorf("GET %s after the %s: %d %q, want a redirect to the login page", p, end, r.status, r.header.Get("Location"))
				}
			}
			r := e.form(b, "/rules/6f1c2b7e-3a41-4d0c-9b1e-5a2f0c7d1e03/enabled", url.Values{"csrf": {csrf}, "enabled": {"false"}})
			if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login?") {
				t.Errorf("a form posted after the %s: %d %q, want a redirect to the login page", end, r.status, r.header.Get("Location"))
			}
			// A new sign-in works, and shows the form changed nothing.
			e.mustSignIn(b)
			wantContains(t, "disabled rules", e.get(b, "/rules?enabled=false").body, "No rule matches the filter.")
		})
	}
}

// TestPagesNotFoundSignedIn: a mistyped address keeps a signed-in user's
// navigation (an anonymous one gets the "Sign in" link, TestPagesSignIn).
func TestPagesNotFoundSignedIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	b := e.browser()
	e.mustSignIn(b)
	r := e.get(b, "/rulez")
	if r.status != http.StatusNotFound {
		t.Fatalf("GET /rulez: %d, want 404", r.status)
	}
	wantContains(t, "404 page", r.body, "There is no page at /rulez.", "Signed in as <strong>admin</strong>", `href="/rules"`, `action="/logout"`)
	wantNotContains(t, "404 page", r.body, ">Sign in</a>")
}
