package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/ingest"
)

// TestHealthCountsPerSource drives every outcome through the service and
// checks the snapshot: counts per source, received = accepted + rejected +
// dropped, and the time of the last accepted event from the service's clock.
func TestHealthCountsPerSource(t *testing.T) {
	e := newEnv(t, withLimits(func(l *ingest.Limits) { l.MaxLines = 4 }))
	if h := source(t, e.svc.Health(), "json"); h.Counts != (ingest.Counts{}) || h.LastEvent != nil {
		t.Fatalf("before any ingest: %+v", h)
	}
	e.mustIngest(t, "acme", "", lines(msgLine(1), "not json", msgLine(2)))
	first := e.clock.Now()
	e.clock.Advance(time.Minute)
	// Refused whole (a fifth line): the four read are dropped.
	if _, err := e.ingest(t, "acme", "", lines("{}", "{}", "{}", "{}", "{}")); appliance.ErrorCode(err) != appliance.ETOOLARGE {
		t.Fatalf("over-long batch: %v", err)
	}
	// Only rejections: the last event time stays.
	e.mustIngest(t, "acme", "", lines("nope"))
	// Syslog messages count under their source.
	res, err := e.svc.IngestMessages(context.Background(), "acme", "syslog", [][]byte{[]byte("<13>Jan  2 03:04:05 web sshd[1]: hello"), {}})
	if err != nil || res.Accepted != 1 || res.Rejected != 1 {
		t.Fatalf("IngestMessages: %+v %v", res, err)
	}

	h := e.svc.Health()
	if h.Syslog != nil {
		t.Errorf("the service reports syslog listeners: %+v", h.Syslog)
	}
	js := source(t, h, "json")
	if want := (ingest.Counts{Received: 8, Accepted: 2, Rejected: 2, Dropped: 4}); js.Counts != want {
		t.Errorf("json counts %+v, want %+v", js.Counts, want)
	}
	if js.LastEvent == nil || !js.LastEvent.Equal(first) {
		t.Errorf("json last event %v, want %v", js.LastEvent, first)
	}
	sl := source(t, h, "syslog")
	if want := (ingest.Counts{Received: 2, Accepted: 1, Rejected: 1}); sl.Counts != want {
		t.Errorf("syslog counts %+v, want %+v", sl.Counts, want)
	}
	if sl.LastEvent == nil || !sl.LastEvent.Equal(e.clock.Now()) {
		t.Errorf("syslog last event %v, want %v", sl.LastEvent, e.clock.Now())
	}
	if len(h.Sources) != len(e.svc.Sources()) {
		t.Errorf("%d sources in the snapshot, %d known", len(h.Sources), len(e.svc.Sources()))
	}
	for i := 1; i < len(h.Sources); i++ {
		if h.Sources[i-1].Source >= h.Sources[i].Source {
			t.Errorf("sources not sorted: %q before %q", h.Sources[i-1].Source, h.Sources[i].Source)
		}
	}
	// The same numbers are in /metrics.
	wantMetrics(t, e.reg, map[string]float64{
		`xdr_events_received_total{source="json"}`:                  8,
		`xdr_events_accepted_total{source="json"}`:                  2,
		`xdr_events_rejected_total{source="json"}`:                  2,
		`xdr_events_dropped_total{source="json"}`:                   4,
		`xdr_events_received_total{source="syslog"}`:                2,
		`xdr_events_last_accepted_timestamp_seconds{source="json"}`: float64(first.Unix()),
	})
	// The JSON shape the API serves.
	b, err := json.Marshal(js)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`{"source":"json","received":8,"accepted":2,"rejected":2,"dropped":4,"last_event":%q}`, first.Format(time.RFC3339Nano))
	if string(b) != want {
		t.Errorf("JSON %s, want %s", b, want)
	}
	if b, _ := json.Marshal(source(t, h, "cef")); !strings.Contains(string(b), `"last_event":null`) {
		t.Errorf("a source without events: %s", b)
	}
}

func source(t *testing.T, h ingest.Health, name string) ingest.SourceHealth {
	t.Helper()
	for _, s := range h.Sources {
		if s.Source == name {
			return s
		}
	}
	t.Fatalf("source %q not in %+v", name, h.Sources)
	return ingest.SourceHealth{}
}
