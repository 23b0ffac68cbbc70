package main

// End-to-end detection: rule and intel import through the CLI and the admin
// socket, brute-force lines through the ingest API, and the alert and
// incident they raise through the alerts and incidents API.

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minixdr/xdr/internal/shareddata"
)

// sharedPath is a path under ../shared beside the repository; the test
// is skipped when that folder is absent.
func sharedPath(t testing.TB, parts ...string) string {
	t.Helper()
	return shareddata.Path(t, parts...)
}

// getJSON GETs an API path and decodes the object answered.
func (n *node) getJSON(token, path string) map[string]any {
	n.t.Helper()
	st, _, b := n.mustDo("GET", path, token, nil, nil)
	if st != http.StatusOK {
		n.t.Fatalf("GET %s: %d %s", path, st, b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		n.t.Fatalf("GET %s: %v", path, err)
	}
	return m
}

func TestDetectionEndToEnd(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	dir := n.dir

	// A rule directory with one good rule and one broken file.
	rules := t.TempDir()
	good := "title: Sudo to root shell\nid: 8a1c2d3e-4f50-4617-8829-3a4b5c6d7e8f\nstatus: test\nlevel: medium\n" +
		"logsource:\n  product: linux\n  service: sudo\ndetection:\n  selection:\n    event.action: sudo\n    process.command_line|endswith: /bash\n  condition: selection\n"
	if err := os.WriteFile(filepath.Join(rules, "good.yml"), []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rules, "broken.yml"), []byte("title: broken\nid: x\ndetection:\n  condition: nothing\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, nil, "rules", "import", rules, "--data-dir", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "imported 1 rules from 2 files; 1 failed") || !strings.Contains(r.stdout, "failed: broken.yml") {
		t.Fatalf("rules import: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, nil, "rules", "import", filepath.Join(rules, "nope"), "--data-dir", dir); r.code == 0 || !strings.Contains(r.stderr, "nope") {
		t.Errorf("import of a missing path: exit %d, stderr %q", r.code, r.stderr)
	}

	// The SigmaHQ release: most rules import; every failure names its file.
	r = runCLI(t, nil, "rules", "import", sharedPath(t, "testdata", "sigma", "sigma_rules.tar.gz"), "--status", "stable,test", "--data-dir", dir)
	if r.code != 0 {
		t.Fatalf("SigmaHQ import: exit %d\n%s", r.code, r.stderr)
	}
	m := regexp.MustCompile(`imported (\d+) rules from (\d+) files; (\d+) failed; (\d+) left out`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("SigmaHQ import summary missing:\n%s", r.stdout)
	}
	imported, _ := strconv.Atoi(m[1])
	failed, _ := strconv.Atoi(m[3])
	skipped, _ := strconv.Atoi(m[4])
	t.Logf("SigmaHQ (stable,test): imported %d, failed %d, left out %d of %s files", imported, failed, skipped, m[2])
	if imported < 1000 || skipped == 0 || strings.Count(r.stdout, "failed: ") != failed {
		t.Errorf("SigmaHQ import: %s", m[0])
	}

	tok := n.adminToken()
	if got := n.getJSON(tok, "/api/v1/rules?status=test&enabled=true")["rules"].([]any); len(got) < 100 {
		t.Errorf("%d enabled test rules listed", len(got))
	}

	// Brute force on sshd, from the lab sample.
	ingestTok := n.createToken("sensor", "ingest")
	body, err := os.ReadFile(sharedPath(t, "testdata", "samples", "auth", "auth_debian12_scenarioA.log"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	st, _, b := n.mustDo("POST", "/api/v1/ingest/auth", ingestTok, strings.NewReader(string(body)), nil)
	if st != http.StatusOK {
		t.Fatalf("ingest: %d %s", st, b)
	}
	var alerts []any
	for deadline := time.Now().Add(10 * time.Second); ; {
		alerts = n.getJSON(tok, "/api/v1/alerts?q="+url.QueryEscape(`rule_title:"SSH brute force"`))["alerts"].([]any)
		if len(alerts) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(alerts) == 0 {
		t.Fatal("no SSH brute force alert")
	}
	t.Logf("ingest to alert visible: %v", time.Since(start))
	a := alerts[0].(map[string]any)
	if a["severity"] != "high" || a["attack"].([]any)[0] != "T1110.001" || len(a["event_ids"].([]any)) != 10 {
		t.Errorf("alert %v", a)
	}
	inc := n.getJSON(tok, "/api/v1/incidents/"+a["incident"].(string))
	if inc["status"] != "new" || !strings.Contains(inc["title"].(string), "10.200.0.2") || inc["alert_count"].(float64) < 2 {
		t.Errorf("incident %v", inc)
	}
	st, _, b = n.mustDo("PATCH", "/api/v1/incidents/"+inc["id"].(string), tok, strings.NewReader(`{"status":"contained","comment":"blocked at the firewall"}`), nil)
	if st != http.StatusOK || !strings.Contains(string(b), `"status":"contained"`) {
		t.Errorf("triage: %d %s", st, b)
	}
}

// The intel samples import with the counts their READMEs give.
func TestIntelImportSamples(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	for _, tc := range []struct {
		file string
		args []string
		want string
	}{
		{"stix/apt1.json", nil, "imported 10 indicators (ip 4, domain 3, md5 3) from 12 read; 0 malformed"},
		{"stix/poisonivy.json", nil, "imported 66 indicators (ip 40, domain 24, filename 2) from 25 read; 1 malformed"},
		{"stix/indicators-for-C2-with-COA.json", nil, "imported 2 indicators (ip 1, sha256 1) from 2 read"},
		{"stix/indicator-for-malicious-url.json", nil, "imported 1 indicators (url 1) from 1 read"},
		{"misp/asert-four-element-sword.event.json", nil, "imported 251 indicators (ip 8, domain 12, url 11, md5 75, sha1 57, sha256 84, filename 4) from 370 read; 3 malformed"},
		{"misp/eset-invisimole.response.json", nil, "imported 0 indicators (none) from 319 read"},
		{"misp/eset-invisimole.response.json", []string{"--all", "--source", "invisimole"}, "imported 118 indicators (ip 6, domain 13, sha1 89, filename 10) from 319 read"},
		{"lists/ipsum-min5.tsv", []string{"--format", "list", "--expires", "720h"}, "imported 1413 indicators (ip 1413) from 1413 read"},
		{"lists/eset-stantinko-cryptominer.sha256", nil, "imported 1053 indicators (sha256 1053) from 1053 read"},
	} {
		args := append([]string{"intel", "import", sharedPath(t, "data", "intel", tc.file), "--data-dir", n.dir}, tc.args...)
		r := runCLI(t, nil, args...)
		if r.code != 0 || !strings.Contains(r.stdout, tc.want) {
			t.Errorf("%s: exit %d, stdout:\n%s\nstderr %s\nwant %q", tc.file, r.code, r.stdout, r.stderr, tc.want)
		}
	}
	sources := n.getJSON(n.adminToken(), "/api/v1/intel")["sources"].([]any)
	total := 0
	for _, s := range sources {
		total += int(s.(map[string]any)["count"].(float64))
	}
	// STIX 10+66+2+1, MISP 251+118, lists 1413+1053; a source is one file's
	// format name unless --source says otherwise, so the four STIX files
	// (all source "stix") replace nothing: IDs differ per indicator.
	if total != 79+251+118+1413+1053 {
		t.Errorf("intel summary counts %d indicators: %v", total, sources)
	}
}

// alertIDs lists the IDs of a node's alerts (all pages).
func (n *node) alertIDs(token string) []string {
	n.t.Helper()
	var ids []string
	for cursor := ""; ; {
		page := n.getJSON(token, "/api/v1/alerts?limit=1000&cursor="+url.QueryEscape(cursor))
		for _, a := range page["alerts"].([]any) {
			ids = append(ids, a.(map[string]any)["id"].(string))
		}
		if cursor, _ = page["next"].(string); cursor == "" {
			return ids
		}
	}
}

// Every node of a cluster derives the same alerts and incidents from the
// log, and a new leader carries on the correlations the old one started.
func TestClusterDetectionIsReplicated(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, 3)
	tok := sessionToken(t, nodes[1])
	leader := leaderOf(t, nodes, tok)
	var followers []*node
	for _, n := range nodes {
		if n != leader {
			followers = append(followers, n)
		}
	}
	cowrie, err := os.ReadFile(sharedPath(t, "testdata", "samples", "cowrie", "cowrie_scenarioA.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	if st, _, b := followers[0].mustDo("POST", "/api/v1/ingest/cowrie", tok, strings.NewReader(string(cowrie)), nil); st != http.StatusOK {
		t.Fatalf("ingest through a follower: %d %s", st, b)
	}
	// Six failed sshd logins from one address: below the brute-force
	// threshold of ten.
	line := func(i int) string {
		return time.Date(2026, 11, 22, 5, 0, i, 0, time.UTC).Format(time.RFC3339Nano) +
			" srv sshd[1]: Failed password for root from 192.0.2.200 port " + strconv.Itoa(40000+i) + " ssh2\n"
	}
	var first strings.Builder
	for i := range 6 {
		first.WriteString(line(i))
	}
	if st, _, b := leader.mustDo("POST", "/api/v1/ingest/auth", tok, strings.NewReader(first.String()), nil); st != http.StatusOK {
		t.Fatalf("ingest: %d %s", st, b)
	}
	waitSameState(t, nodes)
	want := leader.alertIDs(tok)
	if len(want) == 0 {
		t.Fatal("no alerts from the honeypot sample")
	}
	for _, n := range followers {
		if got := n.alertIDs(tok); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("%s has alerts %v, the leader %v", n.http, got, want)
		}
	}

	// The leader dies; four more failures through the survivors complete
	// the brute force the old leader's log began.
	leader.kill9()
	tok = sessionToken(t, followers[0])
	var rest strings.Builder
	for i := 6; i < 10; i++ {
		rest.WriteString(line(i))
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		st, _, b := followers[0].mustDo("POST", "/api/v1/ingest/auth", tok, strings.NewReader(rest.String()), nil)
		if st == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ingest after failover: %d %s", st, b)
		}
		time.Sleep(pollInterval)
	}
	waitSameState(t, followers)
	for _, n := range followers {
		got := n.getJSON(tok, "/api/v1/alerts?q="+url.QueryEscape(`rule_title:"SSH brute force" AND entities.value:192.0.2.200`))["alerts"].([]any)
		if len(got) != 1 || len(got[0].(map[string]any)["event_ids"].([]any)) != 10 {
			t.Fatalf("%s: brute-force alerts after failover: %v", n.http, got)
		}
	}
}
