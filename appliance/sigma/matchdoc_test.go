package sigma

import (
	"slices"
	"testing"
)

// TestMatchDocument: MatchDocument finds for every test event what NewEvent
// and Match find, hands over the event when it matched, and refuses what
// NewEvent refuses.
func TestMatchDocument(t *testing.T) {
	set, _ := Compile(windowsRuleList(t))
	events, docs := loadEvents(t)
	var a, b []*Rule
	for i, doc := range docs {
		ev, a, err := set.MatchDocument(doc, a[:0])
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if b = set.Match(events[i], b[:0]); !slices.Equal(a, b) {
			t.Fatalf("event %d: MatchDocument %s, Match %s", i, ruleIDs(a), ruleIDs(b))
		}
		// The event comes with a match, as NewEvent reads it.
		if (ev != nil) != (len(a) > 0) || ev != nil && (ev.ID != events[i].ID || len(ev.fields) != len(events[i].fields)) {
			t.Fatalf("event %d: MatchDocument gave event %v for %d matches", i, ev != nil, len(a))
		}
	}
	if _, _, err := set.MatchDocument([]byte(`{"a":`), nil); err == nil {
		t.Error("a truncated document matched")
	}
}
