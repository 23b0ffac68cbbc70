package ui_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// checkSecurityHeaders checks the headers every response must carry.
func checkSecurityHeaders(t *testing.T, what string, h http.Header, tls bool) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'",
		"base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("%s: CSP %q lacks %q", what, csp, d)
		}
	}
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "*"} {
		if strings.Contains(csp, bad) {
			t.Errorf("%s: CSP %q allows %q", what, csp, bad)
		}
	}
	for name, want := range map[string]string{
		"X-Frame-Options":        "DENY",
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
	} {
		if got := h.Values(name); len(got) != 1 || got[0] != want {
			t.Errorf("%s: %s = %q, want exactly %q", what, name, got, want)
		}
	}
	hsts := h.Get("Strict-Transport-Security")
	switch {
	case tls && !strings.HasPrefix(hsts, "max-age=31536000"):
		t.Errorf("%s: under TLS, Strict-Transport-Security = %q, want max-age=31536000", what, hsts)
	case !tls && hsts != "":
		t.Errorf("%s: without TLS, Strict-Transport-Security = %q, want none", what, hsts)
	}
}

// inlineCode finds what the CSP would block in a page: inline scripts,
// styles and event handlers.
var inlineCode = regexp.MustCompile(`(?i)<script|<style|\sstyle=|\son[a-z]+=|javascript:`)

func TestSecurityHeaders(t *testing.T) {
	for _, tls := range []bool{false, true} {
		name := "http"
		if tls {
			name = "https"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, tls)
			tok, _, _ := e.login()
			page := e.get(e.browser(), "/login")
			css, ok := linkHref(page.body, "link", `rel="stylesheet"`)
			if !ok {
				t.Fatalf("login page links no stylesheet:\n%s", page.body)
			}
			for _, c := range []struct {
				name, method, path string
				auth               bool
				status             int
				contentType        string
			}{
				{"API JSON", "GET", "/api/v1/events", true, 200, "application/json"},
				{"API error", "GET", "/api/v1/events", false, 401, "application/json"},
				{"API 404", "GET", "/api/v1/nothing", false, 404, "application/json"},
				{"health", "GET", "/healthz/ready", false, 200, "application/json"},
				{"metrics", "GET", "/metrics", true, 200, "text/plain"},
				{"page", "GET", "/login", false, 200, "text/html"},
				{"page redirect", "GET", "/events", false, 303, ""},
				{"404 page", "GET", "/no/such/page", false, 404, "text/html"},
				{"static asset", "GET", css, false, 200, "text/css"},
				{"static HEAD", "HEAD", css, false, 200, "text/css"},
				{"static 404", "GET", "/static/app.css", false, 404, "text/plain"},
				{"static 405", "POST", css, false, 405, "text/plain"},
			} {
				t.Run(c.name, func(t *testing.T) {
					var h []string
					if c.auth {
						h = bearer(tok)
					}
					r := send(t, e.client, e.newRequest(c.method, c.path, nil, h...))
					if r.status != c.status {
						t.Fatalf("%s %s: %d, want %d\n%s", c.method, c.path, r.status, c.status, r.body)
					}
					if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, c.contentType) {
						t.Errorf("Content-Type %q, want %s", ct, c.contentType)
					}
					checkSecurityHeaders(t, c.method+" "+c.path, r.header, tls)
					if strings.HasPrefix(c.contentType, "text/html") {
						if m := inlineCode.FindString(r.body); m != "" {
							t.Errorf("page holds %q, which the CSP blocks", m)
						}
						if cc := r.header.Get("Cache-Control"); cc != "no-store" {
							t.Errorf("page Cache-Control %q, want no-store", cc)
						}
					}
				})
			}
		})
	}
}

func checkCookie(t *testing.T, c *http.Cookie, name, path string, tls bool) {
	t.Helper()
	if c == nil {
		t.Fatalf("no %s cookie set", name)
	}
	if !c.HttpOnly {
		t.Errorf("%s cookie is not HttpOnly", name)
	}
	if c.SameSite != http.SameSiteStrictMode {
		t.Errorf("%s cookie SameSite = %v, want Strict", name, c.SameSite)
	}
	if c.Secure != tls {
		t.Errorf("%s cookie Secure = %v, want %v (TLS %v)", name, c.Secure, tls, tls)
	}
	if c.Path != path {
		t.Errorf("%s cookie Path = %q, want %q", name, c.Path, path)
	}
}

func TestCookieFlags(t *testing.T) {
	for _, tls := range []bool{false, true} {
		name := "http"
		if tls {
			name = "https"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, tls)
			// API login.
			_, _, c := e.login()
			checkCookie(t, c, "xdr_session", "/", tls)
			if until := time.Until(c.Expires); until < 11*time.Hour || until > 13*time.Hour {
				t.Errorf("session cookie expires in %v, want about 12h", until)
			}
			// Page login: the CSRF cookie of the form, then the session.
			b := e.browser()
			p := e.get(b, "/login")
			checkCookie(t, p.cookie("xdr_login_csrf"), "xdr_login_csrf", "/login", tls)
			r := e.signIn(b, "/events", adminPassword)
			if r.status != http.StatusSeeOther {
				t.Fatalf("sign in: %d\n%s", r.status, r.body)
			}
			checkCookie(t, r.cookie("xdr_session"), "xdr_session", "/", tls)
			// The browser, which keeps Secure cookies for https only, is
			// signed in afterwards.
			if ev := e.get(b, "/events"); ev.status != http.StatusOK {
				t.Fatalf("GET /events after sign in: %d", ev.status)
			} else {
				checkSecurityHeaders(t, "events page", ev.header, tls)
				scheme := "http://"
				if tls {
					scheme = "https://"
				}
				// The empty state's curl command names this server.
				wantContains(t, "empty events page", ev.body, "No events yet", scheme+e.srv.Listener.Addr().String()+"/api/v1/ingest/json")
			}
			// Logout clears the cookie with the same flags.
			ev := e.get(b, "/events")
			csrf, _ := hiddenField(ev.body, "csrf")
			out := e.form(b, "/logout", map[string][]string{"csrf": {csrf}})
			if out.status != http.StatusSeeOther {
				t.Fatalf("logout: %d", out.status)
			}
			cleared := out.cookie("xdr_session")
			checkCookie(t, cleared, "xdr_session", "/", tls)
			if cleared.MaxAge >= 0 || cleared.Value != "" {
				t.Errorf("logout sets the session cookie to %q MaxAge %d, want it deleted", cleared.Value, cleared.MaxAge)
			}
		})
	}
}

func TestStaticAsset(t *testing.T) {
	e := newEnv(t, false)
	page := e.get(e.browser(), "/login")
	css, ok := linkHref(page.body, "link", `rel="stylesheet"`)
	if !ok || !regexp.MustCompile(`^/static/app\.[0-9a-f]{8}\.css$`).MatchString(css) {
		t.Fatalf("stylesheet link %q (found %v), want /static/app.<hash>.css", css, ok)
	}
	r := e.do("GET", css, "")
	if r.status != http.StatusOK {
		t.Fatalf("GET %s: %d", css, r.status)
	}
	if ct := r.header.Get("Content-Type"); ct != "text/css; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "immutable") || !strings.Contains(cc, "max-age=31536000") {
		t.Errorf("Cache-Control %q, want a year and immutable", cc)
	}
	if len(r.body) == 0 || !strings.Contains(r.body, "{") {
		t.Errorf("stylesheet body looks empty: %q", r.body)
	}
	etag := r.header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	if r := e.do("GET", css, "", "If-None-Match", etag); r.status != http.StatusNotModified {
		t.Errorf("If-None-Match: %d, want 304", r.status)
	}
}
