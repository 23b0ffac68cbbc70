package ui

import (
	"fmt"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance/ingest"
)

func TestIngestRows(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
	h := ingest.Health{
		Sources: []ingest.SourceHealth{{Source: "json", Counts: ingest.Counts{Received: 5, Accepted: 4, Rejected: 1}, LastEvent: &t0}},
		Syslog: &ingest.SyslogHealth{Listeners: []ingest.ListenerHealth{
			{Transport: "udp", Address: "0.0.0.0:514", Tenant: "default", Counts: ingest.Counts{Accepted: 9}},
			{Transport: "tcp", Address: "0.0.0.0:601", Tenant: "default", Counts: ingest.Counts{Dropped: 2}, LastMessage: &t0},
		}},
	}
	for i := range 12 {
		h.Syslog.RecentErrors = append(h.Syslog.RecentErrors, ingest.SyslogError{Time: t0.Add(time.Duration(i) * time.Second),
			Listener: "tcp://0.0.0.0:601", Tenant: "default", Reason: fmt.Sprintf("error %d", i)})
	}
	rows, errs := ingestRows(h)
	if len(rows) != 3 {
		t.Fatalf("%d rows, want a source and two listeners: %+v", len(rows), rows)
	}
	if r := rows[0]; r.Source != "json" || r.Accepted != "4" || r.Rejected != "1" || !r.Failing || r.LastEvent != "2026-11-22 07:00:00 UTC" {
		t.Errorf("source row %+v", r)
	}
	if r := rows[1]; r.Failing || r.LastEvent != "never" || r.LastError != "" {
		t.Errorf("quiet listener row %+v", r)
	}
	if r := rows[2]; r.Source != "syslog listener tcp://0.0.0.0:601 (tenant default)" || !r.Failing || r.LastError != "error 11" {
		t.Errorf("failing listener row %+v", r)
	}
	if len(errs) != maxIngestErrors || errs[0].Reason != "error 11" || errs[9].Reason != "error 2" {
		t.Errorf("recent errors %+v, want the 10 newest, newest first", errs)
	}
	if rows, errs := ingestRows(ingest.Health{}); len(rows) != 0 || errs != nil {
		t.Errorf("empty health: %+v %+v", rows, errs)
	}
}
