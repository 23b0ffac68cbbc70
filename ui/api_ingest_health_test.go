package ui_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance/ingest"
)

// TestAPIIngestHealth: the snapshot counts what was ingested over HTTP,
// per source, and needs an api-scoped credential.
func TestAPIIngestHealth(t *testing.T) {
	e := newEnv(t, false)
	ingestTok := e.token("default", "sensor", "ingest", "")
	apiTok := e.token("default", "reader", "api", "read_only_analyst")
	before := time.Now().UTC().Add(-time.Second)
	line := eventLine(time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC), "root", "Failed password for root")
	if r := e.do("POST", "/api/v1/ingest/json", line+"\nnot json\n"+line+"\n", bearer(ingestTok)...); r.status != http.StatusOK {
		t.Fatalf("ingest: %d %s", r.status, r.body)
	}

	if r := e.do("GET", "/api/v1/ingest/health", "", bearer(ingestTok)...); r.status != http.StatusForbidden {
		t.Errorf("ingest token: %d, want 403", r.status)
	}
	if r := e.do("GET", "/api/v1/ingest/health", ""); r.status != http.StatusUnauthorized {
		t.Errorf("no credentials: %d, want 401", r.status)
	}
	r := e.do("GET", "/api/v1/ingest/health", "", bearer(apiTok)...)
	if r.status != http.StatusOK {
		t.Fatalf("health: %d %s", r.status, r.body)
	}
	var h ingest.Health
	if err := json.Unmarshal([]byte(r.body), &h); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	var js *ingest.SourceHealth
	for i := range h.Sources {
		if h.Sources[i].Source == "json" {
			js = &h.Sources[i]
		}
	}
	if js == nil {
		t.Fatalf("no json source in %s", r.body)
	}
	if want := (ingest.Counts{Received: 3, Accepted: 2, Rejected: 1}); js.Counts != want {
		t.Errorf("json counts %+v, want %+v", js.Counts, want)
	}
	if js.LastEvent == nil || js.LastEvent.Before(before) || js.LastEvent.After(time.Now().Add(time.Second)) {
		t.Errorf("last event %v, want about now", js.LastEvent)
	}
	if h.Syslog != nil {
		t.Errorf("syslog part without listeners: %+v", h.Syslog)
	}
	if r := e.do("POST", "/api/v1/ingest/health", "{}", bearer(ingestTok)...); r.status != http.StatusBadRequest {
		t.Errorf("POST to the health path is an ingest of unknown source \"health\": %d %s", r.status, r.body)
	}
}
