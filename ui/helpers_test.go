package ui_test

// Helpers of the ui tests: a real store, a real one-node Raft cluster, the
// real auth and ingest services and a Prometheus registry, wired into
// ui.New exactly as cmd/xdr/serve.go wires them, behind an httptest server.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/auth"
	"github.com/minixdr/xdr/appliance/command"
	"github.com/minixdr/xdr/appliance/detect"
	"github.com/minixdr/xdr/appliance/ingest"
	"github.com/minixdr/xdr/cluster"
	"github.com/minixdr/xdr/storage"
	"github.com/minixdr/xdr/storage/storetest"
	"github.com/minixdr/xdr/ui"
)

// adminPassword is the bootstrap admin's password in every test env.
const adminPassword = "Correct-Horse-Battery-Staple-42"

// env is one appliance node served over HTTP.
type env struct {
	t      *testing.T
	srv    *httptest.Server
	ui     *ui.Server
	store  *storage.Store
	node   *cluster.Node
	auth   *auth.Service
	reg    *prometheus.Registry
	client *http.Client     // no cookie jar, follows no redirects
	clock  *storetest.Clock // the auth service's
}

// freeAddr returns a loopback address nobody listens on, for Raft.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// newEnv starts a node and its HTTP server (HTTPS when useTLS); everything
// is stopped when the test ends, server first, then Raft, then the store.
func newEnv(t *testing.T, useTLS bool) *env {
	t.Helper()
	dir := t.TempDir()
	store := storetest.MustOpenStoreAt(t, filepath.Join(dir, "state"))
	reg := prometheus.NewRegistry()
	addr := freeAddr(t)
	pki, err := cluster.EnsurePKI(dir, addr)
	if err != nil {
		t.Fatal(err)
	}
	node, err := cluster.Open(cluster.Config{
		DataDir: dir, Addr: addr, FSM: store, Log: storetest.Discard, Metrics: reg, PKI: pki,
		HeartbeatTimeout: 50 * time.Millisecond, ElectionTimeout: 50 * time.Millisecond,
		ApplyTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatalf("open node: %v", err)
	}
	t.Cleanup(func() { node.Close() })
	if err := node.Bootstrap(); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := node.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	// The auth service's clock stands still unless a test advances it
	// (session expiry); everything else reads the wall clock.
	clock := storetest.NewClock(time.Now())
	authSvc, err := auth.New(node, store.SQL, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	// Bootstrap proposes and waits for its commands to be applied, so the
	// node is the leader and caught up when it returns.
	if created, err := authSvc.Bootstrap(ctx, adminPassword); err != nil || !created {
		t.Fatalf("bootstrap admin: created=%v err=%v", created, err)
	}
	ingestSvc := ingest.New(node, ingest.DefaultLimits, time.Now, reg)
	srv := ui.New(ui.Deps{
		Auth: authSvc, Ingest: ingestSvc, Events: store, Node: node, Cluster: node, State: store,
		Detect:  detect.NewService(node, store, time.Now),
		Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		Log:     storetest.Discard, TLS: useTLS,
	})
	var hs *httptest.Server
	if useTLS {
		hs = httptest.NewTLSServer(srv.Handler())
	} else {
		hs = httptest.NewServer(srv.Handler())
	}
	t.Cleanup(hs.Close)
	client := hs.Client()
	client.CheckRedirect = noRedirects
	return &env{t: t, srv: hs, ui: srv, store: store, node: node, auth: authSvc, reg: reg, client: client, clock: clock}
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// browser returns a client with a cookie jar that does not follow redirects.
func (e *env) browser() *http.Client {
	e.t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	c := e.srv.Client()
	return &http.Client{Transport: c.Transport, Jar: jar, CheckRedirect: noRedirects}
}

// resp is a read response.
type resp struct {
	status  int
	header  http.Header
	body    string
	cookies []*http.Cookie
}

// json decodes the body as a JSON object.
func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

func (r resp) cookie(name string) *http.Cookie {
	for _, c := range r.cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// send does one request with c and reads the whole answer.
func send(t *testing.T, c *http.Client, req *http.Request) resp {
	t.Helper()
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: string(b), cookies: res.Cookies()}
}

// newRequest builds a request to the env's server; headers alternate
// name, value.
func (e *env) newRequest(method, path string, body io.Reader, headers ...string) *http.Request {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json") // as API clients send; headers may override
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return req
}

// do is one request without cookies.
func (e *env) do(method, path, body string, headers ...string) resp {
	e.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	return send(e.t, e.client, e.newRequest(method, path, r, headers...))
}

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

// login signs in over the API and returns the session token, its CSRF token
// and the session cookie.
func (e *env) login() (token, csrf string, cookie *http.Cookie) {
	e.t.Helper()
	r := e.do("POST", "/api/v1/login", `{"username":"admin","password":"`+adminPassword+`"}`)
	if r.status != http.StatusOK {
		e.t.Fatalf("login: %d %s", r.status, r.body)
	}
	m := r.json(e.t)
	token, _ = m["token"].(string)
	csrf, _ = m["csrf"].(string)
	cookie = r.cookie("xdr_session")
	if token == "" || csrf == "" || cookie == nil {
		e.t.Fatalf("login answer lacks token, csrf or cookie: %s", r.body)
	}
	return token, csrf, cookie
}

// token creates a token directly with the auth service.
func (e *env) token(tenant, name, scope, role string) string {
	e.t.Helper()
	tok, err := e.auth.CreateToken(context.Background(), tenant, name, scope, role)
	if err != nil {
		e.t.Fatalf("create token %s: %v", name, err)
	}
	return tok
}

// createTenant adds a tenant through Raft (there is no API for it).
func (e *env) createTenant(name string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.node.Propose(ctx, &command.CreateTenant{Tenant: appliance.Tenant{Name: name, Created: time.Now().UTC()}}); err != nil {
		e.t.Fatalf("create tenant %s: %v", name, err)
	}
}

// ingest sends NDJSON lines with an ingest token and checks all are accepted.
func (e *env) ingest(tok string, lines ...string) {
	e.t.Helper()
	r := e.do("POST", "/api/v1/ingest/json", strings.Join(lines, "\n")+"\n", bearer(tok)...)
	if r.status != http.StatusOK {
		e.t.Fatalf("ingest: %d %s", r.status, r.body)
	}
	if m := r.json(e.t); m["accepted"] != float64(len(lines)) {
		e.t.Fatalf("ingest accepted %v of %d lines: %s", m["accepted"], len(lines), r.body)
	}
}

// eventLine is an NDJSON line of the json source.
func eventLine(ts time.Time, user, msg string) string {
	b, err := json.Marshal(map[string]any{
		"@timestamp": ts.UTC().Format(time.RFC3339Nano),
		"event":      map[string]any{"action": "ssh_login", "outcome": "failure"},
		"user":       map[string]any{"name": user},
		"source":     map[string]any{"ip": "10.0.0.7"},
		"host":       map[string]any{"name": "web-1"},
		"message":    msg,
	})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// events lists the ids of a search over the API.
func (e *env) eventIDs(tok, rawQuery string) (ids []string, next string) {
	e.t.Helper()
	r := e.do("GET", "/api/v1/events?"+rawQuery, "", bearer(tok)...)
	if r.status != http.StatusOK {
		e.t.Fatalf("search %q: %d %s", rawQuery, r.status, r.body)
	}
	var page struct {
		Events []struct {
			ID string `json:"id"`
		} `json:"events"`
		Next *string `json:"next"`
	}
	if err := json.Unmarshal([]byte(r.body), &page); err != nil {
		e.t.Fatalf("search %q: %v\n%s", rawQuery, err, r.body)
	}
	if page.Next == nil {
		e.t.Fatalf("search %q: answer has no next field: %s", rawQuery, r.body)
	}
	for _, ev := range page.Events {
		ids = append(ids, ev.ID)
	}
	return ids, *page.Next
}

func gzipped(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// hiddenField returns the value of the hidden input name in page; ok is
// false when there is none.
func hiddenField(page, name string) (string, bool) {
	re := regexp.MustCompile(`<input[^>]*\bname="` + regexp.QuoteMeta(name) + `"[^>]*\bvalue="([^"]*)"`)
	m := re.FindStringSubmatch(page)
	if m == nil {
		return "", false
	}
	return html.UnescapeString(m[1]), true
}

// linkHref returns the (unescaped) href of the first <a> or <link> whose
// other attributes match attr, e.g. `rel="next"`.
func linkHref(page, tag, attr string) (string, bool) {
	re := regexp.MustCompile(`<` + tag + `\b[^>]*?\bhref="([^"]*)"[^>]*\b` + attr + `|<` + tag + `\b[^>]*\b` + attr + `[^>]*?\bhref="([^"]*)"`)
	m := re.FindStringSubmatch(page)
	if m == nil {
		return "", false
	}
	return html.UnescapeString(m[1] + m[2]), true
}

// form posts url-encoded values with c.
func (e *env) form(c *http.Client, path string, v url.Values) resp {
	e.t.Helper()
	return send(e.t, c, e.newRequest("POST", path, strings.NewReader(v.Encode()), "Content-Type", "application/x-www-form-urlencoded"))
}

// get is a GET with c.
func (e *env) get(c *http.Client, path string) resp {
	e.t.Helper()
	return send(e.t, c, e.newRequest("GET", path, nil))
}

// signIn runs the page login with c and returns the answer of POST /login.
func (e *env) signIn(c *http.Client, next, password string) resp {
	e.t.Helper()
	p := e.get(c, "/login")
	if p.status != http.StatusOK {
		e.t.Fatalf("GET /login: %d", p.status)
	}
	csrf, ok := hiddenField(p.body, "csrf")
	if !ok {
		e.t.Fatalf("login page has no csrf field:\n%s", p.body)
	}
	return e.form(c, "/login", url.Values{"username": {"admin"}, "password": {password}, "csrf": {csrf}, "next": {next}})
}

// mustSignIn signs c in and fails unless it worked.
func (e *env) mustSignIn(c *http.Client) {
	e.t.Helper()
	if r := e.signIn(c, "/events", adminPassword); r.status != http.StatusSeeOther || r.header.Get("Location") != "/events" {
		e.t.Fatalf("sign in: %d Location %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
}

// wantContains fails for each of subs that s lacks.
func wantContains(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s lacks %q:\n%s", what, sub, s)
		}
	}
}

// wantNotContains fails for each of subs that s holds.
func wantNotContains(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			t.Errorf("%s holds %q:\n%s", what, sub, s)
		}
	}
}
