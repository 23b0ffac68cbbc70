package sigma

import (
	"slices"
	"testing"
)

// windowsRuleList parses the SigmaHQ Windows rules of the test archive.
func windowsRuleList(t testing.TB) []*Rule {
	t.Helper()
	var rules []*Rule
	for _, f := range loadRuleFiles(t) {
		rs, err := ParseRules(f.Data)
		if err != nil {
			t.Fatalf("%s: %v", f.Path, err)
		}
		for _, r := range rs {
			if r.Logsource.Product == "windows" || r.Logsource.Category == "antivirus" {
				rules = append(rules, r)
			}
		}
	}
	return rules
}

// TestCompileCache: a rule set compiled with the cache of a previous
// compile, after rules were removed and reordered, matches every test
// event as one compiled afresh does, and reuses the previous automata.
func TestCompileCache(t *testing.T) {
	rules := windowsRuleList(t)
	cache := NewCache()
	first, _ := CompileWith(rules, Options{Cache: cache})
	// Drop ten rules and move five to the end: slots, groups and atom ids
	// all change.
	changed := append(slices.Clone(rules[10:]), rules[5:10]...)
	cached, _ := CompileWith(changed, Options{Cache: cache})
	fresh, _ := Compile(changed)
	events, _ := loadEvents(t)
	var a, b []*Rule
	for i, ev := range events {
		a, b = cached.Match(ev, a[:0]), fresh.Match(ev, b[:0])
		if !slices.Equal(a, b) {
			t.Fatalf("event %d: cached compile matched %s, a fresh one %s", i, ruleIDs(a), ruleIDs(b))
		}
	}
	old := map[*acMachine]bool{}
	for _, gs := range first.automata {
		for _, ga := range gs {
			old[ga.m] = true
		}
	}
	reused, total := 0, 0
	for _, gs := range cached.automata {
		for _, ga := range gs {
			total++
			if old[ga.m] {
				reused++
			}
		}
	}
	if reused*2 < total {
		t.Errorf("%d of %d automata reused after a small change", reused, total)
	}
	if len(cache.machines) == 0 || len(cache.regexps) == 0 {
		t.Errorf("the cache kept %d automata and %d regexps", len(cache.machines), len(cache.regexps))
	}
}

func ruleIDs(rs []*Rule) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

// BenchmarkCompileAfterChange is compiling the SigmaHQ Windows rules again
// after one rule changed, with the cache of the previous compile (what the
// apply does after a rule change; parsing is cached by the caller).
func BenchmarkCompileAfterChange(b *testing.B) {
	rules := windowsRuleList(b)
	cache := NewCache()
	CompileWith(rules, Options{Cache: cache})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Alternately without and with one rule.
		set := rules
		if i%2 == 0 {
			set = rules[1:]
		}
		CompileWith(set, Options{Cache: cache})
	}
}
