package ui_test

// Failures of the services behind the server, which the real ones do not
// produce on demand: each is injected through the small interfaces of
// ui.Deps and must reach the client as the documented status, with internal
// details logged and never sent.

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/ingest"
	"github.com/minixdr/xdr/ui"
)

const secretDetail = "disk /dev/sda1 on fire at storage/eventstore/search.go:42"

type fakeAuth struct {
	authErr   error // of Authenticate
	loginErr  error
	logoutErr error
}

var fakePrincipal = appliance.Principal{Tenant: "default", User: "admin", Role: appliance.RoleSuperAdmin, Scope: appliance.ScopeAPI, Via: "session"}

func (f *fakeAuth) Login(context.Context, string, string) (string, appliance.Session, error) {
	return "", appliance.Session{}, f.loginErr
}
func (f *fakeAuth) Logout(context.Context, string) error { return f.logoutErr }
func (f *fakeAuth) Authenticate(context.Context, string) (appliance.Principal, error) {
	return fakePrincipal, f.authErr
}
func (f *fakeAuth) CreateToken(context.Context, string, string, string, string) (string, error) {
	return "", errors.New(secretDetail)
}

type fakeIngest struct{ err error }

func (f *fakeIngest) Ingest(_ context.Context, req ingest.Request) (ingest.Result, error) {
	io.Copy(io.Discard, req.Body) //nolint:errcheck // drained only
	return ingest.Result{}, f.err
}

type fakeEvents struct {
	searchErr   error
	searchPanic bool
	docs        [][]byte
	getDoc      []byte
}

func (f *fakeEvents) Search(context.Context, appliance.EventSearch) (appliance.EventPage, error) {
	if f.searchPanic {
		panic(secretDetail)
	}
	return appliance.EventPage{Events: f.docs}, f.searchErr
}
func (f *fakeEvents) Get(context.Context, string, appliance.EventID) ([]byte, error) {
	return f.getDoc, nil
}

type fakeNode struct{ ready bool }

func (f fakeNode) Ready() bool { return f.ready }

type faultEnv struct {
	auth   *fakeAuth
	ingest *fakeIngest
	events *fakeEvents
	log    *ui.SyncBuffer
	h      http.Handler
}

func newFaultEnv(ready bool) *faultEnv {
	f := &faultEnv{auth: &fakeAuth{}, ingest: &fakeIngest{}, events: &fakeEvents{}, log: &ui.SyncBuffer{}}
	srv := ui.New(ui.Deps{
		Auth: f.auth, Ingest: f.ingest, Events: f.events, Node: fakeNode{ready},
		Metrics: http.NotFoundHandler(), Log: slog.New(slog.NewTextHandler(f.log, nil)),
	})
	f.h = srv.Handler()
	return f
}

// serve runs one request through the handler in process.
func (f *faultEnv) serve(ctx context.Context, method, path, body string, headers ...string) *httptest.ResponseRecorder {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequestWithContext(ctx, method, path, r)
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, req)
	return w
}

var sessionCookieHeader = []string{"Cookie", "xdr_session=xdrs_fake"}

func TestReadyWithoutLeader(t *testing.T) {
	f := newFaultEnv(false)
	w := f.serve(context.Background(), "GET", "/healthz/ready", "")
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("ready without leader: %d, want 503", w.Code)
	}
	wantContains(t, "body", w.Body.String(), `"status":"not ready"`, `"error":`)
	if w := f.serve(context.Background(), "GET", "/healthz/live", ""); w.Code != http.StatusOK {
		t.Errorf("live without leader: %d, want 200", w.Code)
	}
}

func TestAPIServiceFailures(t *testing.T) {
	for _, c := range []struct {
		name       string
		ingestErr  error
		status     int
		retryAfter string
		message    string
	}{
		{"busy", appliance.Errorf(appliance.EBUSY, "ingest queue is full"), 429, "1", "ingest queue is full"},
		{"no leader", appliance.ErrNotLeader, 503, "1", "this node is not the cluster leader"},
		{"too large", appliance.Errorf(appliance.ETOOLARGE, "body exceeds 10 bytes"), 413, "", "body exceeds 10 bytes"},
		{"conflict", appliance.Errorf(appliance.ECONFLICT, "batch id reused"), 409, "", "batch id reused"},
		{"internal", errors.New(secretDetail), 500, "", "internal error"},
		{"wrapped internal", errors.Join(errors.New("commit"), errors.New(secretDetail)), 500, "", "internal error"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFaultEnv(true)
			f.ingest.err = c.ingestErr
			w := f.serve(context.Background(), "POST", "/api/v1/ingest/json", "{}\n", "Authorization", "Bearer xdrt_fake")
			if w.Code != c.status {
				t.Fatalf("status %d, want %d: %s", w.Code, c.status, w.Body)
			}
			if got := w.Header().Get("Retry-After"); got != c.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, c.retryAfter)
			}
			wantContains(t, "body", w.Body.String(), `{"error":"`+c.message)
			wantNotContains(t, "body", w.Body.String(), "fire", ".go:")
			logged := strings.Contains(f.log.String(), "on fire")
			if (c.status == 500) != logged {
				t.Errorf("internal details logged: %v, want %v\n%s", logged, c.status == 500, f.log)
			}
		})
	}
	t.Run("token creation", func(t *testing.T) {
		f := newFaultEnv(true)
		w := f.serve(context.Background(), "POST", "/api/v1/tokens", `{"name":"x"}`, "Authorization", "Bearer xdrs_fake")
		if w.Code != 500 || strings.Contains(w.Body.String(), "fire") {
			t.Errorf("token creation failing inside: %d %s", w.Code, w.Body)
		}
	})
	t.Run("search", func(t *testing.T) {
		f := newFaultEnv(true)
		f.events.searchErr = errors.New(secretDetail)
		w := f.serve(context.Background(), "GET", "/api/v1/events", "", "Authorization", "Bearer xdrs_fake")
		if w.Code != 500 || strings.Contains(w.Body.String(), "fire") || !strings.Contains(f.log.String(), "fire") {
			t.Errorf("search failing inside: %d %s; log %s", w.Code, w.Body, f.log)
		}
	})
	t.Run("authentication unavailable", func(t *testing.T) {
		f := newFaultEnv(true)
		f.auth.authErr = appliance.Errorf(appliance.EUNAVAILABLE, "identity store closed")
		w := f.serve(context.Background(), "GET", "/api/v1/events", "", "Authorization", "Bearer xdrs_fake")
		if w.Code != 503 || w.Header().Get("Retry-After") != "1" {
			t.Errorf("authentication unavailable: %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
		}
	})
	t.Run("login unavailable", func(t *testing.T) {
		f := newFaultEnv(true)
		f.auth.loginErr = appliance.ErrNotLeader
		w := f.serve(context.Background(), "POST", "/api/v1/login", `{"username":"admin","password":"x"}`)
		if w.Code != 503 {
			t.Errorf("login on a follower: %d, want 503", w.Code)
		}
		if w.Header().Get("Set-Cookie") != "" {
			t.Error("a failed login sets a cookie")
		}
	})
	t.Run("logout failing", func(t *testing.T) {
		f := newFaultEnv(true)
		f.auth.logoutErr = appliance.ErrNotLeader
		w := f.serve(context.Background(), "POST", "/api/v1/logout", "", "Authorization", "Bearer xdrs_fake")
		if w.Code != 503 {
			t.Errorf("logout on a follower: %d, want 503", w.Code)
		}
		if w.Header().Get("Set-Cookie") != "" {
			t.Error("a failed logout clears the cookie")
		}
	})
}

func TestPageServiceFailures(t *testing.T) {
	t.Run("authentication unavailable", func(t *testing.T) {
		f := newFaultEnv(true)
		f.auth.authErr = appliance.Errorf(appliance.EUNAVAILABLE, "identity store closed")
		w := f.serve(context.Background(), "GET", "/events", "", sessionCookieHeader...)
		if w.Code != 503 {
			t.Fatalf("status %d, want an error page with 503, not a redirect to sign in", w.Code)
		}
		wantContains(t, "page", w.Body.String(), "identity store closed", `href="/login"`)
	})
	t.Run("search failing inside", func(t *testing.T) {
		f := newFaultEnv(true)
		f.events.searchErr = errors.New(secretDetail)
		w := f.serve(context.Background(), "GET", "/events", "", sessionCookieHeader...)
		if w.Code != 500 {
			t.Fatalf("status %d, want 500", w.Code)
		}
		wantContains(t, "page", w.Body.String(), `role="alert"`, "internal error")
		wantNotContains(t, "page", w.Body.String(), "fire", ".go:")
		wantContains(t, "log", f.log.String(), "event search", "on fire")
	})
	t.Run("search panicking", func(t *testing.T) {
		f := newFaultEnv(true)
		f.events.searchPanic = true
		w := f.serve(context.Background(), "GET", "/events", "", sessionCookieHeader...)
		if w.Code != 500 {
			t.Fatalf("status %d, want 500", w.Code)
		}
		wantContains(t, "page", w.Body.String(), "Internal Server Error", "its log has the details", "Signed in as")
		wantNotContains(t, "page", w.Body.String(), "fire", ".go:", "goroutine")
		wantContains(t, "log", f.log.String(), "page panicked", "on fire", "goroutine")
	})
	t.Run("undecodable stored event", func(t *testing.T) {
		f := newFaultEnv(true)
		f.events.docs = [][]byte{[]byte(`{"id":"00000000000000000000000000000001","message":"good one"}`), []byte(`{not json`)}
		w := f.serve(context.Background(), "GET", "/events", "", sessionCookieHeader...)
		if w.Code != 200 {
			t.Fatalf("status %d, want 200", w.Code)
		}
		wantContains(t, "page", w.Body.String(), "good one")
		if n := len(detailLinks(w.Body.String())); n != 1 {
			t.Errorf("%d rows, want the 1 good one", n)
		}
		wantContains(t, "log", f.log.String(), "stored event does not decode")
	})
	t.Run("undecodable event detail", func(t *testing.T) {
		f := newFaultEnv(true)
		f.events.getDoc = []byte(`{not json`)
		w := f.serve(context.Background(), "GET", "/events/00000000000000000000000000000001", "", sessionCookieHeader...)
		if w.Code != 500 {
			t.Fatalf("status %d, want 500", w.Code)
		}
		wantContains(t, "page", w.Body.String(), "This event could not be shown.")
	})
	t.Run("logout failing", func(t *testing.T) {
		f := newFaultEnv(true)
		f.auth.logoutErr = appliance.ErrNotLeader
		// The fake session's CSRF token, as its pages carry it.
		page := f.serve(context.Background(), "GET", "/events", "", sessionCookieHeader...)
		csrf, ok := hiddenField(page.Body.String(), "csrf")
		if !ok {
			t.Fatal("no csrf in the page")
		}
		w := f.serve(context.Background(), "POST", "/logout", "csrf="+csrf,
			append([]string{"Content-Type", "application/x-www-form-urlencoded"}, sessionCookieHeader...)...)
		if w.Code != 503 {
			t.Fatalf("status %d, want 503", w.Code)
		}
		wantContains(t, "page", w.Body.String(), "not the cluster leader", "Back to events")
		if w.Header().Get("Set-Cookie") != "" {
			t.Error("a failed logout clears the cookie")
		}
	})
	t.Run("login unavailable", func(t *testing.T) {
		f := newFaultEnv(true)
		f.auth.loginErr = appliance.ErrNotLeader
		w := f.serve(context.Background(), "POST", "/login", "username=admin&password=x&csrf=tok",
			"Content-Type", "application/x-www-form-urlencoded", "Cookie", "xdr_login_csrf=tok")
		if w.Code != 503 {
			t.Fatalf("status %d, want 503", w.Code)
		}
		wantContains(t, "page", w.Body.String(), `role="alert"`, "not the cluster leader", `value="admin"`)
		if strings.Contains(w.Header().Get("Set-Cookie"), "xdr_session") {
			t.Error("a failed login sets a session")
		}
	})
	t.Run("render of a cancelled request", func(t *testing.T) {
		f := newFaultEnv(true)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		w := f.serve(ctx, "GET", "/no-such-page", "")
		if w.Code != 500 {
			t.Fatalf("status %d, want 500", w.Code)
		}
		if body := w.Body.String(); strings.Contains(body, "<html") || !strings.Contains(body, "internal error") {
			t.Errorf("a failed render sends %q, want a plain internal error and no half page", body)
		}
		wantContains(t, "log", f.log.String(), "render page")
	})
}
