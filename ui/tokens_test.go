package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/auth"
	"github.com/minixdr/xdr/appliance/command"
)

var tokenSecret = regexp.MustCompile(`<code id="new-token">([^<]+)</code>`)

func TestPagesTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	b := e.browser()
	e.mustSignIn(b)
	page := e.get(b, "/tokens")
	if page.status != http.StatusOK {
		t.Fatalf("GET /tokens: %d", page.status)
	}
	wantContains(t, "tokens page", page.body, "No tokens yet", `action="/tokens"`, `aria-current="page"`)
	csrf, _ := hiddenField(page.body, "csrf")

	t.Run("create needs the CSRF token", func(t *testing.T) {
		r := e.form(b, "/tokens", url.Values{"name": {"forged"}, "scope": {"ingest"}})
		if r.status != http.StatusForbidden {
			t.Errorf("create without csrf: %d, want 403", r.status)
		}
		if toks, _ := e.auth.Tokens(context.Background(), "default"); len(toks) != 0 {
			t.Errorf("a forged form created a token: %+v", toks)
		}
	})

	t.Run("a bad name is explained in the page", func(t *testing.T) {
		r := e.form(b, "/tokens", url.Values{"csrf": {csrf}, "name": {"Bad Name"}, "scope": {"ingest"}})
		if r.status != http.StatusBadRequest {
			t.Errorf("bad name: %d, want 400", r.status)
		}
		wantContains(t, "page", r.body, `role="alert"`, "token name &#34;Bad Name&#34;", `value="Bad Name"`)
	})

	var secret, id string
	t.Run("create shows the token once and it ingests", func(t *testing.T) {
		r := e.form(b, "/tokens", url.Values{"csrf": {csrf}, "name": {"fw-01"}, "scope": {"ingest"}, "role": {"soc_analyst"}})
		if r.status != http.StatusCreated {
			t.Fatalf("create: %d\n%s", r.status, r.body)
		}
		m := tokenSecret.FindStringSubmatch(r.body)
		if m == nil {
			t.Fatalf("the new token is not shown:\n%s", r.body)
		}
		secret = m[1]
		wantContains(t, "page", r.body, "will not be shown again", "/api/v1/ingest/json", "<td>fw-01</td>")
		if r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("the page with the secret has Cache-Control %q, want no-store", r.header.Get("Cache-Control"))
		}
		e.ingest(secret, eventLine(time.Now(), "alice", "hello"))
		list := e.get(b, "/tokens")
		wantNotContains(t, "tokens page after create", list.body, secret)
		id, _ = hiddenField(list.body, "token")
	})

	t.Run("revoke", func(t *testing.T) {
		if r := e.form(b, "/tokens/revoke", url.Values{"token": {id}, "name": {"fw-01"}}); r.status != http.StatusForbidden {
			t.Errorf("revoke without csrf: %d, want 403", r.status)
		}
		r := e.form(b, "/tokens/revoke", url.Values{"csrf": {csrf}, "token": {id}, "name": {"fw-01"}})
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/tokens?revoked=fw-01" {
			t.Fatalf("revoke: %d Location %q\n%s", r.status, r.header.Get("Location"), r.body)
		}
		wantContains(t, "page after revoke", e.get(b, "/tokens?revoked=fw-01").body, "Token fw-01 was revoked", "No tokens yet")
		if r := e.do("POST", "/api/v1/ingest/json", eventLine(time.Now(), "x", "y")+"\n", bearer(secret)...); r.status != http.StatusUnauthorized {
			t.Errorf("ingest with a revoked token: %d, want 401", r.status)
		}
		again := e.form(b, "/tokens/revoke", url.Values{"csrf": {csrf}, "token": {id}, "name": {"fw-01"}})
		if again.status != http.StatusNotFound {
			t.Errorf("revoke twice: %d, want 404", again.status)
		}
		wantContains(t, "page", again.body, `role="alert"`, "already revoked")
		if r := e.form(b, "/tokens/revoke", url.Values{"csrf": {csrf}, "token": {"zz"}}); r.status != http.StatusBadRequest {
			t.Errorf("revoke with a malformed id: %d, want 400", r.status)
		}
	})

	t.Run("analysts may not manage tokens", func(t *testing.T) {
		hash, err := auth.HashPassword("analyst-password-1")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		u := appliance.User{Tenant: "default", Name: "ana", Role: appliance.RoleSOCAnalyst, PasswordHash: hash, Created: time.Now()}
		if err := e.node.Propose(ctx, &command.CreateUser{User: u}); err != nil {
			t.Fatal(err)
		}
		ab := e.browser()
		lp := e.get(ab, "/login")
		lcsrf, _ := hiddenField(lp.body, "csrf")
		if r := e.form(ab, "/login", url.Values{"username": {"ana"}, "password": {"analyst-password-1"}, "csrf": {lcsrf}}); r.status != http.StatusSeeOther {
			t.Fatalf("analyst sign in: %d", r.status)
		}
		r := e.get(ab, "/tokens")
		if r.status != http.StatusForbidden || !strings.Contains(r.body, "security_admin") {
			t.Errorf("analyst GET /tokens: %d\n%s", r.status, r.body)
		}
		dash := e.get(ab, "/dashboard")
		acsrf, _ := hiddenField(dash.body, "csrf")
		if r := e.form(ab, "/tokens", url.Values{"csrf": {acsrf}, "name": {"sneaky"}, "scope": {"api"}, "role": {"super_admin"}}); r.status != http.StatusForbidden {
			t.Errorf("analyst create: %d, want 403", r.status)
		}
	})

	t.Run("many tokens are listed a page at a time", func(t *testing.T) {
		for i := range 55 {
			e.token("default", fmt.Sprintf("sensor-%02d", i), "ingest", "")
		}
		first := e.get(b, "/tokens")
		wantContains(t, "first page", first.body, "tokens by name, page 1 of 2", "<td>sensor-00</td>")
		next, ok := linkHref(first.body, "a", `rel="next"`)
		if !ok {
			t.Fatalf("no next page link:\n%s", first.body)
		}
		second := e.get(b, next)
		wantContains(t, "second page", second.body, "page 2 of 2", `rel="prev"`, "<td>sensor-54</td>")
		wantNotContains(t, "second page", second.body, "<td>sensor-00</td>")
	})
}
