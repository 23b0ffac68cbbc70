package ui_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// A node without event statistics or detection (here: fakes) answers its
// pages with the reason, in the page, never a stack trace.
func TestPagesWithoutStatsOrDetection(t *testing.T) {
	f := newFaultEnv(true)
	ctx := context.Background()
	w := f.serve(ctx, "GET", "/dashboard", "", sessionCookieHeader...)
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "event statistics are not available") ||
		!strings.Contains(w.Body.String(), `role="alert"`) {
		t.Errorf("dashboard without stats: %d\n%s", w.Code, w.Body)
	}
	for _, p := range []string{"/alerts", "/incidents/x", "/rules", "/attack"} {
		w := f.serve(ctx, "GET", p, "", sessionCookieHeader...)
		if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "not available on this node") {
			t.Errorf("GET %s without detection: %d\n%s", p, w.Code, w.Body)
		}
	}
	if w := f.serve(ctx, "GET", "/incidents", "", sessionCookieHeader...); w.Code != http.StatusServiceUnavailable {
		t.Errorf("GET /incidents without triage views: %d", w.Code)
	}
}
