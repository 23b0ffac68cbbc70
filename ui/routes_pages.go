package ui

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/ui/pages"
	"github.com/minixdr/xdr/ui/static"
)

// loginCSRFCookie carries the double-submit token of the login form, which
// is posted before any session exists.
const loginCSRFCookie = "xdr_login_csrf"

// pageRoutes registers the analyst pages.
func (s *Server) pageRoutes(mux *http.ServeMux) {
	mux.Handle(static.Prefix, static.Handler())
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /login", s.loginPage)
	mux.HandleFunc("POST /login", s.loginSubmit)
	mux.Handle("POST /logout", s.requirePageSession(http.HandlerFunc(s.logoutSubmit)))
	mux.Handle("POST /theme", s.requirePageSession(http.HandlerFunc(s.themeSubmit)))
	mux.Handle("GET /dashboard", s.requirePageSession(http.HandlerFunc(s.dashboardPage)))
	mux.Handle("GET /tokens", s.requirePageSession(http.HandlerFunc(s.tokensPage)))
	mux.Handle("POST /tokens", s.requirePageSession(http.HandlerFunc(s.tokenCreate)))
	mux.Handle("POST /tokens/revoke", s.requirePageSession(http.HandlerFunc(s.tokenRevoke)))
	mux.Handle("GET /alerts", s.requirePageSession(http.HandlerFunc(s.alertsPage)))
	mux.Handle("GET /incidents", s.requirePageSession(http.HandlerFunc(s.incidentsPage)))
	mux.Handle("GET /incidents/{id}", s.requirePageSession(http.HandlerFunc(s.incidentPage)))
	mux.Handle("POST /incidents/{id}", s.requirePageSession(http.HandlerFunc(s.incidentUpdate)))
	mux.Handle("GET /incidents/{id}/evidence.zip", s.requirePageSession(http.HandlerFunc(s.evidenceExport)))
	mux.Handle("POST /incidents/{id}/evidence", s.requirePageSession(http.HandlerFunc(s.evidenceJob)))
	mux.Handle("GET /jobs/{id}", s.requirePageSession(http.HandlerFunc(s.jobPage)))
	mux.Handle("GET /jobs/{id}/status", s.requirePageSession(http.HandlerFunc(s.jobStatusJSON)))
	mux.Handle("GET /jobs/{id}/download", s.requirePageSession(http.HandlerFunc(s.jobDownload)))
	mux.Handle("GET /rules", s.requirePageSession(http.HandlerFunc(s.rulesPage)))
	mux.Handle("POST /rules/import", s.limitUpload(maxRulePackUpload, s.requirePageSession(http.HandlerFunc(s.ruleImport))))
	mux.Handle("GET /rules/{id}", s.requirePageSession(http.HandlerFunc(s.rulePage)))
	mux.Handle("POST /rules/{id}/enabled", s.requirePageSession(http.HandlerFunc(s.ruleSetEnabled)))
	mux.Handle("GET /attack", s.requirePageSession(http.HandlerFunc(s.attackPage)))
	mux.Handle("GET /events", s.requirePageSession(http.HandlerFunc(s.eventsPage)))
	mux.Handle("GET /events/{id}", s.requirePageSession(http.HandlerFunc(s.eventPage)))
	mux.Handle("GET /backups", s.requirePageSession(http.HandlerFunc(s.backupsPage)))
	mux.Handle("GET /cluster", s.requirePageSession(http.HandlerFunc(s.clusterPage)))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, s.chromeIfSignedIn(r), http.StatusNotFound, "There is no page at "+r.URL.Path+".")
	})
}

// render writes a component through a buffer, so a template error becomes
// a clean 500 instead of half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	var buf bytes.Buffer
	if err := c.Render(r.Context(), &buf); err != nil {
		s.d.Log.Error("render page", "path", r.URL.Path, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes()) //nolint:errcheck // the client went away
}

func (s *Server) renderError(w http.ResponseWriter, r *http.Request, c pages.Chrome, status int, msg string) {
	s.render(w, r, status, pages.ErrorPage(pages.ErrorVM{Chrome: c, Status: status, Message: msg}))
}

type chromeKey struct{}

// requirePageSession lets a page through only with a valid session cookie;
// otherwise it sends the browser to the login page. Writes also need the
// session's CSRF token in the form.
func (s *Server) requirePageSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, secret, err := s.pageSession(r)
		if err != nil {
			if appliance.ErrorCode(err) != appliance.EUNAUTHORIZED {
				s.renderError(w, r, pages.Chrome{}, statusOf(appliance.ErrorCode(err)), appliance.ErrorMessage(err))
				return
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		chrome := pageChrome(r, p, secret)
		if !safeMethod(r.Method) && !validCSRF(secret, r.PostFormValue("csrf")) {
			s.renderError(w, r, chrome, http.StatusForbidden, "The form was stale or forged (CSRF check failed). Reload the page and try again.")
			return
		}
		ctx := context.WithValue(r.Context(), principalKey{}, p)
		ctx = context.WithValue(ctx, secretKey{}, secret)
		ctx = context.WithValue(ctx, chromeKey{}, chrome)
		defer s.recoverPage(w, r, chrome)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// recoverPage turns a page handler's panic into the error page, with the
// stack in the log only: net/http would log it too but send the browser
// an empty answer.
func (s *Server) recoverPage(w http.ResponseWriter, r *http.Request, c pages.Chrome) {
	p := recover()
	if p == nil {
		return
	}
	if p == http.ErrAbortHandler { //nolint:errorlint // a sentinel panic value, never wrapped
		panic(p)
	}
	s.d.Log.Error("page panicked", "path", r.URL.Path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	s.renderError(w, r, c, http.StatusInternalServerError, "Something went wrong on the appliance; its log has the details.")
}

// pageSession authenticates the session cookie of a page request. Only a
// login session opens the pages: an API token planted in the cookie (an
// ingest token, say) must not.
func (s *Server) pageSession(r *http.Request) (p appliance.Principal, secret string, err error) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		secret = c.Value
	}
	p, err = s.d.Auth.Authenticate(r.Context(), secret)
	if err == nil && p.Via != "session" {
		err = appliance.Errorf(appliance.EUNAUTHORIZED, "sign in to use the pages")
	}
	return p, secret, err
}

func pageChrome(r *http.Request, p appliance.Principal, secret string) pages.Chrome {
	return pages.Chrome{User: p.User, Tenant: p.Tenant, CSRF: csrfToken(secret), Path: r.URL.RequestURI(), Theme: themeOf(r)}
}

// chromeIfSignedIn is the page chrome of the request's session, or the
// anonymous one (a "Sign in" link) when it has none: a signed-in user who
// mistypes an address keeps the navigation.
func (s *Server) chromeIfSignedIn(r *http.Request) pages.Chrome {
	p, secret, err := s.pageSession(r)
	if err != nil {
		return pages.Chrome{}
	}
	return pageChrome(r, p, secret)
}

func chromeOf(r *http.Request, current string) pages.Chrome {
	c, _ := r.Context().Value(chromeKey{}).(pages.Chrome)
	c.Current = current
	return c
}

// safeNext keeps post-login redirects on this site: a path, never "//host"
// and never anything a browser could turn into it (backslashes, or control
// characters, which browsers strip: "/\t/evil" becomes "//evil").
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsRune(next, '\\') ||
		strings.IndexFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return "/dashboard"
	}
	return next
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.showLogin(w, r, http.StatusOK, "", "")
}

func (s *Server) showLogin(w http.ResponseWriter, r *http.Request, status int, username, msg string) {
	var b [24]byte
	rand.Read(b[:]) //nolint:errcheck // crypto/rand does not fail on Linux
	token := base64.RawURLEncoding.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{Name: loginCSRFCookie, Value: token, Path: "/login", MaxAge: 3600,
		HttpOnly: true, Secure: s.d.TLS, SameSite: http.SameSiteStrictMode})
	next := r.FormValue("next")
	s.render(w, r, status, pages.Login(pages.LoginVM{Error: msg, Username: username, CSRF: token, Next: safeNext(next), Theme: themeOf(r)}))
}

func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
	username := r.PostFormValue("username")
	c, err := r.Cookie(loginCSRFCookie)
	if err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("csrf"))) != 1 {
		s.showLogin(w, r, http.StatusForbidden, username, "The sign-in form expired. Please try again.")
		return
	}
	secret, sess, err := s.d.Auth.Login(r.Context(), username, r.PostFormValue("password"))
	if err != nil {
		if appliance.ErrorCode(err) == appliance.EUNAUTHORIZED {
			s.d.Log.Warn("login failed", "user", username, "remote", r.RemoteAddr)
		}
		s.showLogin(w, r, statusOf(appliance.ErrorCode(err)), username, appliance.ErrorMessage(err))
		return
	}
	s.setSessionCookie(w, secret, sess)
	http.SetCookie(w, &http.Cookie{Name: loginCSRFCookie, Value: "", Path: "/login", MaxAge: -1})
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

func (s *Server) logoutSubmit(w http.ResponseWriter, r *http.Request) {
	secret, _ := r.Context().Value(secretKey{}).(string)
	if err := s.d.Auth.Logout(r.Context(), secret); err != nil {
		s.renderError(w, r, chromeOf(r, ""), statusOf(appliance.ErrorCode(err)), appliance.ErrorMessage(err))
		return
	}
	s.clearSessionCookie(w)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// pageTime reads a time typed into the search form: RFC 3339, or a
// datetime-local style value without zone, taken as UTC.
func pageTime(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return t.UTC().Format(time.RFC3339Nano), nil
		}
	}
	return "", appliance.Errorf(appliance.EINVALID, "%q is not a time: use e.g. 2024-05-01T13:00 (UTC) or RFC 3339", v)
}

func (s *Server) eventsPage(w http.ResponseWriter, r *http.Request) {
	form := r.URL.Query()
	vm := pages.EventsVM{Chrome: chromeOf(r, "events"), Query: form.Get("q"), From: form.Get("from"), To: form.Get("to")}
	params := url.Values{"q": {vm.Query}, "cursor": {form.Get("cursor")}}
	var err error
	for _, f := range []struct{ name, v string }{{"from", vm.From}, {"to", vm.To}} {
		var t string
		if t, err = pageTime(f.v); err != nil {
			break
		}
		params.Set(f.name, t)
	}
	var page appliance.EventPage
	var req appliance.EventSearch
	if err == nil {
		if req, err = parseEventSearch(principalOf(r.Context()).Tenant, params); err == nil {
			page, err = s.d.Events.Search(r.Context(), req)
		}
	}
	status := http.StatusOK
	if err != nil {
		status = statusOf(appliance.ErrorCode(err))
		if status == http.StatusInternalServerError {
			s.d.Log.Error("event search", "err", err)
		}
		vm.Error = appliance.ErrorMessage(err)
	}
	for _, doc := range page.Events {
		row, err := pages.EventRowFromDoc(doc)
		if err != nil {
			s.d.Log.Error("stored event does not decode", "err", err)
			continue
		}
		vm.Rows = append(vm.Rows, row)
	}
	vm.Indexed, vm.Scanned = page.Indexed, page.Scanned
	if err == nil && len(vm.Rows) > 0 {
		s.searchFacets(r.Context(), &vm, req)
	}
	if page.Next != (appliance.EventID{}) {
		next := url.Values{"q": {vm.Query}, "from": {vm.From}, "to": {vm.To}, "cursor": {page.Next.String()}}
		vm.NextURL = "/events?" + next.Encode()
	}
	vm.Empty = emptyState(vm.Query != "" || vm.From != "" || vm.To != "", r)
	s.render(w, r, status, pages.Events(vm))
}

// emptyState tells the user what to do when a search finds nothing.
func emptyState(filtered bool, r *http.Request) pages.EmptyState {
	if filtered {
		return pages.EmptyState{Title: "No events match", Body: "Widen the time range, or simplify the query (e.g. a single field:value)."}
	}
	return pages.EmptyState{
		Title: "No events yet",
		Body:  "Create an ingest token on the Tokens page (or with `xdr token create --tenant default --name first-sensor` on the appliance), then send NDJSON events:",
		Curl:  ingestCurl(r, "$TOKEN"),
	}
}

// ingestCurl is a ready-to-run command that sends NDJSON events to this
// appliance with token.
func ingestCurl(r *http.Request, token string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return "curl -H \"Authorization: Bearer " + token + "\" --data-binary @events.ndjson \\\n  " +
		scheme + "://" + r.Host + "/api/v1/ingest/json"
}

func (s *Server) eventPage(w http.ResponseWriter, r *http.Request) {
	chrome := chromeOf(r, "events")
	id, err := appliance.ParseEventID(r.PathValue("id"))
	var doc []byte
	if err == nil {
		doc, err = s.d.Events.Get(r.Context(), principalOf(r.Context()).Tenant, id)
	}
	if err != nil {
		s.renderError(w, r, chrome, statusOf(appliance.ErrorCode(err)), appliance.ErrorMessage(err))
		return
	}
	vm, err := pages.EventDetailFromDoc(chrome, doc, "/events")
	if err != nil {
		s.renderError(w, r, chrome, http.StatusInternalServerError, "This event could not be shown.")
		return
	}
	s.render(w, r, http.StatusOK, pages.EventDetail(vm))
}
