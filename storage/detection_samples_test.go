package storage_test

import (
	"context"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/command"
	"github.com/minixdr/xdr/appliance/ingest"
	"github.com/minixdr/xdr/storage"
	"github.com/minixdr/xdr/storage/storetest"

	"github.com/minixdr/xdr/internal/shareddata"
)

// ingestSample sends a sample file of ../shared/testdata/samples through
// the real ingest service into the store.
func ingestSample(t *testing.T, svc *ingest.Service, source, path string) {
	t.Helper()
	f, err := os.Open(shareddata.Path(t, "testdata", "samples", path))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := svc.Ingest(context.Background(), ingest.Request{Tenant: "acme", Source: source, Body: f})
	if err != nil || res.Accepted == 0 {
		t.Fatalf("ingest %s: %+v %v", path, res, err)
	}
}

func sampleStore(t *testing.T) (*storage.Store, *ingest.Service) {
	t.Helper()
	s := storetest.MustOpenStore(t)
	p := &storetest.Proposer{Store: s}
	if err := p.Propose(context.Background(), &command.CreateTenant{Tenant: appliance.Tenant{Name: "acme", Created: detectT0}}); err != nil {
		t.Fatal(err)
	}
	return s, ingest.New(p, ingest.DefaultLimits, func() time.Time { return detectT0 }, nil)
}

// ruleTitles counts a tenant's alerts by rule title.
func ruleTitles(t *testing.T, s *storage.Store) map[string]int {
	got := map[string]int{}
	for _, a := range alerts(t, s, "acme", "") {
		got[a.RuleTitle]++
	}
	return got
}

// The lab scenario A of the samples README: attacker 10.200.0.2 brute
// forces sshd with many user names, and logs in to the Cowrie honeypot and
// downloads and starts a bot.
func TestBuiltinRulesOnLabScenario(t *testing.T) {
	s, svc := sampleStore(t)
	ingestSample(t, svc, "auth", "auth/auth_debian12_scenarioA.log")
	ingestSample(t, svc, "cowrie", "cowrie/cowrie_scenarioA.ndjson")
	got := ruleTitles(t, s)
	for _, title := range []string{"SSH brute force", "SSH password spraying", "Suspicious command on the honeypot", "Honeypot login succeeded"} {
		if got[title] == 0 {
			t.Errorf("no %q alert; alerts by rule: %v", title, got)
		}
	}
	// The routine per-login rules feed the correlations and raise nothing
	// themselves.
	for _, title := range []string{"SSH login failed", "Honeypot login failed", "SSH login succeeded"} {
		if got[title] != 0 {
			t.Errorf("%d %q alerts; they should only feed correlations", got[title], title)
		}
	}
	page, err := s.SQL.Incidents(context.Background(), "acme", "", 100, "")
	if err != nil {
		t.Fatal(err)
	}
	var attacker *struct {
		sev, title string
		attack     []string
	}
	for _, inc := range page.Incidents {
		if inc.Key.Value == "10.200.0.2" {
			attacker = &struct {
				sev, title string
				attack     []string
			}{inc.Severity, inc.Title, inc.Attack}
		}
	}
	if attacker == nil {
		t.Fatalf("no incident for the attacker; incidents: %+v", page.Incidents)
	}
	if attacker.sev != "critical" || !strings.Contains(attacker.title, "Multiple detections from 10.200.0.2") {
		t.Errorf("attacker incident: %+v", attacker)
	}
	sort.Strings(attacker.attack)
	if strings.Join(attacker.attack, ",") == "" || !strings.Contains(strings.Join(attacker.attack, ","), "T1110.001") {
		t.Errorf("attacker incident techniques: %v", attacker.attack)
	}
	for _, inc := range page.Incidents {
		if inc.Key.Value == "10.200.0.20" {
			t.Errorf("the lab's legitimate client has an incident: %+v", inc)
		}
	}
}
