package attack_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minixdr/xdr/appliance/attack"

	"github.com/minixdr/xdr/internal/shareddata"
)

// The counts are those of the data's README.
func TestEnterpriseCounts(t *testing.T) {
	c := attack.Enterprise()
	if c.Len() != 691 {
		t.Errorf("techniques: got %d, want 691 (216 techniques + 475 sub-techniques)", c.Len())
	}
	tactics := c.Tactics()
	if len(tactics) != 14 {
		t.Fatalf("tactics: got %d, want 14", len(tactics))
	}
	if tactics[0].Shortname != "reconnaissance" || tactics[13].Shortname != "impact" {
		t.Errorf("tactics not in matrix order: first %q, last %q", tactics[0].Shortname, tactics[13].Shortname)
	}
	if !strings.Contains(attack.License, "The MITRE Corporation") {
		t.Error("embedded license text lacks MITRE's copyright designation")
	}
}

func TestLookups(t *testing.T) {
	c := attack.Enterprise()
	for _, tc := range []struct {
		id, name, tactic string
	}{
		{"T1110", "Brute Force", "credential-access"},
		{"t1110.003", "Password Spraying", "credential-access"},
		{"T1046", "Network Service Discovery", "discovery"},
		{"T1059.004", "Unix Shell", "execution"},
	} {
		got, ok := c.Technique(tc.id)
		if !ok || got.Name != tc.name || got.Tactics[0] != tc.tactic {
			t.Errorf("Technique(%q) = %+v, %v; want %q in %q", tc.id, got, ok, tc.name, tc.tactic)
		}
	}
	if _, ok := c.Technique("T9999"); ok {
		t.Error("unknown technique found")
	}
	if ta, ok := c.Tactic("credential_access"); !ok || ta.ID != "TA0006" {
		t.Errorf("Tactic(credential_access) = %+v, %v", ta, ok)
	}
	refs := c.Describe([]string{"T1110", "T1064"})
	if refs[0].Name != "Brute Force" || refs[1].Name != "" || refs[1].ID != "T1064" {
		t.Errorf("Describe = %+v", refs)
	}
}

// The embedded copy must stay the product data, byte for byte.
func TestEmbeddedCopyMatchesProductData(t *testing.T) {
	for _, name := range []string{"enterprise-techniques.json", "enterprise-tactics.json", "LICENSE.txt"} {
		want, err := os.ReadFile(shareddata.Path(t, "data", "attack", name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("data", name))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("data/%s differs from ../shared/data/attack/%s", name, name)
		}
	}
}
