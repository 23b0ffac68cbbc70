package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/detect"
	"github.com/minixdr/xdr/appliance/query"
)

var alertT0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// genAlerts makes n alerts of a tenant from a fixed seed, with values
// chosen to find where SQL and Go compare differently: case, the two
// non-ASCII letters that fold to ASCII ones (K, the Kelvin sign; the long
// s), other non-ASCII letters, LIKE's wildcards, missing fields and equal
// times.
func genAlerts(tenant string, n int, seed uint64) []*detect.Alert {
	rng := rand.New(rand.NewPCG(seed, 7))
	pick := func(vals ...string) string { return vals[rng.IntN(len(vals))] }
	out := make([]*detect.Alert, n)
	for i := range out {
		a := &detect.Alert{
			ID:        fmt.Sprintf("%s-%04d", tenant, i),
			Tenant:    tenant,
			RuleID:    pick("ssh-brute", "SSH-Brute", "\u212Aerberos", "kerberos", "\u017Fudo", "sudo", "ärger", "Ärger", "50%_off", "50x_off"),
			RuleTitle: pick("SSH brute force", "Sudo to root", "Cowrie command", "100% sure", "a_b", "ÄÖÜ"),
			Severity:  pick(detect.Severities...),
			Attack:    []string{},
			EventIDs:  []string{"e"},
			Timestamp: alertT0.Add(time.Duration(rng.IntN(200)) * time.Minute),
			Incident:  pick("inc-1", "inc-2", "INC-1"),
		}
		if rng.IntN(5) == 0 {
			a.Severity = pick("HIGH", "Critical", "ſevere")
		}
		if rng.IntN(3) > 0 {
			a.Source = pick("cowrie", "auth", "Sysmon")
		}
		if rng.IntN(2) == 0 {
			a.GroupKey = "source.ip=" + pick("198.51.1.7", "10.0.0.1")
		}
		for range rng.IntN(3) {
			a.Attack = append(a.Attack, pick("T1110", "T1110.001", "t1059.004", "T1078"))
		}
		if len(a.Attack) > 0 && rng.IntN(2) == 0 {
			a.Tactics = []string{pick("credential-access", "execution")}
		}
		if rng.IntN(4) > 0 {
			a.Entities = append(a.Entities, detect.Entity{Type: "ip", Value: fmt.Sprintf("198.51.%d.%d", rng.IntN(3), rng.IntN(20))})
		}
		if rng.IntN(2) == 0 {
			a.Entities = append(a.Entities, detect.Entity{Type: "user", Value: pick("root", "Root", "alice", "\u212Aate", "kate", "jürgen", "JÜRGEN")})
		}
		if rng.IntN(3) == 0 {
			a.Entities = append(a.Entities, detect.Entity{Type: "host", Value: pick("web-1", "WEB-1", "db_1", "dbx1")})
		}
		out[i] = a
	}
	return out
}

// alertQueries cover every field SQL judges, each operator, NOT over exact
// and inexact terms, and terms left to Go.
var alertQueries = []string{
	"",
	"severity:high",
	"severity:HIGH",
	"severity:critical OR severity:low",
	"NOT severity:high",
	"severity:severe",
	"severity:sev*",
	"NOT severity:s*",
	"rule_id:kerberos",
	"rule_id:KERBEROS",
	"NOT rule_id:kerberos",
	"rule_id:ärger",
	"rule_id:ÄRGER",
	"NOT rule_id:ärger",
	"rule_id:sudo",
	"rule_id:SSH*",
	"rule_id:\"50%_off\"",
	"rule_id:50%*",
	"rule_id:50x*",
	"rule_title:\"ssh brute force\"",
	"rule_title:100%*",
	"rule_title:a_b",
	"rule_title:äöü",
	"NOT rule_title:a_*",
	"source:cowrie",
	"source:*",
	"NOT source:*",
	"source:\"\"",
	"group_key:source.ip=198.51.1.7",
	"incident:inc-1",
	"NOT incident:inc-1",
	"id:default-0007",
	"source.ip:198.51.1.*",
	"severity:high AND source.ip:198.51.1.*",
	"source.ip:198.51.1.7",
	"source.ip:*",
	"NOT source.ip:*",
	"NOT source.ip:198.51.1.*",
	"user.name:root",
	"user.name:kate",
	"NOT user.name:kate",
	"user.name:jürgen",
	"user.name:K*",
	"host.name:web-1",
	"host.name:db_1",
	"host.name:db_*",
	"entities.value:root",
	"entities.value:198.51.2.*",
	"NOT entities.value:web-1",
	"attack:T1110",
	"attack:t1110*",
	"attack:T1059.004",
	"NOT attack:T1110*",
	"attack:*",
	"NOT attack:*",
	"tactics:execution",
	"tactics:*",
	"attack>T1",
	"NOT attack>T1",
	"@timestamp>=2026-11-01T01:00:00Z",
	"@timestamp<2026-11-01T02:00:00Z AND severity:low",
	"@timestamp:2026-11-01T00:30:00Z",
	"@timestamp:2026-11-01T00:30:00.000Z",
	"@timestamp>2026-11-01",
	"@timestamp<=2026-11-01T03:00:00+01:00",
	"NOT @timestamp>2026-11-01T01:30:00Z",
	"@timestamp:2026*",
	"@timestamp>5",
	"rule_id:2026-11-01",
	"ssh",
	"NOT ssh",
	"brute AND severity:high",
	"severity:high OR cowrie",
	"NOT (severity:high OR cowrie)",
	"NOT (rule_id:kerberos AND source.ip:198.51.0.*)",
	"(severity:high OR severity:critical) AND NOT (user.name:root OR host.name:web-1)",
	"unknown.field:x",
	"NOT unknown.field:x",
	"intel.source:ipsum",
	"tenant:default",
	"severity>medium",
	"-severity:low -severity:medium",
}

func openAlerts(t testing.TB, tenants map[string][]*detect.Alert) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	index := uint64(0)
	for tenant, alerts := range tenants {
		index++
		_, err := db.Apply(index, func(tx *sql.Tx) error {
			if err := CreateTenant(tx, appliance.Tenant{Name: tenant, Created: alertT0}); err != nil {
				return err
			}
			st := NewDetectState(tx, nil)
			defer st.Close()
			for _, a := range alerts {
				if err := st.PutAlert(a); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// inMemory is the reference: every alert of the tenant matched in Go,
// newest first.
func inMemory(t *testing.T, alerts []*detect.Alert, e query.Expr) []string {
	t.Helper()
	var kept []*detect.Alert
	for _, a := range alerts {
		doc, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		ok, err := matchAlert(e, doc)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			kept = append(kept, a)
		}
	}
	slices.SortFunc(kept, func(x, y *detect.Alert) int {
		if c := y.Timestamp.Compare(x.Timestamp); c != 0 {
			return c
		}
		return strings.Compare(y.ID, x.ID)
	})
	ids := []string{}
	for _, a := range kept {
		ids = append(ids, a.ID)
	}
	return ids
}

// allPages follows the cursors of a listing.
func allPages(t *testing.T, db *DB, q detect.AlertQuery) []string {
	t.Helper()
	ids := []string{}
	for range 10000 {
		page, err := db.Alerts(context.Background(), q)
		if err != nil {
			t.Fatalf("Alerts(%v): %v", q.Expr, err)
		}
		for _, a := range page.Alerts {
			if a.Tenant != q.Tenant {
				t.Fatalf("Alerts for %s returned %s of %s", q.Tenant, a.ID, a.Tenant)
			}
			ids = append(ids, a.ID)
		}
		if page.Next == "" {
			return ids
		}
		q.Cursor = page.Next
	}
	t.Fatal("cursor never ended")
	return nil
}

// selectIDs lists the tenant's alerts a SQL condition holds for.
func selectIDs(t *testing.T, db *DB, tenant string, c cond) map[string]bool {
	t.Helper()
	rows, err := db.read.Query(`SELECT id FROM alerts WHERE tenant = ? AND (`+c.sql+`)`, append([]any{tenant}, c.args...)...)
	if err != nil {
		t.Fatalf("%s: %v", c.sql, err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out[id] = true
	}
	return out
}

// TestAlertFilterMatchesInMemory compares the alerts listed with the
// filter in SQL with every alert matched in Go, for each query, paging
// in small and large pages; and checks the translation's bounds directly:
// sup holds for every match, sub for none but matches, and an exact
// translation for exactly the matches.
func TestAlertFilterMatchesInMemory(t *testing.T) {
	tenants := map[string][]*detect.Alert{"default": genAlerts("default", 600, 1), "acme": genAlerts("acme", 200, 2)}
	db := openAlerts(t, tenants)
	for _, text := range alertQueries {
		t.Run(text, func(t *testing.T) {
			e, err := query.Parse(text)
			if err != nil {
				t.Fatal(err)
			}
			b := alertFilter(e)
			for tenant, alerts := range tenants {
				want := inMemory(t, alerts, e)
				for _, limit := range []int{7, 1000} {
					got := allPages(t, db, detect.AlertQuery{Tenant: tenant, Expr: e, Limit: limit})
					if !slices.Equal(got, want) {
						t.Fatalf("%s, limit %d: SQL listed %d alerts, in memory %d\nSQL: %v\nwant: %v\nsup: %s %v", tenant, limit, len(got), len(want), got, want, b.sup.sql, b.sup.args)
					}
				}
				sup, sub := selectIDs(t, db, tenant, b.sup), selectIDs(t, db, tenant, b.sub)
				matched := map[string]bool{}
				for _, id := range want {
					matched[id] = true
					if !sup[id] {
						t.Errorf("%s: sup %s drops match %s", tenant, b.sup.sql, id)
					}
				}
				for id := range sub {
					if !matched[id] {
						t.Errorf("%s: sub %s holds for non-match %s", tenant, b.sub.sql, id)
					}
				}
				if b.exact && len(sup) != len(matched) {
					t.Errorf("%s: exact translation %s holds for %d alerts, %d match", tenant, b.sup.sql, len(sup), len(matched))
				}
			}
		})
	}
}

// TestAlertFilterPushesDown pins which queries SQL answers alone: the
// common filters must not fall back to reading every alert.
func TestAlertFilterPushesDown(t *testing.T) {
	for text, exact := range map[string]bool{
		"severity:high":                          true,
		"severity:high AND source.ip:198.51.1.*": true,
		"NOT user.name:root":                     true,
		"attack:T1110*":                          true,
		"rule_id:sudo":                           false, // s may be the long s
		"@timestamp>2026-11-01":                  true,
		"brute":                                  false,
		"severity:high brute":                    false,
	} {
		e, err := query.Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		b := alertFilter(e)
		if b.exact != exact {
			t.Errorf("%s: exact = %v, want %v (sup %s)", text, b.exact, exact, b.sup.sql)
		}
		if b.sup.sql == "1" && text != "brute" {
			t.Errorf("%s: nothing pushed down", text)
		}
	}
}

// TestAlertEntityAliases: source.ip, user.name and host.name name the
// alert's entities, which the alert document holds as a list.
func TestAlertEntityAliases(t *testing.T) {
	a := &detect.Alert{ID: "a1", Tenant: "t", RuleID: "r", Severity: "high", Attack: []string{}, Timestamp: alertT0,
		Entities: []detect.Entity{{Type: "ip", Value: "198.51.1.7"}, {Type: "user", Value: "root"}}}
	b := &detect.Alert{ID: "a2", Tenant: "t", RuleID: "r", Severity: "low", Attack: []string{}, Timestamp: alertT0.Add(time.Second),
		Entities: []detect.Entity{{Type: "host", Value: "web-1"}}}
	db := openAlerts(t, map[string][]*detect.Alert{"t": {a, b}, "u": {{ID: "a3", Tenant: "u", Severity: "high", Attack: []string{},
		Timestamp: alertT0, Entities: []detect.Entity{{Type: "ip", Value: "198.51.1.8"}}}}})
	for text, want := range map[string][]string{
		"source.ip:198.51.1.*":                   {"a1"},
		"severity:high AND source.ip:198.51.1.*": {"a1"},
		"user.name:ROOT":                         {"a1"},
		"host.name:web-1":                        {"a2"},
		"NOT source.ip:*":                        {"a2"},
		"source.ip:198.51.1.8":                   {},
	} {
		e, err := query.Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		if got := allPages(t, db, detect.AlertQuery{Tenant: "t", Expr: e}); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", text, got, want)
		}
	}
}

// FuzzAlertFilter: for any query, the alerts listed with the filter in
// SQL are the alerts Match keeps, and the SQL is always valid.
func FuzzAlertFilter(f *testing.F) {
	for _, q := range alertQueries {
		f.Add(q)
	}
	alerts := genAlerts("default", 150, 3)
	db := openAlerts(f, map[string][]*detect.Alert{"default": alerts})
	f.Fuzz(func(t *testing.T, text string) {
		e, err := query.Parse(text)
		if err != nil {
			return
		}
		want := inMemory(t, alerts, e)
		if got := allPages(t, db, detect.AlertQuery{Tenant: "default", Expr: e, Limit: 1000}); !slices.Equal(got, want) {
			b := alertFilter(e)
			t.Fatalf("%q: SQL listed %v, in memory %v\nsup: %s %v", text, got, want, b.sup.sql, b.sup.args)
		}
	})
}
