package ui_test

import (
	"net/http"
	"testing"
)

// TestAPIWrongMethod: a known API path asked with a method it does not
// serve answers 405 with the methods it does serve; an unknown path 404.
func TestAPIWrongMethod(t *testing.T) {
	e := newEnv(t, false)
	for _, tc := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/api/v1/ingest/json", http.StatusMethodNotAllowed, "POST"},
		{"DELETE", "/api/v1/events", http.StatusMethodNotAllowed, "GET, HEAD"},
		{"PUT", "/api/v1/events/some-id", http.StatusMethodNotAllowed, "GET, HEAD"},
		{"GET", "/api/v1/login", http.StatusMethodNotAllowed, "POST"},
		{"PATCH", "/api/v1/tokens", http.StatusMethodNotAllowed, "POST"},
		{"GET", "/api/v1/nothing", http.StatusNotFound, ""},
		{"POST", "/api/v2/events", http.StatusNotFound, ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := e.do(tc.method, tc.path, "")
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if got := r.header.Get("Allow"); got != tc.allow {
				t.Errorf("Allow %q, want %q", got, tc.allow)
			}
			if m := r.json(t); m["error"] == nil || m["error"] == "" {
				t.Errorf("no error message: %s", r.body)
			}
		})
	}
}

// TestAPILogoutNeedsCredentials: logging out without credentials, or with
// ones the node does not know, is refused rather than answered 204.
func TestAPILogoutNeedsCredentials(t *testing.T) {
	e := newEnv(t, false)
	for name, headers := range map[string][]string{
		"none":           nil,
		"unknown token":  bearer("xdrs_not-a-real-session"),
		"unknown cookie": {"Cookie", "xdr_session=xdrs_not-a-real-session"},
	} {
		t.Run(name, func(t *testing.T) {
			r := e.do("POST", "/api/v1/logout", "", headers...)
			if r.status != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401: %s", r.status, r.body)
			}
			if r.cookie("xdr_session") != nil {
				t.Error("a refused logout touches the session cookie")
			}
		})
	}
}
