package ui_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// maxPageWeight is the budget of one page: its HTML plus every stylesheet
// and script it loads, uncompressed.
const maxPageWeight = 150 << 10

var assetRef = regexp.MustCompile(`<(?:link rel="stylesheet" href|script[^>]* src)="([^"]+)"`)

// TestPageWeight loads every page in its heaviest ordinary state (a full
// page of results, a token just created) and checks it against the budget.
func TestPageWeight(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	b := e.browser()
	e.mustSignIn(b)
	tok := e.token("default", "sensor", "ingest", "")
	var lines []string
	now := time.Now()
	for i := range 150 {
		lines = append(lines, eventLine(now.Add(-time.Duration(i)*time.Minute), "user-"+strings.Repeat("x", i%20), strings.Repeat("message text ", 12)))
	}
	e.ingest(tok, lines...)
	ids, _ := e.eventIDs(e.token("default", "reader", "api", ""), "limit=1")
	pages := []string{"/login", "/dashboard", "/dashboard?range=30d", "/events", "/events?q=user.name%3Auser-*", "/events/" + ids[0], "/tokens"}
	for _, p := range pages {
		c := b
		if p == "/login" {
			c = e.browser()
		}
		e.checkWeight(c, p)
	}
}

// checkWeight loads the page at p with c, and fails unless it answers 200
// and weighs, with the stylesheets and scripts it loads, under the budget.
func (e *env) checkWeight(c *http.Client, p string) {
	e.t.Helper()
	r := e.get(c, p)
	if r.status != http.StatusOK {
		e.t.Errorf("GET %s: %d", p, r.status)
		return
	}
	weight := len(r.body)
	for _, m := range assetRef.FindAllStringSubmatch(r.body, -1) {
		a := e.get(c, m[1])
		if a.status != http.StatusOK {
			e.t.Errorf("%s loads %s: %d", p, m[1], a.status)
		}
		weight += len(a.body)
	}
	e.t.Logf("%-32s %6d bytes (HTML %d)", p, weight, len(r.body))
	if weight > maxPageWeight {
		e.t.Errorf("%s weighs %d bytes with its assets, budget %d", p, weight, maxPageWeight)
	}
}
