package sigma

import (
	"fmt"
	"reflect"
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
	var buf []byte
	for i, doc := range docs {
		// The event handed over owns its strings: the caller's bytes
		// and the reused memory may change afterwards.
		buf = append(buf[:0], doc...)
		ev, a, err := set.MatchDocument(buf, a[:0])
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		clear(buf)
		if _, _, err := set.MatchDocument(docs[(i+1)%len(docs)], nil); err != nil {
			t.Fatalf("event %d: %v", i+1, err)
		}
		if b = set.Match(events[i], b[:0]); !slices.Equal(a, b) {
			t.Fatalf("event %d: MatchDocument %s, Match %s", i, ruleIDs(a), ruleIDs(b))
		}
		// The event comes with a match, as NewEvent reads it.
		if (ev != nil) != (len(a) > 0) {
			t.Fatalf("event %d: MatchDocument gave event %v for %d matches", i, ev != nil, len(a))
		}
		if ev != nil {
			if err := sameEvent(ev, events[i]); err != nil {
				t.Fatalf("event %d: %v", i, err)
			}
		}
	}
	if _, _, err := set.MatchDocument([]byte(`{"a":`), nil); err == nil {
		t.Error("a truncated document matched")
	}
}

// sameEvent reports how two events read from the same document differ.
func sameEvent(a, b *Event) error {
	if a.ID != b.ID || a.Source != b.Source || !a.Time.Equal(b.Time) || a.windows != b.windows ||
		a.channel != b.channel || a.dataset != b.dataset || a.eventID != b.eventID {
		return fmt.Errorf("header %q %q %v %q %q %d, want %q %q %v %q %q %d", a.ID, a.Source, a.Time, a.channel, a.dataset, a.eventID,
			b.ID, b.Source, b.Time, b.channel, b.dataset, b.eventID)
	}
	if !reflect.DeepEqual(a.fields, b.fields) {
		return fmt.Errorf("fields %v, want %v", a.fields, b.fields)
	}
	if !reflect.DeepEqual(a.original(), b.original()) {
		return fmt.Errorf("original %v, want %v", a.original(), b.original())
	}
	return nil
}
