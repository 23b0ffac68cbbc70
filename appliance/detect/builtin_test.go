package detect_test

import (
	"testing"

	"github.com/minixdr/xdr/appliance/detect"
	"github.com/minixdr/xdr/appliance/sigma"
)

func TestBuiltinRulesCompile(t *testing.T) {
	rules := detect.Builtin()
	if len(rules) != 11 {
		t.Fatalf("%d built-in rules", len(rules))
	}
	ids := map[string]bool{}
	for _, r := range rules {
		if ids[r.ID] {
			t.Errorf("duplicate id %s", r.ID)
		}
		ids[r.ID] = true
		if r.Title == "" || r.Level == "" || r.Status != "stable" || r.Description == "" {
			t.Errorf("rule %s lacks title, level, status or description", r.ID)
		}
	}
	if _, errs := sigma.Compile(rules); len(errs) > 0 {
		t.Fatalf("built-in rules do not compile: %v", errs)
	}
}
