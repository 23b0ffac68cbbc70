package detect

import (
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/sigma"
)

// RuleInfo is a rule as listed (GET /api/v1/rules).
type RuleInfo struct {
	ID          string    `json:"id"`
	Title       string    `json:"title"`
	Status      string    `json:"status"`
	Level       string    `json:"level"`
	Kind        string    `json:"kind"` // detection or correlation
	Description string    `json:"description,omitempty"`
	Logsource   string    `json:"logsource,omitempty"` // "product linux, service sshd"
	Attack      []string  `json:"attack"`
	Tactics     []string  `json:"tactics"`
	Enabled     bool      `json:"enabled"`
	Builtin     bool      `json:"builtin"`
	Updated     time.Time `json:"updated,omitzero"`
	Source      string    `json:"source,omitempty"` // the YAML, in GET /rules/{id}
}

// StoredRule is a rule row as State returns it: imported rules have their
// YAML; a built-in rule has a row only when its state was changed.
type StoredRule struct {
	ID      string
	Source  []byte
	Enabled bool
	Builtin bool
}

// RuleFailure is a rule an import could not take.
type RuleFailure struct {
	File   string `json:"file"`
	Rule   string `json:"rule,omitempty"` // its id or title, when it got that far
	Reason string `json:"reason"`
}

// ParseOne parses the YAML of exactly one rule, for the state machine and
// POST /api/v1/rules.
func ParseOne(src []byte) (*sigma.Rule, error) {
	rules, err := sigma.ParseRules(src)
	if err != nil {
		return nil, appliance.Errorf(appliance.EINVALID, "%v", err)
	}
	if len(rules) != 1 {
		return nil, appliance.Errorf(appliance.EINVALID, "want one rule, got %d", len(rules))
	}
	r := rules[0]
	if r.ID == "" {
		return nil, appliance.Errorf(appliance.EINVALID, "rule %q has no id", r.Title)
	}
	if err := appliance.ValidName("rule id", r.ID); err != nil {
		return nil, err
	}
	return r, nil
}

// Info describes a parsed rule.
func Info(r *sigma.Rule) RuleInfo {
	info := RuleInfo{ID: r.ID, Title: r.Title, Status: r.Status, Level: r.Level, Kind: "detection",
		Description: r.Description, Attack: r.Techniques(), Tactics: r.Tactics()}
	if info.Attack == nil {
		info.Attack = []string{}
	}
	if info.Tactics == nil {
		info.Tactics = []string{}
	}
	if r.Correlation != nil {
		info.Kind = "correlation"
	}
	var ls []string
	for _, kv := range [][2]string{{"product", r.Logsource.Product}, {"category", r.Logsource.Category}, {"service", r.Logsource.Service}} {
		if kv[1] != "" {
			ls = append(ls, kv[0]+" "+kv[1])
		}
	}
	info.Logsource = strings.Join(ls, ", ")
	return info
}

// CheckResult is what an import keeps and what it refuses.
type CheckResult struct {
	Rules    []*sigma.Rule
	Failures []RuleFailure
	Skipped  int // left out by the filter
}

// Check parses and compiles the rules of an import against the tenant's
// existing rules (so a correlation may refer to a rule imported earlier),
// returning the rules that will work and a failure for every other one.
// Each input file may hold several rules; keep, when not nil, selects the
// rules to import.
func Check(files map[string][]byte, existing []*sigma.Rule, keep func(*sigma.Rule) bool) CheckResult {
	var (
		res      CheckResult
		parsed   []*sigma.Rule
		fileOf   = map[*sigma.Rule]string{}
		failures []RuleFailure
		seen     = map[string]string{}
	)
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		rules, err := sigma.ParseRules(files[name])
		if err != nil {
			var joined interface{ Unwrap() []error }
			if errors.As(err, &joined) {
				for _, e := range joined.Unwrap() {
					failures = append(failures, RuleFailure{File: name, Reason: e.Error()})
				}
			} else {
				failures = append(failures, RuleFailure{File: name, Reason: err.Error()})
			}
		}
		for _, r := range rules {
			if keep != nil && !keep(r) {
				res.Skipped++
				continue
			}
			switch {
			case r.ID == "":
				failures = append(failures, RuleFailure{File: name, Rule: r.Title, Reason: "rule has no id"})
			case appliance.ValidName("rule id", r.ID) != nil:
				failures = append(failures, RuleFailure{File: name, Rule: r.ID, Reason: appliance.ValidName("rule id", r.ID).Error()})
			case seen[r.ID] != "":
				failures = append(failures, RuleFailure{File: name, Rule: r.ID, Reason: "duplicate rule id (also in " + seen[r.ID] + ")"})
			default:
				seen[r.ID] = name
				fileOf[r] = name
				parsed = append(parsed, r)
			}
		}
	}
	// Existing rules the import replaces are left out of the check set.
	all := append([]*sigma.Rule(nil), parsed...)
	for _, r := range existing {
		if seen[r.ID] == "" {
			all = append(all, r)
		}
	}
	_, errs := sigma.Compile(all)
	bad := map[*sigma.Rule]bool{}
	for _, err := range errs {
		var ce *sigma.CompileError
		if !errors.As(err, &ce) {
			continue
		}
		if file, ok := fileOf[ce.Rule]; ok && !bad[ce.Rule] {
			bad[ce.Rule] = true
			failures = append(failures, RuleFailure{File: file, Rule: ce.Rule.ID, Reason: ce.Err.Error()})
		}
	}
	for _, r := range parsed {
		if !bad[r] {
			res.Rules = append(res.Rules, r)
		}
	}
	res.Failures = failures
	return res
}

// StatusFilter returns a filter keeping rules whose status is in the
// comma-separated list (nil for an empty list: keep all), for
// `xdr rules import --status stable,test`.
func StatusFilter(statuses string) (func(*sigma.Rule) bool, error) {
	if statuses == "" {
		return nil, nil
	}
	want := map[string]bool{}
	for _, s := range strings.Split(statuses, ",") {
		s = strings.TrimSpace(s)
		switch s {
		case "stable", "test", "experimental", "deprecated", "unsupported":
			want[s] = true
		default:
			return nil, appliance.Errorf(appliance.EINVALID, "status %q: want stable, test, experimental, deprecated or unsupported", s)
		}
	}
	return func(r *sigma.Rule) bool { return want[r.Status] }, nil
}
