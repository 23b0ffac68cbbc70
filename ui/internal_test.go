package ui

// Table tests of the unexported helpers: request parsing, redirects, CSRF
// tokens and the error-to-status mapping.

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance"
)

func TestParseEventSearch(t *testing.T) {
	id := appliance.NewEventID(time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC), 42)
	for _, c := range []struct {
		name    string
		query   string
		want    appliance.EventSearch // Expr is checked through wantExpr
		expr    string                // Expr.String(), "" for nil
		wantErr string                // substring of the message; "" for success
	}{
		{name: "empty", query: "", want: appliance.EventSearch{Tenant: "acme"}},
		{name: "blank query", query: "q=%20%20", want: appliance.EventSearch{Tenant: "acme"}},
		{name: "query", query: "q=user.name:root", want: appliance.EventSearch{Tenant: "acme"}, expr: "user.name:root"},
		{name: "from and to", query: "from=2024-03-01T12:00:00Z&to=2024-03-01T14:00:00.5%2B02:00",
			want: appliance.EventSearch{Tenant: "acme", From: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC),
				To: time.Date(2024, 3, 1, 12, 0, 0, 500_000_000, time.UTC)}},
		{name: "limit", query: "limit=250", want: appliance.EventSearch{Tenant: "acme", Limit: 250}},
		{name: "cursor", query: "cursor=" + id.String(), want: appliance.EventSearch{Tenant: "acme", Cursor: id}},
		{name: "first value wins", query: "limit=5&limit=x", want: appliance.EventSearch{Tenant: "acme", Limit: 5}},
		{name: "empty values are absent", query: "from=&to=&limit=&cursor=", want: appliance.EventSearch{Tenant: "acme"}},
		{name: "syntax error", query: "q=user.name:", wantErr: "query: position 11"},
		{name: "bad from", query: "from=2024-03-01", wantErr: `from="2024-03-01" is not an RFC 3339 time`},
		{name: "bad to", query: "to=noon", wantErr: `to="noon" is not an RFC 3339 time`},
		{name: "zero limit", query: "limit=0", wantErr: `limit="0" is not a positive number`},
		{name: "negative limit", query: "limit=-1", wantErr: "positive number"},
		{name: "limit not a number", query: "limit=1e3", wantErr: "positive number"},
		{name: "short cursor", query: "cursor=abc", wantErr: `cursor="abc" is not a cursor`},
		{name: "cursor not hex", query: "cursor=" + strings.Repeat("g", 32), wantErr: "not a cursor"},
	} {
		t.Run(c.name, func(t *testing.T) {
			q, err := url.ParseQuery(c.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseEventSearch("acme", q)
			if c.wantErr != "" {
				if err == nil {
					t.Fatalf("no error, want %q", c.wantErr)
				}
				if appliance.ErrorCode(err) != appliance.EINVALID {
					t.Errorf("code %q, want %q", appliance.ErrorCode(err), appliance.EINVALID)
				}
				if !strings.Contains(appliance.ErrorMessage(err), c.wantErr) {
					t.Errorf("message %q, want %q in it", appliance.ErrorMessage(err), c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("error %v", err)
			}
			gotExpr := ""
			if got.Expr != nil {
				gotExpr = got.Expr.String()
			}
			if gotExpr != c.expr {
				t.Errorf("Expr %q, want %q", gotExpr, c.expr)
			}
			got.Expr = nil
			if got.Tenant != c.want.Tenant || !got.From.Equal(c.want.From) || !got.To.Equal(c.want.To) ||
				got.Limit != c.want.Limit || got.Cursor != c.want.Cursor {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestPageTime(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"", "", true},
		{"2024-05-01T13:00", "2024-05-01T13:00:00Z", true},
		{"2024-05-01T13:00:07", "2024-05-01T13:00:07Z", true},
		{"2024-05-01 13:00", "2024-05-01T13:00:00Z", true},
		{"2024-05-01 13:00:07", "2024-05-01T13:00:07Z", true},
		{"2024-05-01", "2024-05-01T00:00:00Z", true},
		{"2024-05-01T13:00:00+02:00", "2024-05-01T11:00:00Z", true},
		{"2024-05-01T13:00:00.25Z", "2024-05-01T13:00:00.25Z", true},
		{"yesterday", "", false},
		{"2024-05-01T25:00", "", false},
		{"2024-02-30", "", false},
		{"01/05/2024", "", false},
		{" 2024-05-01", "", false},
	} {
		got, err := pageTime(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("pageTime(%q) = %q, %v; want %q, ok %v", c.in, got, err, c.want, c.ok)
		}
		if err != nil {
			if appliance.ErrorCode(err) != appliance.EINVALID || !strings.Contains(err.Error(), "is not a time") {
				t.Errorf("pageTime(%q): error %v (code %s), want EINVALID naming the value", c.in, err, appliance.ErrorCode(err))
			}
			continue
		}
		if got == "" {
			continue
		}
		// What pageTime returns is what parseEventSearch accepts.
		if _, err := time.Parse(time.RFC3339Nano, got); err != nil {
			t.Errorf("pageTime(%q) = %q is not RFC 3339: %v", c.in, got, err)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"":                        "/dashboard",
		"/":                       "/",
		"/events":                 "/events",
		"/events?q=a%20b&from=x":  "/events?q=a%20b&from=x",
		"/events/0123":            "/events/0123",
		"//evil.example":          "/dashboard",
		"//evil.example/events":   "/dashboard",
		"/\\evil.example":         "/dashboard",
		"https://evil.example":    "/dashboard",
		"http:/evil.example":      "/dashboard",
		"javascript:alert(1)":     "/dashboard",
		"evil.example":            "/dashboard",
		"events":                  "/dashboard",
		"\\\\evil.example":        "/dashboard",
		" /events":                "/dashboard",
		"/\t/evil.example":        "/dashboard", // browsers drop the tab: //evil.example
		"/\t\\evil.example":       "/dashboard",
		"/%2F/evil.example":       "/%2F/evil.example",
		"/./evil.example":         "/./evil.example",
		"/events?next=//evil.exa": "/events?next=//evil.exa",
	} {
		got := safeNext(in)
		if got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStatusOf(t *testing.T) {
	for code, want := range map[string]int{
		appliance.EINVALID:      400,
		appliance.EUNAUTHORIZED: 401,
		appliance.EFORBIDDEN:    403,
		appliance.ENOTFOUND:     404,
		appliance.ECONFLICT:     409,
		appliance.ETOOLARGE:     413,
		appliance.EBUSY:         429,
		appliance.EUNAVAILABLE:  503,
		appliance.EINTERNAL:     500,
		"something new":         500,
		"":                      500,
	} {
		if got := statusOf(code); got != want {
			t.Errorf("statusOf(%q) = %d, want %d", code, got, want)
		}
	}
}

func TestCSRFToken(t *testing.T) {
	a, b := csrfToken("xdrs_a"), csrfToken("xdrs_b")
	if a == b {
		t.Error("two sessions share a CSRF token")
	}
	if a != csrfToken("xdrs_a") {
		t.Error("the CSRF token of a session changes")
	}
	if strings.Contains(a, "xdrs_a") || len(a) != 43 {
		t.Errorf("csrfToken = %q, want 43 base64url characters not revealing the secret", a)
	}
	for _, c := range []struct {
		secret, presented string
		want              bool
	}{
		{"xdrs_a", a, true},
		{"xdrs_a", b, false},
		{"xdrs_a", "", false},
		{"xdrs_a", a + "=", false},
		{"xdrs_a", a[:42], false},
		{"", "", false},
		{"", csrfToken(""), true},
	} {
		if got := validCSRF(c.secret, c.presented); got != c.want {
			t.Errorf("validCSRF(%q, %q) = %v, want %v", c.secret, c.presented, got, c.want)
		}
	}
}

func TestCredentials(t *testing.T) {
	for _, c := range []struct {
		name       string
		header     string
		cookie     string
		secret     string
		fromCookie bool
	}{
		{"none", "", "", "", false},
		{"bearer", "Bearer xdrt_abc", "", "xdrt_abc", false},
		{"bearer padded", "Bearer  xdrt_abc ", "", "xdrt_abc", false},
		{"bearer wins over cookie", "Bearer xdrt_abc", "xdrs_s", "xdrt_abc", false},
		{"other scheme hides the cookie", "Basic Zm9vOmJhcg==", "xdrs_s", "", false},
		{"lower-case scheme is not bearer", "bearer xdrt_abc", "", "", false},
		{"cookie", "", "xdrs_s", "xdrs_s", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if c.header != "" {
				r.Header.Set("Authorization", c.header)
			}
			if c.cookie != "" {
				r.AddCookie(&http.Cookie{Name: sessionCookie, Value: c.cookie})
			}
			secret, fromCookie := credentials(r)
			if secret != c.secret || fromCookie != c.fromCookie {
				t.Errorf("credentials = %q, %v; want %q, %v", secret, fromCookie, c.secret, c.fromCookie)
			}
		})
	}
}

func TestSafeMethod(t *testing.T) {
	for m, want := range map[string]bool{"GET": true, "HEAD": true, "OPTIONS": true, "POST": false, "PUT": false,
		"DELETE": false, "PATCH": false, "get": false} {
		if safeMethod(m) != want {
			t.Errorf("safeMethod(%q) = %v", m, !want)
		}
	}
}
