package detect

import (
	"testing"
	"time"
)

func TestRollUp(t *testing.T) {
	for _, tc := range []struct {
		current, alert     string
		rulesBefore, rules int
		want               string
	}{
		{"low", "high", 1, 2, "high"},
		{"high", "low", 1, 1, "high"},
		{"medium", "medium", 2, 3, "high"},         // a third rule joins: one up
		{"high", "medium", 3, 3, "high"},           // already counted
		{"high", "medium", 3, 4, "high"},           // only the third raises
		{"critical", "critical", 2, 3, "critical"}, // no level above
		{"", "bogus", 0, 1, "informational"},
	} {
		if got := rollUp(tc.current, tc.alert, tc.rulesBefore, tc.rules); got != tc.want {
			t.Errorf("rollUp(%q, %q, %d→%d) = %q, want %q", tc.current, tc.alert, tc.rulesBefore, tc.rules, got, tc.want)
		}
	}
}

func TestIncidentTakes(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)
	inc := &Incident{Status: StatusTriaged, Created: t0, LastAlert: t0.Add(10 * time.Minute)}
	for _, tc := range []struct {
		at   time.Time
		want bool
	}{
		{t0.Add(30 * time.Minute), true},
		{t0.Add(70 * time.Minute), true},  // within an hour of the last alert
		{t0.Add(71 * time.Minute), false}, // over an hour after it
		{t0.Add(-59 * time.Minute), true}, // a late event shortly before the first
		{t0.Add(-61 * time.Minute), false},
	} {
		if got := inc.takes(tc.at); got != tc.want {
			t.Errorf("takes(%v) = %v", tc.at.Sub(t0), got)
		}
	}
	inc.Status = StatusResolved
	if inc.takes(t0) {
		t.Error("a resolved incident takes alerts")
	}
}
