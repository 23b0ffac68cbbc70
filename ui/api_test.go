package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// apiScenario is one request to the JSON API and what must come back.
type apiScenario struct {
	name    string
	method  string
	path    string
	auth    string   // a key of the credentials map: how the request authenticates
	headers []string // more headers, name then value
	body    string
	status  int
	// wantBody are substrings of the body; wantJSON are top-level fields of
	// the JSON object answered, compared exactly; wantPrefix are top-level
	// string fields that must start with the given text.
	wantBody   []string
	wantJSON   map[string]any
	wantPrefix map[string]string
}

// apiCreds are the ways a scenario can authenticate.
type apiCreds struct {
	session, csrf, ingest, api, analyst, secAdmin, acmeIngest, acmeAPI string
}

func (c apiCreds) headers(t *testing.T, auth string) []string {
	t.Helper()
	switch auth {
	case "":
		return nil
	case "session":
		return bearer(c.session)
	case "ingest":
		return bearer(c.ingest)
	case "api":
		return bearer(c.api)
	case "analyst":
		return bearer(c.analyst)
	case "secadmin":
		return bearer(c.secAdmin)
	case "acme-ingest":
		return bearer(c.acmeIngest)
	case "acme-api":
		return bearer(c.acmeAPI)
	case "bogus":
		return bearer("xdrt_not-a-real-token")
	case "basic":
		return []string{"Authorization", "Basic YWRtaW46cGFzc3dvcmQ="}
	case "cookie":
		return []string{"Cookie", "xdr_session=" + c.session}
	case "cookie+csrf":
		return []string{"Cookie", "xdr_session=" + c.session, "X-CSRF-Token", c.csrf}
	case "cookie+badcsrf":
		return []string{"Cookie", "xdr_session=" + c.session, "X-CSRF-Token", c.csrf + "x"}
	}
	t.Fatalf("unknown auth %q", auth)
	return nil
}

func runScenarios(t *testing.T, e *env, creds apiCreds, scenarios []apiScenario) {
	t.Helper()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			headers := append(creds.headers(t, sc.auth), sc.headers...)
			var r resp
			{
				req := e.newRequest(sc.method, sc.path, nil, headers...)
				if sc.body != "" {
					req = e.newRequest(sc.method, sc.path, strings.NewReader(sc.body), headers...)
				}
				r = send(t, e.client, req)
			}
			if r.status != sc.status {
				t.Fatalf("%s %s: status %d, want %d\n%s", sc.method, sc.path, r.status, sc.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); r.status != http.StatusNoContent && !strings.HasPrefix(ct, "application/json") &&
				!strings.HasPrefix(ct, "text/plain") { // the Prometheus exposition format
				t.Errorf("Content-Type %q, want JSON", ct)
			}
			wantContains(t, "body", r.body, sc.wantBody...)
			if len(sc.wantJSON) > 0 || len(sc.wantPrefix) > 0 {
				m := r.json(t)
				for k, want := range sc.wantJSON {
					if got, ok := m[k]; !ok || fmt.Sprint(got) != fmt.Sprint(want) {
						t.Errorf("field %q = %v (present %v), want %v\n%s", k, got, ok, want, r.body)
					}
				}
				for k, prefix := range sc.wantPrefix {
					if s, _ := m[k].(string); !strings.HasPrefix(s, prefix) {
						t.Errorf("field %q = %v, want a string starting %q", k, m[k], prefix)
					}
				}
			}
			if r.status >= 400 {
				if m := r.json(t); m["error"] == nil || m["error"] == "" {
					t.Errorf("error answer without an error message: %s", r.body)
				}
			}
		})
	}
}

// newAPIEnv starts a node with a second tenant acme and the credentials
// of apiCreds; the tokens of tenant default are made over the API by the
// admin's login session.
func newAPIEnv(t *testing.T) (*env, apiCreds) {
	t.Helper()
	e := newEnv(t, false)
	var c apiCreds
	c.session, c.csrf, _ = e.login()
	mk := func(body string) string {
		r := e.do("POST", "/api/v1/tokens", body, bearer(c.session)...)
		if r.status != http.StatusCreated {
			t.Fatalf("create token %s: %d %s", body, r.status, r.body)
		}
		tok, _ := r.json(t)["token"].(string)
		if !strings.HasPrefix(tok, "xdrt_") {
			t.Fatalf("create token %s: token %q lacks the xdrt_ prefix", body, tok)
		}
		return tok
	}
	c.ingest = mk(`{"name":"sensor-1"}`) // scope defaults to ingest
	c.api = mk(`{"name":"automation","scope":"api","role":"super_admin"}`)
	c.analyst = mk(`{"name":"analyst","scope":"api"}`) // role defaults to soc_analyst
	c.secAdmin = mk(`{"tenant":"default","name":"secadmin","scope":"api","role":"security_admin"}`)
	e.createTenant("acme")
	c.acmeIngest = e.token("acme", "acme-sensor", "ingest", "")
	c.acmeAPI = e.token("acme", "acme-api", "api", "soc_analyst")
	return e, c
}

func TestAPI(t *testing.T) {
	e, c := newAPIEnv(t)
	line := eventLine(time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC), "root", "Failed password for root")
	scenarios := []apiScenario{
		// Login.
		{name: "login/good", method: "POST", path: "/api/v1/login", body: `{"username":"admin","password":"` + adminPassword + `"}`,
			status: 200, wantPrefix: map[string]string{"token": "xdrs_", "csrf": ""}},
		{name: "login/wrong password", method: "POST", path: "/api/v1/login", body: `{"username":"admin","password":"nope"}`,
			status: 401, wantJSON: map[string]any{"error": "wrong user name or password"}},
		{name: "login/unknown user", method: "POST", path: "/api/v1/login", body: `{"username":"nobody","password":"` + adminPassword + `"}`,
			status: 401, wantJSON: map[string]any{"error": "wrong user name or password"}},
		{name: "login/unknown field", method: "POST", path: "/api/v1/login", body: `{"username":"admin","password":"` + adminPassword + `","remember":true}`,
			status: 400, wantBody: []string{`unknown field \"remember\"`}},
		{name: "login/not JSON", method: "POST", path: "/api/v1/login", body: `username=admin`, status: 400, wantBody: []string{"request body"}},
		// A cross-site form can send text/plain but not application/json:
		// refusing it stops login CSRF through the API.
		{name: "login/text plain", method: "POST", path: "/api/v1/login", body: `{"username":"admin","password":"` + adminPassword + `"}`,
			headers: []string{"Content-Type", "text/plain"}, status: 400, wantBody: []string{"Content-Type: application/json"}},
		{name: "login/empty body", method: "POST", path: "/api/v1/login", headers: []string{"Content-Type", "application/json"},
			status: 400, wantBody: []string{"request body"}},

		// Tokens.
		{name: "tokens/session creates ingest token", method: "POST", path: "/api/v1/tokens", auth: "session",
			body: `{"name":"fw-01","scope":"ingest"}`, status: 201, wantPrefix: map[string]string{"token": "xdrt_"}},
		{name: "tokens/api token creates api token", method: "POST", path: "/api/v1/tokens", auth: "api",
			body: `{"name":"ro","scope":"api","role":"read_only_analyst"}`, status: 201, wantPrefix: map[string]string{"token": "xdrt_"}},
		{name: "tokens/super_admin for another tenant", method: "POST", path: "/api/v1/tokens", auth: "session",
			body: `{"tenant":"acme","name":"fw-02"}`, status: 201, wantPrefix: map[string]string{"token": "xdrt_"}},
		{name: "tokens/security_admin for own tenant", method: "POST", path: "/api/v1/tokens", auth: "secadmin",
			body: `{"name":"fw-03"}`, status: 201, wantPrefix: map[string]string{"token": "xdrt_"}},
		{name: "tokens/soc_analyst is forbidden", method: "POST", path: "/api/v1/tokens", auth: "analyst",
			body: `{"name":"fw-04"}`, status: 403, wantBody: []string{"super_admin or security_admin"}},
		{name: "tokens/ingest token is forbidden", method: "POST", path: "/api/v1/tokens", auth: "ingest",
			body: `{"name":"fw-05"}`, status: 403, wantBody: []string{"ingest token"}},
		{name: "tokens/security_admin for another tenant", method: "POST", path: "/api/v1/tokens", auth: "secadmin",
			body: `{"tenant":"acme","name":"fw-06"}`, status: 403, wantBody: []string{"another tenant"}},
		{name: "tokens/security_admin grants super_admin", method: "POST", path: "/api/v1/tokens", auth: "secadmin",
			body: `{"name":"fw-07","scope":"api","role":"super_admin"}`, status: 403, wantBody: []string{"grant super_admin"}},
		{name: "tokens/bad scope", method: "POST", path: "/api/v1/tokens", auth: "session",
			body: `{"name":"fw-08","scope":"admin"}`, status: 400, wantBody: []string{`scope \"admin\"`}},
		{name: "tokens/bad name", method: "POST", path: "/api/v1/tokens", auth: "session",
			body: `{"name":"Bad Name!"}`, status: 400, wantBody: []string{"token name"}},
		{name: "tokens/empty name", method: "POST", path: "/api/v1/tokens", auth: "session",
			body: `{"scope":"ingest"}`, status: 400, wantBody: []string{"token name"}},
		{name: "tokens/bad role", method: "POST", path: "/api/v1/tokens", auth: "session",
			body: `{"name":"fw-09","scope":"api","role":"root"}`, status: 400, wantBody: []string{"built-in role"}},
		{name: "tokens/missing tenant", method: "POST", path: "/api/v1/tokens", auth: "session",
			body: `{"tenant":"nope","name":"fw-10"}`, status: 404, wantBody: []string{`tenant \"nope\" does not exist`}},
		{name: "tokens/unknown field", method: "POST", path: "/api/v1/tokens", auth: "session",
			body: `{"name":"fw-11","expires":"never"}`, status: 400, wantBody: []string{"unknown field"}},
		{name: "tokens/no credentials", method: "POST", path: "/api/v1/tokens",
			body: `{"name":"fw-12"}`, status: 401, wantJSON: map[string]any{"error": "missing, unknown or expired credentials"}},
		{name: "tokens/non-bearer Authorization", method: "POST", path: "/api/v1/tokens", auth: "basic",
			body: `{"name":"fw-13"}`, status: 401},
		{name: "tokens/cookie without CSRF", method: "POST", path: "/api/v1/tokens", auth: "cookie",
			body: `{"name":"fw-14"}`, status: 403, wantBody: []string{"CSRF"}},
		{name: "tokens/cookie with wrong CSRF", method: "POST", path: "/api/v1/tokens", auth: "cookie+badcsrf",
			body: `{"name":"fw-15"}`, status: 403, wantBody: []string{"CSRF"}},
		{name: "tokens/cookie with CSRF", method: "POST", path: "/api/v1/tokens", auth: "cookie+csrf",
			body: `{"name":"fw-16"}`, status: 201, wantPrefix: map[string]string{"token": "xdrt_"}},

		// Ingest.
		{name: "ingest/ok", method: "POST", path: "/api/v1/ingest/json", auth: "ingest", body: line + "\n",
			status: 200, wantJSON: map[string]any{"accepted": 1, "rejected": 0, "errors": []any{}}},
		{name: "ingest/bad line kept apart", method: "POST", path: "/api/v1/ingest/json", auth: "ingest", body: line + "\nnot json\n",
			status: 200, wantJSON: map[string]any{"accepted": 1, "rejected": 1}, wantBody: []string{`"line":2`}},
		{name: "ingest/gzip", method: "POST", path: "/api/v1/ingest/json", auth: "ingest", body: gzipped(t, line+"\n"+line+"\n"),
			headers: []string{"Content-Encoding", "gzip"}, status: 200, wantJSON: map[string]any{"accepted": 2, "rejected": 0}},
		{name: "ingest/GZIP in capitals", method: "POST", path: "/api/v1/ingest/json", auth: "ingest", body: gzipped(t, line),
			headers: []string{"Content-Encoding", "GZIP"}, status: 200, wantJSON: map[string]any{"accepted": 1}},
		{name: "ingest/identity", method: "POST", path: "/api/v1/ingest/json", auth: "ingest", body: line,
			headers: []string{"Content-Encoding", "identity"}, status: 200, wantJSON: map[string]any{"accepted": 1}},
		{name: "ingest/bad gzip", method: "POST", path: "/api/v1/ingest/json", auth: "ingest", body: line,
			headers: []string{"Content-Encoding", "gzip"}, status: 400, wantBody: []string{"not valid gzip"}},
		{name: "ingest/unsupported encoding", method: "POST", path: "/api/v1/ingest/json", auth: "ingest", body: line,
			headers: []string{"Content-Encoding", "br"}, status: 400, wantBody: []string{`unsupported Content-Encoding \"br\"`}},
		{name: "ingest/unknown source", method: "POST", path: "/api/v1/ingest/no-such-source", auth: "ingest", body: line,
			status: 400, wantBody: []string{`unknown source \"no-such-source\"`}},
		{name: "ingest/Idempotency-Key too long", method: "POST", path: "/api/v1/ingest/json", auth: "ingest", body: line,
			headers: []string{"Idempotency-Key", strings.Repeat("k", 129)}, status: 400, wantBody: []string{"128"}},
		{name: "ingest/no token", method: "POST", path: "/api/v1/ingest/json", body: line, status: 401},
		{name: "ingest/unknown token", method: "POST", path: "/api/v1/ingest/json", auth: "bogus", body: line, status: 401},
		{name: "ingest/api token may ingest", method: "POST", path: "/api/v1/ingest/json", auth: "api", body: line,
			status: 200, wantJSON: map[string]any{"accepted": 1}},
		{name: "ingest/cookie without CSRF", method: "POST", path: "/api/v1/ingest/json", auth: "cookie", body: line,
			status: 403, wantBody: []string{"CSRF"}},
		{name: "ingest/cookie with CSRF", method: "POST", path: "/api/v1/ingest/json", auth: "cookie+csrf", body: line,
			status: 200, wantJSON: map[string]any{"accepted": 1}},
		{name: "ingest/GET is the wrong method", method: "GET", path: "/api/v1/ingest/json", auth: "ingest",
			status: 405, wantBody: []string{"GET is not allowed on /api/v1/ingest/json; use POST"}},

		// Unknown API paths answer JSON, not the HTML 404 page.
		{name: "unknown/api path", method: "GET", path: "/api/v1/nothing", auth: "api",
			status: 404, wantJSON: map[string]any{"error": "no API endpoint GET /api/v1/nothing"}},
		{name: "unknown/api path without auth", method: "DELETE", path: "/api/v2/events",
			status: 404, wantJSON: map[string]any{"error": "no API endpoint DELETE /api/v2/events"}},

		// Health needs no credentials.
		{name: "health/live", method: "GET", path: "/healthz/live", status: 200, wantJSON: map[string]any{"status": "alive"}},
		{name: "health/ready", method: "GET", path: "/healthz/ready", status: 200, wantJSON: map[string]any{"status": "ready"}},

		// Metrics.
		{name: "metrics/no token", method: "GET", path: "/metrics", status: 401},
		{name: "metrics/ingest token", method: "GET", path: "/metrics", auth: "ingest", status: 403, wantBody: []string{"ingest token"}},
	}
	runScenarios(t, e, c, scenarios)

	// After the ingests above, the metrics show them and Raft's latency.
	runScenarios(t, e, c, []apiScenario{
		{name: "metrics/api token", method: "GET", path: "/metrics", auth: "api", status: 200,
			wantBody: []string{`xdr_events_accepted_total{source="json"}`, "xdr_raft_apply_seconds_bucket", "xdr_raft_apply_seconds_count",
				"xdr_ingest_batches_in_flight"}},
		{name: "metrics/session", method: "GET", path: "/metrics", auth: "session", status: 200,
			wantBody: []string{"xdr_events_accepted_total"}},
	})
	r := e.do("GET", "/metrics", "", bearer(c.api)...)
	if !strings.Contains(r.body, `xdr_events_accepted_total{source="json"} 8`) {
		t.Errorf("metrics do not count the 8 events ingested:\n%s", grepLines(r.body, "xdr_events_accepted_total"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestAPIOversizedJSONBody: a login or token body over the 64 KiB limit is
// refused. docs/api.md promises "413 over a size limit" (ETOOLARGE).
func TestAPIOversizedJSONBody(t *testing.T) {
	e, c := newAPIEnv(t)
	big := strings.Repeat("a", 70<<10)
	for _, sc := range []struct{ name, path, auth, body string }{
		{"login", "/api/v1/login", "", `{"username":"admin","password":"` + big + `"}`},
		{"tokens", "/api/v1/tokens", "session", `{"name":"` + big + `"}`},
	} {
		t.Run(sc.name, func(t *testing.T) {
			r := e.do("POST", sc.path, sc.body, c.headers(t, sc.auth)...)
			if r.status < 400 {
				t.Fatalf("oversized body accepted: %d %s", r.status, r.body)
			}
			if r.status != http.StatusRequestEntityTooLarge {
				t.Errorf("oversized body: status %d, want 413 (docs/api.md: 413 over a size limit): %s", r.status, r.body)
			}
			wantContains(t, "body", r.body, "request body")
		})
	}
}

func TestAPIIdempotencyKey(t *testing.T) {
	e, c := newAPIEnv(t)
	a := eventLine(time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC), "alice", "first")
	b := eventLine(time.Date(2024, 3, 1, 12, 0, 1, 0, time.UTC), "bob", "second")
	post := func(body string) resp {
		return e.do("POST", "/api/v1/ingest/json", body, append(bearer(c.acmeIngest), "Idempotency-Key", "batch-1")...)
	}
	if r := post(a + "\n"); r.status != http.StatusOK {
		t.Fatalf("first send: %d %s", r.status, r.body)
	}
	if r := post(a + "\n"); r.status != http.StatusOK {
		t.Fatalf("retry with the same key and body: %d %s", r.status, r.body)
	}
	if ids, _ := e.eventIDs(c.acmeAPI, ""); len(ids) != 1 {
		t.Errorf("after a retry with the same key: %d events stored, want 1", len(ids))
	}
	r := post(b + "\n")
	if r.status != http.StatusConflict {
		t.Fatalf("same key, other body: %d %s, want 409", r.status, r.body)
	}
	if m := r.json(t); m["error"] == "" || m["error"] == nil {
		t.Errorf("409 without an error message: %s", r.body)
	}
	if ids, _ := e.eventIDs(c.acmeAPI, ""); len(ids) != 1 {
		t.Errorf("after a conflicting send: %d events stored, want 1", len(ids))
	}
}

func TestAPIEvents(t *testing.T) {
	e, c := newAPIEnv(t)
	base := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	var lines []string
	for i := range 5 {
		lines = append(lines, eventLine(base.Add(time.Duration(i)*time.Minute), []string{"root", "alice"}[i%2], fmt.Sprintf("event %d", i)))
	}
	e.ingest(c.acmeIngest, lines...)
	all, next := e.eventIDs(c.acmeAPI, "")
	if len(all) != 5 || next != "" {
		t.Fatalf("all events: %d ids, next %q; want 5 and no next page", len(all), next)
	}
	sorted := slices.Clone(all)
	slices.Sort(sorted)
	slices.Reverse(sorted)
	if !slices.Equal(all, sorted) {
		t.Errorf("events are not newest first: %v", all)
	}
	// Tenant default sees none of acme's events.
	if ids, _ := e.eventIDs(c.api, ""); len(ids) != 0 {
		t.Errorf("tenant default sees %d events of tenant acme", len(ids))
	}

	t.Run("pagination", func(t *testing.T) {
		var got []string
		cursor := ""
		for pages := 1; ; pages++ {
			q := "limit=2"
			if cursor != "" {
				q += "&cursor=" + cursor
			}
			ids, next := e.eventIDs(c.acmeAPI, q)
			if len(ids) > 2 {
				t.Fatalf("page %d has %d events, limit 2", pages, len(ids))
			}
			got = append(got, ids...)
			if next == "" {
				if pages != 3 {
					t.Errorf("%d pages, want 3", pages)
				}
				break
			}
			if pages > 5 {
				t.Fatal("pagination does not end")
			}
			cursor = next
		}
		if !slices.Equal(got, all) {
			t.Errorf("pages hold %v, want %v", got, all)
		}
	})
	t.Run("query and time range", func(t *testing.T) {
		if ids, _ := e.eventIDs(c.acmeAPI, "q=user.name:alice"); len(ids) != 2 {
			t.Errorf("user.name:alice: %d events, want 2", len(ids))
		}
		// Inclusive bounds: 12:01 to 12:03 hold events 1, 2 and 3.
		ids, _ := e.eventIDs(c.acmeAPI, "from=2024-03-01T12:01:00Z&to=2024-03-01T12:03:00Z")
		if !slices.Equal(ids, all[1:4]) {
			t.Errorf("12:01-12:03: %v, want %v", ids, all[1:4])
		}
		if ids, _ := e.eventIDs(c.acmeAPI, "from=2024-03-01T14:00:00%2B02:00"); len(ids) != 5 {
			t.Errorf("from 14:00+02:00 (= 12:00Z): %d events, want 5", len(ids))
		}
	})

	absent := "00000000000000000000000000000000"
	runScenarios(t, e, c, []apiScenario{
		{name: "search/syntax error", method: "GET", path: "/api/v1/events?q=user.name:", auth: "acme-api",
			status: 400, wantBody: []string{"query: position 11"}},
		{name: "search/unbalanced paren", method: "GET", path: "/api/v1/events?q=%28a", auth: "acme-api",
			status: 400, wantBody: []string{"position"}},
		{name: "search/bad from", method: "GET", path: "/api/v1/events?from=yesterday", auth: "acme-api",
			status: 400, wantBody: []string{`from=\"yesterday\" is not an RFC 3339 time`}},
		{name: "search/bad to", method: "GET", path: "/api/v1/events?to=2024-13-01", auth: "acme-api",
			status: 400, wantBody: []string{"to=", "RFC 3339"}},
		{name: "search/limit zero", method: "GET", path: "/api/v1/events?limit=0", auth: "acme-api",
			status: 400, wantBody: []string{"limit=", "positive number"}},
		{name: "search/limit not a number", method: "GET", path: "/api/v1/events?limit=ten", auth: "acme-api",
			status: 400, wantBody: []string{"positive number"}},
		{name: "search/bad cursor", method: "GET", path: "/api/v1/events?cursor=zz", auth: "acme-api",
			status: 400, wantBody: []string{"not a cursor"}},
		{name: "search/ingest token", method: "GET", path: "/api/v1/events", auth: "acme-ingest", status: 403},
		{name: "search/no credentials", method: "GET", path: "/api/v1/events", status: 401},
		{name: "search/no match", method: "GET", path: "/api/v1/events?q=user.name:nobody", auth: "acme-api",
			status: 200, wantJSON: map[string]any{"events": []any{}, "next": ""}},
		{name: "get/found", method: "GET", path: "/api/v1/events/" + all[0], auth: "acme-api",
			status: 200, wantJSON: map[string]any{"id": all[0], "tenant": "acme", "message": "event 4", "user.name": "root"},
			wantBody: []string{`"original":`}},
		{name: "get/other tenant", method: "GET", path: "/api/v1/events/" + all[0], auth: "api", status: 404},
		{name: "get/absent", method: "GET", path: "/api/v1/events/" + absent, auth: "acme-api", status: 404},
		{name: "get/bad id", method: "GET", path: "/api/v1/events/not-an-id", auth: "acme-api",
			status: 400, wantBody: []string{"32 hex digits"}},
		{name: "get/ingest token", method: "GET", path: "/api/v1/events/" + all[0], auth: "acme-ingest", status: 403},
	})
}

func TestAPILogout(t *testing.T) {
	e := newEnv(t, false)
	alive := func(tok string) bool {
		return e.do("GET", "/api/v1/events", "", bearer(tok)...).status == http.StatusOK
	}
	t.Run("token", func(t *testing.T) {
		tok, _, _ := e.login()
		if r := e.do("POST", "/api/v1/logout", "", bearer(tok)...); r.status != http.StatusNoContent {
			t.Fatalf("logout: %d %s", r.status, r.body)
		}
		if alive(tok) {
			t.Error("the session works after logout")
		}
	})
	t.Run("cookie without CSRF", func(t *testing.T) {
		tok, _, _ := e.login()
		r := e.do("POST", "/api/v1/logout", "", "Cookie", "xdr_session="+tok)
		if r.status != http.StatusForbidden {
			t.Fatalf("logout without CSRF: %d %s, want 403", r.status, r.body)
		}
		wantContains(t, "body", r.body, "CSRF")
		if !alive(tok) {
			t.Error("a refused logout ended the session")
		}
	})
	t.Run("cookie with CSRF", func(t *testing.T) {
		tok, csrf, _ := e.login()
		r := e.do("POST", "/api/v1/logout", "", "Cookie", "xdr_session="+tok, "X-CSRF-Token", csrf)
		if r.status != http.StatusNoContent {
			t.Fatalf("logout: %d %s, want 204", r.status, r.body)
		}
		if c := r.cookie("xdr_session"); c == nil || c.Value != "" || c.MaxAge >= 0 {
			t.Errorf("logout does not clear the session cookie: %+v", c)
		}
		if alive(tok) {
			t.Error("the session works after logout")
		}
		if r := e.do("GET", "/api/v1/events", "", "Cookie", "xdr_session="+tok); r.status != http.StatusUnauthorized {
			t.Errorf("the cookie works after logout: %d", r.status)
		}
	})
	t.Run("api token is not ended", func(t *testing.T) {
		tok := e.token("default", "keep", "api", "")
		if r := e.do("POST", "/api/v1/logout", "", bearer(tok)...); r.status != http.StatusNoContent {
			t.Fatalf("logout with an api token: %d %s", r.status, r.body)
		}
		if !alive(tok) {
			t.Error("logout with an api token revoked it")
		}
	})
}

func TestAdminHandler(t *testing.T) {
	e := newEnv(t, false)
	admin := httptest.NewServer(e.ui.AdminHandler())
	t.Cleanup(admin.Close)
	post := func(body string) (int, map[string]any) {
		t.Helper()
		res, err := http.Post(admin.URL+"/admin/tokens", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
			t.Fatalf("answer is not JSON: %v", err)
		}
		return res.StatusCode, m
	}
	st, m := post(`{"tenant":"default","name":"first-sensor"}`)
	tok, _ := m["token"].(string)
	if st != http.StatusCreated || !strings.HasPrefix(tok, "xdrt_") {
		t.Fatalf("create token: %d %v", st, m)
	}
	p, err := e.auth.Authenticate(context.Background(), tok)
	if err != nil || p.Scope != "ingest" || p.Tenant != "default" {
		t.Errorf("the admin token authenticates as %+v (%v), want an ingest token of default", p, err)
	}
	// An ingest-scoped token made over the socket ingests but cannot read.
	e.ingest(tok, eventLine(time.Now(), "root", "hello"))
	if r := e.do("GET", "/api/v1/events", "", bearer(tok)...); r.status != http.StatusForbidden {
		t.Errorf("ingest token reads events: %d", r.status)
	}
	for _, c := range []struct {
		body   string
		status int
	}{
		{`{"tenant":"nope","name":"x"}`, http.StatusNotFound},
		{`{"tenant":"default","name":"x","scope":"api","role":"super_admin"}`, http.StatusCreated},
		{`{"tenant":"default","name":"x","bogus":1}`, http.StatusBadRequest},
		{`not json`, http.StatusBadRequest},
	} {
		if st, m := post(c.body); st != c.status {
			t.Errorf("admin POST %s: %d %v, want %d", c.body, st, m, c.status)
		}
	}
	res, err := http.Get(admin.URL + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("pprof index: %d", res.StatusCode)
	}
	// The admin routes are not on the public handler.
	if r := e.do("POST", "/admin/tokens", `{"tenant":"default","name":"y"}`); r.status != http.StatusNotFound {
		t.Errorf("public POST /admin/tokens: %d, want 404", r.status)
	}
	if r := e.do("GET", "/debug/pprof/", ""); r.status != http.StatusNotFound {
		t.Errorf("public GET /debug/pprof/: %d, want 404", r.status)
	}
}
