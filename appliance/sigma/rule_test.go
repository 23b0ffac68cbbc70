package sigma

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseRulesDocuments(t *testing.T) {
	input := `title: First
id: r1
level: High
tags: [attack.credential-access, attack.t1110.001, attack.T1078, attack.g0016, attack.s0002, attack.t1110.001, car.2013-05-003]
logsource: {product: windows, service: security}
detection:
  sel: {EventID: 4625}
  condition: sel
---
title: Broken
logsource: {product: windows}
detection:
  sel:
    Image|nosuch: x
  condition: sel
---
# only a comment
---
title: Third
detection:
  sel: {a: 1}
  condition: sel and other
`
	rules, err := ParseRules([]byte(input))
	if len(rules) != 1 || rules[0].ID != "r1" {
		t.Fatalf("rules %v, want the first only", rules)
	}
	r := rules[0]
	if r.Level != "high" || r.Logsource != (Logsource{Product: "windows", Service: "security"}) || r.Line != 1 {
		t.Errorf("rule %+v", r)
	}
	if !strings.HasPrefix(string(r.Source), "title: First") || strings.Contains(string(r.Source), "Broken") {
		t.Errorf("source %q", r.Source)
	}
	if got, want := r.Techniques(), []string{"T1110.001", "T1078"}; !reflect.DeepEqual(got, want) {
		t.Errorf("techniques %v, want %v", got, want)
	}
	if got, want := r.Tactics(), []string{"credential-access"}; !reflect.DeepEqual(got, want) {
		t.Errorf("tactics %v, want %v", got, want)
	}
	var pes []*ParseError
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var pe *ParseError
		if !errors.As(e, &pe) {
			t.Fatalf("error %v is not a *ParseError", e)
		}
		pes = append(pes, pe)
	}
	if len(pes) != 2 {
		t.Fatalf("errors %v, want two", err)
	}
	if pe := pes[0]; pe.Document != 2 || pe.Line != 14 || pe.Field != "detection.sel.Image|nosuch" || !strings.Contains(pe.Reason, `unknown modifier "nosuch"`) {
		t.Errorf("first error %+v", pe)
	}
	if pe := pes[1]; pe.Document != 4 || !strings.Contains(pe.Error(), `names "other"`) || pe.Line != 22 {
		t.Errorf("second error %+v (%v)", pe, pe)
	}
}

func TestParseRuleErrors(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"title: [a", "invalid YAML"},
		{"- a\n- b", "must be a YAML mapping"},
		{"id: x\ndetection: {s: {a: 1}, condition: s}", "missing title"},
		{"title: t\nlevel: severe\ndetection: {s: {a: 1}, condition: s}", "unknown level"},
		{"title: t", "missing detection"},
		{"title: t\ndetection: {s: {a: 1}}", "missing condition"},
		{"title: t\ndetection: {condition: s}", `names "s"`},
		{"title: t\ndetection: {s: {}, condition: s}", "empty map"},
		{"title: t\ndetection: {s: [{a: 1}, b], condition: s}", "either maps or keywords"},
		{"title: t\ndetection: {s: {a: {b: c}}, condition: s}", "want a value"},
		{"title: t\ndetection: {s: {a|exists: maybe}, condition: s}", "true or false"},
		{"title: t\ndetection: {s: {a|gt: x}, condition: s}", "not a number"},
		{"title: t\ndetection: {s: {a|cidr: 10.0.0.0}, condition: s}", "not a CIDR"},
		{"title: t\ndetection: {s: {a|i: x}, condition: s}", "must follow |re"},
		{"title: t\ndetection: {s: {a|contains|startswith: x}, condition: s}", "cannot be combined"},
		{"title: t\ndetection: {s: {a|: x}, condition: s}", "empty modifier"},
		{"title: t\ntitle: u\ndetection: {s: {a: 1}, condition: s}", "duplicate key"},
		{"title: t\naction: global\ndetection: {s: {a: 1}, condition: s}", "rule collections"},
		{"title: t\ndetection: {s: {a: 1}, condition: s}\ncorrelation: {type: temporal}", "not both"},
		{"title: t\ntags: {a: b}\ndetection: {s: {a: 1}, condition: s}", "want a list"},
	}
	for _, tt := range tests {
		_, err := ParseRules([]byte(tt.yaml))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %q", tt.yaml, err, tt.want)
		}
	}
}

func TestCompileErrorsNameTheRule(t *testing.T) {
	rules, err := ParseRules([]byte(`title: Good
id: good
logsource: {product: json}
detection: {s: {a: 1}, condition: s}
---
title: Lookahead
id: bad-re
logsource: {product: json}
detection: {s: {a|re: '(?=x)'}, condition: s}
`))
	if err != nil {
		t.Fatal(err)
	}
	rs, errs := Compile(rules)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), `rule bad-re ("Lookahead")`) || !strings.Contains(errs[0].Error(), "|re") {
		t.Fatalf("errors %v", errs)
	}
	if len(rs.Rules()) != 1 || rs.Rules()[0].ID != "good" {
		t.Errorf("compiled %v, want the good rule", rs.Rules())
	}
}
