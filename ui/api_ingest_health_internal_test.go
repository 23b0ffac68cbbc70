package ui

import (
	"reflect"
	"testing"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/ingest"
)

// TestVisibleHealth: syslog listeners and errors of other tenants are shown
// to a super_admin only; per-source counters to every api caller.
func TestVisibleHealth(t *testing.T) {
	acmeL := ingest.ListenerHealth{Transport: "udp", Address: "127.0.0.1:514", Tenant: "acme"}
	globexL := ingest.ListenerHealth{Transport: "tcp", Address: "127.0.0.1:601", Tenant: "globex"}
	acmeE := ingest.SyslogError{Listener: "udp://127.0.0.1:514", Tenant: "acme", Reason: "bad"}
	globexE := ingest.SyslogError{Listener: "tcp://127.0.0.1:601", Tenant: "globex", Reason: "secret of globex"}
	full := ingest.Health{Sources: []ingest.SourceHealth{{Source: "json"}},
		Syslog: &ingest.SyslogHealth{Listeners: []ingest.ListenerHealth{acmeL, globexL}, RecentErrors: []ingest.SyslogError{acmeE, globexE}}}

	if got := visibleHealth(full, appliance.Principal{Tenant: "default", Role: appliance.RoleSuperAdmin}); !reflect.DeepEqual(got, full) {
		t.Errorf("super_admin sees %+v", got)
	}
	got := visibleHealth(full, appliance.Principal{Tenant: "acme", Role: appliance.RoleSecurityAdmin})
	want := ingest.Health{Sources: full.Sources,
		Syslog: &ingest.SyslogHealth{Listeners: []ingest.ListenerHealth{acmeL}, RecentErrors: []ingest.SyslogError{acmeE}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("acme's security_admin sees %+v, want %+v", got, want)
	}
	got = visibleHealth(ingest.Health{}, appliance.Principal{Tenant: "acme", Role: appliance.RoleSOCAnalyst})
	if got.Sources == nil || got.Syslog != nil {
		t.Errorf("empty snapshot %+v: sources must be a list, syslog absent", got)
	}
	if len(full.Syslog.Listeners) != 2 {
		t.Error("filtering changed the caller's snapshot")
	}
}
