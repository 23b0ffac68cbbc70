package command_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance/command"
	"github.com/minixdr/xdr/appliance/intel"
)

func TestDetectionCommandsRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
	status, nobody := "triaged", ""
	for name, c := range map[string]command.Command{
		"PutRules": &command.PutRules{Tenant: "acme", Time: at.UnixNano(), Rules: []command.RuleDef{
			{ID: "5b9d3a1e-0000-4000-8000-000000000001", Source: []byte("title: x\n"), Enabled: true},
			{ID: "r2", Source: []byte("title: \"\\u00e9\"\n")},
		}},
		"SetRuleEnabled": &command.SetRuleEnabled{Tenant: "acme", ID: "r2", Enabled: true, Time: at.UnixNano()},
		"DeleteRule":     &command.DeleteRule{Tenant: "acme", ID: "r2"},
		"PutIndicators": &command.PutIndicators{Tenant: "acme", Source: "ipsum", Replace: true, Indicators: []intel.Indicator{
			{ID: "a1", Type: intel.TypeIP, Value: "10.0.0.0/8", Source: "ipsum", Labels: []string{"x"}, ValidUntil: at},
			{ID: "a2", Type: intel.TypeDomain, Value: "evil.example", Group: "g", GroupSize: 2, ValidFrom: at},
		}},
		"DeleteIntel":                  &command.DeleteIntel{Tenant: "acme", Source: "ipsum"},
		"UpdateIncident":               &command.UpdateIncident{Tenant: "acme", ID: "i1", Status: &status, Assignee: &nobody, Comment: "looked", Author: "alice", Time: at.UnixNano()},
		"UpdateIncident, comment only": &command.UpdateIncident{Tenant: "acme", ID: "i1", Comment: "x", Author: "bob"},
	} {
		data, err := command.Encode(c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := command.Decode(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Fatalf("%s round trip:\n got %#v\nwant %#v", name, got, c)
		}
		if !strings.HasPrefix(name, got.Type().String()) || got.Type() < 16 || got.Type() > 39 {
			t.Fatalf("%s: type %d named %s", name, got.Type(), got.Type())
		}
	}
}
