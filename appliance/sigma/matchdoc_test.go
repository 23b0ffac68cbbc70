package sigma

import (
	"slices"
	"testing"
)

// TestMatchDocument: MatchDocument finds for every test event what NewEvent
// and Match find, and refuses what NewEvent refuses.
func TestMatchDocument(t *testing.T) {
	set, _ := Compile(windowsRuleList(t))
	events, docs := loadEvents(t)
	var a, b []*Rule
	for i, doc := range docs {
		var err error
		if a, err = set.MatchDocument(doc, a[:0]); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if b = set.Match(events[i], b[:0]); !slices.Equal(a, b) {
			t.Fatalf("event %d: MatchDocument %s, Match %s", i, ruleIDs(a), ruleIDs(b))
		}
	}
	if _, err := set.MatchDocument([]byte(`{"a":`), nil); err == nil {
		t.Error("a truncated document matched")
	}
}
