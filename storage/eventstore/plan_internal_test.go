package eventstore

import (
	"log/slog"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance"
)

// The planner's size estimate of an exact term is its count from the
// rollups over the tenant's events (whole minutes here), which lets an AND
// lead with its rarest term.
func TestPlannerEstimates(t *testing.T) {
	s, err := Open(t.TempDir(), Options{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	base := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	var evs []appliance.Event
	for i := range 300 {
		user := "common"
		if i%30 == 0 {
			user = "rare"
		}
		id := appliance.NewEventID(base.Add(time.Duration(i)*37*time.Second), uint64(i))
		evs = append(evs, appliance.Event{ID: id, Doc: []byte(`{}`), Terms: []appliance.Term{{Field: "source", Value: "json"}, {Field: "user.name", Value: user}}})
	}
	if _, err := s.ApplyBatch(1, "acme", evs); err != nil {
		t.Fatal(err)
	}
	err = s.viewRollups(func(rv rollupView) error {
		txn := rv.txn
		lower, upper := bounds(time.Time{}, time.Time{})
		p := &planner{txn: txn, rv: rv, tenant: "acme", lower: lower, upper: upper}
		for value, want := range map[string]int{"common": 290, "rare": 10, "RARE": 10, "nobody": 0} {
			if got := p.count(fieldCodes["user.name"], value); got != want {
				t.Errorf("estimate of user.name:%s = %d, want %d", value, got, want)
			}
		}
		if got := p.count(fieldCodes["source.port"], "22"); got != unknownCount {
			t.Errorf("estimate of a field without rollups = %d, want unknown", got)
		}
		other := &planner{txn: txn, rv: rv, tenant: "beta", lower: lower, upper: upper}
		if got := other.count(fieldCodes["user.name"], "common"); got != unknownCount {
			t.Errorf("another tenant's estimate = %d, want unknown (it has no events)", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
