package appliance_test

import (
	"strings"
	"testing"

	"github.com/minixdr/xdr/appliance"
)

func TestValidName(t *testing.T) {
	cases := []struct {
		name string
		ok   bool
	}{
		{"default", true},
		{"a", true},
		{"0", true},
		{"acme-corp_eu1", true},
		{"9lives", true},
		{strings.Repeat("a", 63), true},
		{strings.Repeat("a", 64), false},
		{"", false},
		{"-acme", false},
		{"_acme", false},
		{"Acme", false},
		{"ACME", false},
		{"acme corp", false},
		{"acme.corp", false},
		{"acme/../x", false},
		{"acme\x00", false},
		{"acme\n", false},
		{"\nacme", false},
		{"äcme", false},
		{"acme\u0301", false},
		{"a:b", false},
	}
	for _, c := range cases {
		err := appliance.ValidName("tenant", c.name)
		if c.ok {
			if err != nil {
				t.Errorf("ValidName(%q) = %v, want nil", c.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("ValidName(%q) = nil, want an error", c.name)
			continue
		}
		if appliance.ErrorCode(err) != appliance.EINVALID {
			t.Errorf("ValidName(%q): code %q, want %q", c.name, appliance.ErrorCode(err), appliance.EINVALID)
		}
		if !strings.HasPrefix(err.Error(), "tenant name ") {
			t.Errorf("ValidName(%q): message %q does not name the kind", c.name, err)
		}
	}
}

func TestValidNameMessageQuotesHostileInput(t *testing.T) {
	// The name is echoed to the caller: it must be quoted so control
	// characters cannot forge log lines or break the message.
	err := appliance.ValidName("user", "x\n\x1b[31mADMIN")
	if err == nil {
		t.Fatal("accepted")
	}
	if strings.ContainsAny(err.Error(), "\n\x1b") {
		t.Fatalf("message %q carries raw control characters", err)
	}
	if !strings.Contains(err.Error(), "user name") {
		t.Fatalf("message %q does not name the kind", err)
	}
}

func TestRolesAndScopesAreDistinct(t *testing.T) {
	roles := []string{appliance.RoleSuperAdmin, appliance.RoleSecurityAdmin, appliance.RoleSOCAnalyst,
		appliance.RoleIncidentResponder, appliance.RoleReadOnlyAnalyst}
	seen := map[string]bool{}
	for _, r := range roles {
		if seen[r] || appliance.ValidName("role", r) != nil {
			t.Fatalf("role %q is repeated or not a valid name", r)
		}
		seen[r] = true
	}
	if appliance.ScopeAPI == appliance.ScopeIngest {
		t.Fatal("scopes are equal")
	}
	if appliance.ValidName("tenant", appliance.DefaultTenant) != nil {
		t.Fatal("the default tenant's name is not a valid name")
	}
}
