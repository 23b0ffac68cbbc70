package sigma

import (
	"reflect"
	"sync"
	"testing"
)

// TestConcurrentMatch: one RuleSet and the same Events matched from several
// goroutines give every goroutine the sequential answer (run with -race).
func TestConcurrentMatch(t *testing.T) {
	var rules []*Rule
	for _, f := range loadRuleFiles(t) {
		rs, err := ParseRules(f.Data)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.Logsource.Category == "process_creation" || r.Logsource.Service == "security" {
				rules = append(rules, r)
			}
		}
	}
	set, _ := Compile(rules)
	events, _ := loadEvents(t)
	events = events[:2000]
	want := make([][]*Rule, len(events))
	for i, ev := range events {
		want[i] = set.Match(ev, nil)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := range events {
				j := (i + g*500) % len(events)
				if got := set.Match(events[j], nil); !reflect.DeepEqual(got, want[j]) {
					errs <- events[j].ID
					return
				}
				events[j].Field("original.Event.System.Level") // the lazily read original, concurrently
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for id := range errs {
		t.Errorf("event %s: concurrent match differs from the sequential one", id)
	}
}
