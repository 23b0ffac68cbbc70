package sigma

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
)

// ruleStatus is one line of rule_status.ndjson.gz.
type ruleStatus struct {
	Path           string `json:"path"`
	ID             string `json:"id"`
	Status         string `json:"status"`
	WildcardValues bool   `json:"wildcard_values"`
}

type pair struct {
	event int
	rule  string
}

// TestConformance compares our matches on the SigmaHQ rules and the test
// events with the reference engine's (plus the audited corrections), on the
// rules the reference evaluated. docs/detection.md explains every class of
// disagreement left.
func TestConformance(t *testing.T) {
	files := loadRuleFiles(t)
	status := map[string]ruleStatus{}
	readNDJSON(t, "rule_status.ndjson.gz", func(line []byte) {
		var s ruleStatus
		if err := json.Unmarshal(line, &s); err != nil {
			t.Fatal(err)
		}
		status[s.Path] = s
	})

	var rules []*Rule
	parseFailed, refCannot := 0, 0
	refStatus := map[string]string{} // rule id → the reference's status
	evaluated := map[string]bool{}   // rule id → reference evaluated it
	doubtful := map[string]bool{}    // rule id → values with wildcards (reference compares literally)
	for _, f := range files {
		rs, err := ParseRules(f.Data)
		st, known := status[f.Path]
		if err != nil {
			parseFailed++
			t.Logf("parse %s: %v", f.Path, err)
			continue
		}
		rules = append(rules, rs...)
		if known && st.Status == "parse_error" {
			refCannot++
		}
		for _, r := range rs {
			if known {
				refStatus[r.ID] = st.Status
			}
			if known && st.Status == "evaluated" {
				evaluated[r.ID] = true
				doubtful[r.ID] = st.WildcardValues
			}
		}
	}
	set, errs := Compile(rules)
	compileFailed := map[string]string{}
	for _, err := range errs {
		ce := err.(*CompileError)
		compileFailed[ce.Rule.ID] = ce.Err.Error()
	}
	for id := range evaluated {
		if reason, bad := compileFailed[id]; bad {
			t.Errorf("rule %s, evaluated by the reference, does not compile: %s", id, reason)
		}
	}
	t.Logf("rule files %d: %d parse errors; %d rules, %d compile errors (logsources we do not map); %d rules parse here that the reference could not",
		len(files), parseFailed, len(rules), len(errs), refCannot)
	if parseFailed > 0 {
		t.Errorf("%d SigmaHQ rule files do not parse", parseFailed)
	}

	compiled := map[string]int{} // by reference status: rules that compile here
	for _, r := range set.Rules() {
		compiled[refStatus[r.ID]]++
	}
	t.Logf("rules compiled here, by the reference's status: %v", compiled)

	events, _ := loadEvents(t)
	ours := map[pair]bool{}
	beyond := map[string]int{} // matches of rules the reference did not evaluate, by its status
	beyondRules := map[string]bool{}
	var dst []*Rule
	for i, ev := range events {
		dst = set.Match(ev, dst[:0])
		for _, r := range dst {
			if evaluated[r.ID] {
				ours[pair{i, r.ID}] = true
			} else {
				beyond[refStatus[r.ID]]++
				beyondRules[r.ID] = true
			}
		}
	}
	t.Logf("matches of rules the reference did not evaluate: %d pairs of %d rules, by its status %v", sumValues(beyond), len(beyondRules), beyond)
	want := map[pair]bool{}
	readNDJSON(t, "matches_developer.ndjson.gz", func(line []byte) {
		var m struct {
			Event int    `json:"event_index"`
			Rule  string `json:"rule_id"`
		}
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatal(err)
		}
		want[pair{m.Event, m.Rule}] = true
	})
	readNDJSON(t, "matches_developer_corrections.ndjson.gz", func(line []byte) {
		var m struct {
			Event int    `json:"event_index"`
			Rule  string `json:"rule_id"`
		}
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatal(err)
		}
		want[pair{m.Event, m.Rule}] = true
	})

	var agree, onlyOurs, onlyRef, doubtOurs, doubtRef []pair
	for p := range ours {
		switch {
		case want[p]:
			agree = append(agree, p)
		case doubtful[p.rule]:
			doubtOurs = append(doubtOurs, p)
		default:
			onlyOurs = append(onlyOurs, p)
		}
	}
	for p := range want {
		if ours[p] {
			continue
		}
		if doubtful[p.rule] {
			doubtRef = append(doubtRef, p)
		} else {
			onlyRef = append(onlyRef, p)
		}
	}
	union := len(agree) + len(onlyOurs) + len(onlyRef)
	agreement := float64(len(agree)) / float64(union)
	t.Logf("conformance: %d events, %d evaluated rules; %d expected pairs, %d ours; agree %d, only ours %d, only expected %d: agreement %.2f%% (of the union of both, rules without wildcard values); wildcard-value rules (doubtful): only ours %d, only expected %d",
		len(events), len(evaluated), len(want), len(ours), len(agree), len(onlyOurs), len(onlyRef), 100*agreement, len(doubtOurs), len(doubtRef))
	titles := map[string]string{}
	for _, r := range rules {
		titles[r.ID] = r.Title
	}
	logPairs(t, "only ours", onlyOurs, titles)
	logPairs(t, "only expected", onlyRef, titles)
	logPairs(t, "doubtful, only ours", doubtOurs, titles)
	logPairs(t, "doubtful, only expected", doubtRef, titles)
	if agreement < 0.99 {
		t.Errorf("agreement %.2f%% is under 99%%", 100*agreement)
	}
}

// logPairs lists disagreements grouped by rule.
func logPairs(t *testing.T, what string, ps []pair, titles map[string]string) {
	byRule := map[string][]int{}
	for _, p := range ps {
		byRule[p.rule] = append(byRule[p.rule], p.event)
	}
	ids := make([]string, 0, len(byRule))
	for id := range byRule {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		evs := byRule[id]
		sort.Ints(evs)
		s := fmt.Sprint(evs)
		if len(evs) > 10 {
			s = strings.Trim(fmt.Sprint(evs[:10]), "[]") + fmt.Sprintf(" and %d more", len(evs)-10)
		}
		t.Logf("%s: %s %q events %s", what, id, titles[id], strings.Trim(s, "[]"))
	}
}

func sumValues(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
