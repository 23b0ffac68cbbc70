package sqlstore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/command"
	"github.com/minixdr/xdr/appliance/detect"
	"github.com/minixdr/xdr/appliance/intel"
	"github.com/minixdr/xdr/storage/sqlstore"
)

// detectDB is a store with the tenants of seed and an apply helper that
// numbers the entries.
type detectDB struct {
	t     *testing.T
	db    *sqlstore.DB
	index uint64
}

func newDetectDB(t *testing.T) *detectDB {
	db := mustOpen(t, filepath.Join(t.TempDir(), "state.db"))
	return &detectDB{t: t, db: db, index: seed(t, db)}
}

func (d *detectDB) apply(fn func(*sql.Tx) error) error {
	d.t.Helper()
	d.index++
	return apply(d.t, d.db, d.index, fn)
}

func (d *detectDB) state(fn func(*sqlstore.DetectState) error) error {
	d.t.Helper()
	return d.apply(func(tx *sql.Tx) error {
		st := sqlstore.NewDetectState(tx, func(tenant string, id appliance.EventID) ([]byte, error) {
			return []byte(tenant + ":" + id.String()), nil
		})
		defer st.Close()
		return fn(st)
	})
}

func TestRulesPerTenant(t *testing.T) {
	ctx := context.Background()
	d := newDetectDB(t)
	put := func(tenant, id string, builtin bool, src []byte) error {
		return d.apply(func(tx *sql.Tx) error {
			return sqlstore.PutRule(tx, tenant, detect.RuleInfo{ID: id, Title: "T " + id, Status: "stable", Level: "high",
				Kind: "detection", Attack: []string{"T1110"}, Enabled: true, Builtin: builtin}, src, t0.UnixNano())
		})
	}
	for _, err := range []error{put("acme", "r2", false, []byte("title: r2")), put("acme", "r1", false, []byte("title: r1")),
		put("acme", "b1", true, nil), put("default", "r1", false, []byte("title: other"))} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := put("nope", "r1", false, nil); appliance.ErrorCode(err) != appliance.ENOTFOUND {
		t.Fatalf("rule of a missing tenant: %v, want ENOTFOUND", err)
	}

	rules, err := listRules(d.db, "acme")
	if err != nil || len(rules) != 3 || rules[0].ID != "b1" || rules[1].ID != "r1" || rules[2].ID != "r2" {
		t.Fatalf("Rules(acme) = %+v, %v", rules, err)
	}
	if r := rules[1]; !r.Enabled || r.Builtin || r.Title != "T r1" || !r.Updated.Equal(t0) || !slices.Equal(r.Attack, []string{"T1110"}) {
		t.Fatalf("Rules(acme)[1] = %+v", r)
	}
	srcs, err := d.db.RuleSources(ctx, "acme")
	if err != nil || len(srcs) != 2 || string(srcs[0]) != "title: r1" || string(srcs[1]) != "title: r2" {
		t.Fatalf("RuleSources(acme) = %q, %v (built-in rows have no source)", srcs, err)
	}
	if r, err := d.db.Rule(ctx, "default", "r1"); err != nil || r.Source != "title: other" || r.Title != "T r1" || !r.Updated.Equal(t0) {
		t.Fatalf("Rule(default, r1) = %+v, %v", r, err)
	}
	if r, err := d.db.Rule(ctx, "acme", "b1"); err != nil || r.Source != "" || !r.Builtin {
		t.Fatalf("Rule(acme, b1) = %+v, %v (a built-in rule's row has no source)", r, err)
	}
	for _, id := range []string{"r2", "b1", "missing"} {
		if _, err := d.db.Rule(ctx, "default", id); appliance.ErrorCode(err) != appliance.ENOTFOUND {
			t.Errorf("Rule(default, %s): %v, want ENOTFOUND", id, err)
		}
	}

	// Enabling, existence and deletion stay within the tenant.
	if err := d.apply(func(tx *sql.Tx) error {
		return sqlstore.SetRuleEnabled(tx, "acme", "r1", false, t0.Add(time.Hour).UnixNano())
	}); err != nil {
		t.Fatal(err)
	}
	if err := d.apply(func(tx *sql.Tx) error { return sqlstore.SetRuleEnabled(tx, "acme", "nope", false, 0) }); appliance.ErrorCode(err) != appliance.ENOTFOUND {
		t.Fatalf("SetRuleEnabled(missing): %v", err)
	}
	if err := d.apply(func(tx *sql.Tx) error {
		for tenant, want := range map[string]bool{"acme": true, "default": true, "nope": false} {
			if ok, err := sqlstore.RuleExists(tx, tenant, "r1"); err != nil || ok != want {
				t.Errorf("RuleExists(%s, r1) = %v, %v", tenant, ok, err)
			}
		}
		for tenant, want := range map[string]bool{"acme": true, "nope": false} {
			if ok, err := sqlstore.HasTenant(tx, tenant); err != nil || ok != want {
				t.Errorf("HasTenant(%s) = %v, %v", tenant, ok, err)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := d.apply(func(tx *sql.Tx) error { return sqlstore.DeleteRule(tx, "acme", "b1") }); appliance.ErrorCode(err) != appliance.ENOTFOUND {
		t.Fatalf("DeleteRule(built-in): %v, want ENOTFOUND", err)
	}
	if err := d.apply(func(tx *sql.Tx) error { return sqlstore.DeleteRule(tx, "acme", "r2") }); err != nil {
		t.Fatal(err)
	}
	rules, _ = listRules(d.db, "acme")
	if len(rules) != 2 || rules[1].ID != "r1" || rules[1].Enabled || !rules[1].Updated.Equal(t0.Add(time.Hour)) {
		t.Fatalf("after disable and delete: %+v", rules)
	}
	if other, _ := listRules(d.db, "default"); len(other) != 1 || !other[0].Enabled {
		t.Fatalf("another tenant's rules changed: %+v", other)
	}
	if err := d.state(func(st *sqlstore.DetectState) error {
		stored, err := st.Rules("acme")
		if err != nil || len(stored) != 2 || stored[0].ID != "b1" || !stored[0].Builtin || stored[1].Enabled || string(stored[1].Source) != "title: r1" {
			t.Errorf("DetectState.Rules(acme) = %+v, %v", stored, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestIndicatorsPerTenant(t *testing.T) {
	ctx := context.Background()
	d := newDetectDB(t)
	ind := func(id, typ, value string) intel.Indicator {
		return intel.Indicator{ID: id, Type: intel.Type(typ), Value: value, Source: "feed"}
	}
	putInd := func(c *command.PutIndicators) error {
		return d.apply(func(tx *sql.Tx) error { return sqlstore.PutIndicators(tx, c) })
	}
	if err := putInd(&command.PutIndicators{Tenant: "acme", Source: "feed", Indicators: []intel.Indicator{
		ind("i1", "ip", "198.51.100.7"), ind("i2", "domain", "evil.example"), ind("i3", "ip", "203.0.113.0/24")}}); err != nil {
		t.Fatal(err)
	}
	if err := putInd(&command.PutIndicators{Tenant: "default", Source: "other", Indicators: []intel.Indicator{ind("j1", "ip", "10.0.0.1")}}); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*command.PutIndicators{
		"no id":          {Tenant: "acme", Source: "feed", Indicators: []intel.Indicator{ind("", "ip", "10.0.0.1")}},
		"bad value":      {Tenant: "acme", Source: "feed", Indicators: []intel.Indicator{ind("i9", "ip", "not an address")}},
		"missing tenant": {Tenant: "nope", Source: "feed", Indicators: []intel.Indicator{ind("i9", "ip", "10.0.0.1")}},
	} {
		if err := putInd(c); appliance.ErrorCode(err) == "" || appliance.ErrorCode(err) == appliance.EINTERNAL {
			t.Errorf("%s: %v, want a domain error", name, err)
		}
	}
	sum, err := d.db.IntelSummary(ctx, "acme")
	want := []detect.IntelCount{{Source: "feed", Type: "domain", Count: 1}, {Source: "feed", Type: "ip", Count: 2}}
	if err != nil || !slices.Equal(sum, want) {
		t.Fatalf("IntelSummary(acme) = %+v, %v; want %+v (a failed import adds nothing)", sum, err, want)
	}

	// Replace keeps only the new list of the source.
	if err := putInd(&command.PutIndicators{Tenant: "acme", Source: "feed", Replace: true, Indicators: []intel.Indicator{ind("i2", "domain", "evil.example")}}); err != nil {
		t.Fatal(err)
	}
	if err := d.state(func(st *sqlstore.DetectState) error {
		got, err := st.Indicators("acme")
		if err != nil || len(got) != 1 || got[0].ID != "i2" || got[0].Value != "evil.example" {
			t.Errorf("Indicators(acme) after replace = %+v, %v", got, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := d.apply(func(tx *sql.Tx) error { return sqlstore.DeleteIntel(tx, "acme", "feed") }); err != nil {
		t.Fatal(err)
	}
	if sum, err := d.db.IntelSummary(ctx, "acme"); err != nil || len(sum) != 0 {
		t.Fatalf("IntelSummary(acme) after delete = %+v, %v", sum, err)
	}
	if sum, _ := d.db.IntelSummary(ctx, "default"); len(sum) != 1 || sum[0].Count != 1 {
		t.Fatalf("another tenant's indicators changed: %+v", sum)
	}
}

func TestCorrelationStateAndLog(t *testing.T) {
	d := newDetectDB(t)
	id := func(b byte) appliance.EventID { return appliance.EventID{b} }
	if err := d.state(func(st *sqlstore.DetectState) error {
		if s, err := st.CorrelationState("acme"); err != nil || s != nil {
			t.Errorf("CorrelationState before any = %q, %v", s, err)
		}
		if n, err := st.AppendCorrelationLog("acme", []appliance.EventID{id(1), id(2)}); err != nil || n != 2 {
			t.Errorf("first append: %d, %v", n, err)
		}
		if n, err := st.AppendCorrelationLog("acme", []appliance.EventID{id(3)}); err != nil || n != 3 {
			t.Errorf("second append: %d, %v (the log's length)", n, err)
		}
		if n, err := st.AppendCorrelationLog("default", []appliance.EventID{id(9)}); err != nil || n != 1 {
			t.Errorf("other tenant's append: %d, %v", n, err)
		}
		if err := st.SaveCorrelationState("acme", []byte("s1")); err != nil {
			return err
		}
		if err := st.SaveCorrelationState("acme", []byte("s2")); err != nil {
			return err
		}
		if doc, err := st.EventDoc("acme", id(1)); err != nil || string(doc) != "acme:"+id(1).String() {
			t.Errorf("EventDoc = %q, %v", doc, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := d.state(func(st *sqlstore.DetectState) error {
		log, err := st.CorrelationLog("acme")
		if err != nil || !slices.Equal(log, []appliance.EventID{id(1), id(2), id(3)}) {
			t.Errorf("CorrelationLog(acme) = %v, %v", log, err)
		}
		if s, err := st.CorrelationState("acme"); err != nil || string(s) != "s2" {
			t.Errorf("CorrelationState(acme) = %q, %v", s, err)
		}
		if err := st.ClearCorrelationLog("acme"); err != nil {
			return err
		}
		if log, err := st.CorrelationLog("acme"); err != nil || len(log) != 0 {
			t.Errorf("cleared log = %v, %v", log, err)
		}
		if log, err := st.CorrelationLog("default"); err != nil || len(log) != 1 {
			t.Errorf("another tenant's log = %v, %v", log, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// A log entry that is not whole event IDs is corruption, reported.
	if err := d.apply(func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO correlation_log (tenant, seq, events) VALUES ('acme', 1, x'0102')`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := d.state(func(st *sqlstore.DetectState) error {
		if _, err := st.CorrelationLog("acme"); err == nil {
			t.Error("a 2-byte log entry read without error")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// incident is an incident of a tenant about an IP, updated at t0+updated.
func incident(tenant, id, status, severity string, updated time.Duration) *detect.Incident {
	return &detect.Incident{ID: id, Tenant: tenant, Title: "about " + id, Severity: severity, Status: status,
		Entities: []detect.Entity{{Type: "ip", Value: "10.0.0." + id}}, Attack: []string{}, Rules: []string{"r"},
		Key: detect.Entity{Type: "ip", Value: "10.0.0." + id}, Created: t0, Updated: t0.Add(updated), LastAlert: t0.Add(updated)}
}

func TestIncidentsOpenAndTriage(t *testing.T) {
	ctx := context.Background()
	d := newDetectDB(t)
	a := &detect.Alert{ID: "a1", Tenant: "acme", RuleID: "r", Severity: "high", Attack: []string{}, Timestamp: t0, Incident: "1",
		Entities: []detect.Entity{{Type: "ip", Value: "10.0.0.1"}}}
	if err := d.state(func(st *sqlstore.DetectState) error {
		if err := st.PutIncident(incident("acme", "1", "new", "high", 0)); err != nil {
			return err
		}
		if err := st.PutIncident(incident("default", "1", "new", "low", 0)); err != nil {
			return err
		}
		if ok, err := st.AlertExists("acme", "a1"); err != nil || ok {
			t.Errorf("AlertExists before = %v, %v", ok, err)
		}
		return st.PutAlert(a)
	}); err != nil {
		t.Fatal(err)
	}
	if err := d.state(func(st *sqlstore.DetectState) error {
		if ok, err := st.AlertExists("acme", "a1"); err != nil || !ok {
			t.Errorf("AlertExists(acme, a1) = %v, %v", ok, err)
		}
		if ok, _ := st.AlertExists("default", "a1"); ok {
			t.Error("an alert exists for another tenant")
		}
		key := detect.Entity{Type: "ip", Value: "10.0.0.1"}
		if inc, err := st.OpenIncident("acme", key, t0.Add(time.Minute), time.Hour); err != nil || inc == nil || inc.ID != "1" || inc.Tenant != "acme" {
			t.Errorf("OpenIncident within the window = %+v, %v", inc, err)
		}
		if inc, err := st.OpenIncident("acme", key, t0.Add(3*time.Hour), time.Hour); err != nil || inc != nil {
			t.Errorf("OpenIncident past the window = %+v, %v", inc, err)
		}
		if inc, err := st.OpenIncident("acme", detect.Entity{Type: "ip", Value: "10.0.0.2"}, t0, time.Hour); err != nil || inc != nil {
			t.Errorf("OpenIncident of another key = %+v, %v", inc, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	status, assignee := "resolved", "alice"
	update := &command.UpdateIncident{Tenant: "acme", ID: "1", Status: &status, Assignee: &assignee, Comment: "done", Author: "alice", Time: t0.Add(time.Hour).UnixNano()}
	if err := d.apply(func(tx *sql.Tx) error { return sqlstore.UpdateIncident(tx, update) }); err != nil {
		t.Fatal(err)
	}
	inc, err := d.db.Incident(ctx, "acme", "1")
	if err != nil || inc.Status != "resolved" || inc.Assignee != "alice" || len(inc.Comments) != 1 || inc.Comments[0].Text != "done" ||
		inc.Comments[0].Author != "alice" || !inc.Updated.Equal(t0.Add(time.Hour)) {
		t.Fatalf("Incident after triage = %+v, %v", inc, err)
	}
	if other, err := d.db.Incident(ctx, "default", "1"); err != nil || other.Status != "new" {
		t.Fatalf("another tenant's incident = %+v, %v", other, err)
	}
	if err := d.state(func(st *sqlstore.DetectState) error {
		// A resolved incident takes no more alerts.
		if inc, err := st.OpenIncident("acme", detect.Entity{Type: "ip", Value: "10.0.0.1"}, t0, time.Hour); err != nil || inc != nil {
			t.Errorf("OpenIncident of a resolved incident = %+v, %v", inc, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	bad := "closed"
	for name, c := range map[string]*command.UpdateIncident{
		"unknown status":         {Tenant: "acme", ID: "1", Status: &bad},
		"missing incident":       {Tenant: "acme", ID: "2", Assignee: &assignee},
		"another tenant's":       {Tenant: "nope", ID: "1", Assignee: &assignee},
		"incident of other case": {Tenant: "ACME", ID: "1", Assignee: &assignee},
	} {
		err := d.apply(func(tx *sql.Tx) error { return sqlstore.UpdateIncident(tx, c) })
		if code := appliance.ErrorCode(err); code != appliance.EINVALID && code != appliance.ENOTFOUND {
			t.Errorf("%s: %v, want EINVALID or ENOTFOUND", name, err)
		}
	}
	if _, err := d.db.Incident(ctx, "acme", "2"); appliance.ErrorCode(err) != appliance.ENOTFOUND {
		t.Fatalf("Incident(missing): %v", err)
	}
}

func TestBackupRecordAndClusterID(t *testing.T) {
	ctx := context.Background()
	d := newDetectDB(t)
	if id, err := d.db.ClusterID(ctx); err != nil || id != "" {
		t.Fatalf("ClusterID before = %q, %v", id, err)
	}
	if err := d.apply(func(tx *sql.Tx) error { return sqlstore.SetClusterID(tx, "") }); appliance.ErrorCode(err) != appliance.EINVALID {
		t.Fatalf("empty cluster ID: %v", err)
	}
	for _, id := range []string{"c1", "c2"} {
		if err := d.apply(func(tx *sql.Tx) error { return sqlstore.SetClusterID(tx, id) }); err != nil {
			t.Fatal(err)
		}
	}
	if id, err := d.db.ClusterID(ctx); err != nil || id != "c1" {
		t.Fatalf("ClusterID = %q, %v; the first wins", id, err)
	}

	if st, err := d.db.BackupStatus(ctx); err != nil || st != (sqlstore.BackupStatus{}) {
		t.Fatalf("BackupStatus before any = %+v, %v", st, err)
	}
	slot := t0.Truncate(time.Hour)
	ok := &command.RecordBackup{Slot: slot, At: t0, RaftIndex: 42, File: "b.xdrbak", Size: 100, Duration: time.Second}
	fail := &command.RecordBackup{Slot: slot.Add(time.Hour), At: t0.Add(time.Hour), Error: "disk full"}
	for _, r := range []*command.RecordBackup{ok, fail} {
		d.index++
		if err := apply(t, d.db, d.index, func(tx *sql.Tx) error { return sqlstore.RecordBackup(tx, d.index, r) }); err != nil {
			t.Fatal(err)
		}
	}
	st, err := d.db.BackupStatus(ctx)
	want := sqlstore.BackupStatus{LastSlot: slot, SuccessAt: t0, SuccessRecord: d.index - 1, RaftIndex: 42, File: "b.xdrbak", Size: 100,
		Duration: time.Second, Successes: 1, FailureAt: t0.Add(time.Hour), FailureSlot: slot.Add(time.Hour), FailureRecord: d.index,
		Error: "disk full", Failures: 1, LastRecord: d.index}
	if err != nil || st != want {
		t.Fatalf("BackupStatus = %+v, %v;\nwant %+v", st, err, want)
	}
}

func TestRevokeTokenPerTenant(t *testing.T) {
	ctx := context.Background()
	d := newDetectDB(t)
	// The token "o" is default's: acme cannot revoke it.
	if err := d.apply(func(tx *sql.Tx) error { return sqlstore.RevokeToken(tx, "acme", hash("o")) }); appliance.ErrorCode(err) != appliance.ENOTFOUND {
		t.Fatalf("revoking another tenant's token: %v, want ENOTFOUND", err)
	}
	if _, err := d.db.TokenByHash(ctx, hash("o")); err != nil {
		t.Fatalf("another tenant's token is gone: %v", err)
	}
	if err := d.apply(func(tx *sql.Tx) error { return sqlstore.RevokeToken(tx, "acme", hash("z")) }); err != nil {
		t.Fatal(err)
	}
	if _, err := d.db.TokenByHash(ctx, hash("z")); appliance.ErrorCode(err) != appliance.ENOTFOUND {
		t.Fatalf("revoked token still found: %v", err)
	}
}
