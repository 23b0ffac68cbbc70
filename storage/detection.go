package storage

import (
	"context"
	"database/sql"
	"sort"
	"sync"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/command"
	"github.com/minixdr/xdr/appliance/detect"
	"github.com/minixdr/xdr/storage/eventstore"
	"github.com/minixdr/xdr/storage/sqlstore"
)

// Detection in the state machine: after a batch's events are stored, the
// same apply runs the detection pipeline over them and records alerts,
// incidents and correlation state in the SQL transaction that records the
// log index, so they are derived exactly once per entry on every node.

// ingestDetect is the SQL half of an IngestBatch: detection, then the
// index. fresh is false for a retried idempotent batch, whose events were
// detected when first stored.
func (s *Store) ingestDetect(index uint64, c *command.IngestBatch, fresh bool) error {
	_, domainErr := s.SQL.Apply(index, func(tx *sql.Tx) error {
		if !fresh || len(c.Events) == 0 {
			return nil
		}
		// Alerts belong to a tenant row; a batch for a tenant that does not
		// exist (only tests propose those) has nothing to file them under.
		if ok, err := sqlstore.HasTenant(tx, c.Tenant); !ok || err != nil {
			return err
		}
		st := s.detectState(tx)
		defer st.Close()
		return s.det.Process(st, c.Tenant, c.Source, c.Events)
	})
	// Detection has no domain errors: anything here is the stores failing.
	return domainErr
}

// detectState is the pipeline's view of the apply in progress.
func (s *Store) detectState(tx *sql.Tx) *sqlstore.DetectState {
	return sqlstore.NewDetectState(tx, func(tenant string, id appliance.EventID) ([]byte, error) {
		return s.Events.GetWritten(context.Background(), tenant, id)
	})
}

// beforeRulesChange checkpoints the tenant's correlator in the rule
// command's transaction (appliance/detect/correlate.go).
func (s *Store) beforeRulesChange(tx *sql.Tx, tenant string) error {
	st := s.detectState(tx)
	defer st.Close()
	return s.det.BeforeRulesChange(st, tenant)
}

// batchIsNew tells a first application of an idempotent batch part from a
// retry. An entry the event store applied already (a replay after a crash
// between the two stores) counts as new: the SQL half never ran for it.
func (s *Store) batchIsNew(index uint64, c *command.IngestBatch) (bool, error) {
	if !c.Idempotent || index <= s.Events.Applied() {
		return true, nil
	}
	seen, err := s.Events.HasBatch(index, c.Tenant, eventstore.BatchRecord{BatchID: c.BatchID, Part: c.Part, Digest: c.Digest})
	return !seen, err
}

// applyDetection applies the rule, intel and incident commands.
func (s *Store) applyDetection(index uint64, cmd command.Command) (domainErr, err error) {
	switch c := cmd.(type) {
	case *command.PutRules:
		defer s.det.RulesChanged(c.Tenant)
		return s.applySQL(index, func(tx *sql.Tx) error {
			if err := s.beforeRulesChange(tx, c.Tenant); err != nil {
				return err
			}
			return s.putRules(tx, c)
		})
	case *command.SetRuleEnabled:
		defer s.det.RulesChanged(c.Tenant)
		return s.applySQL(index, func(tx *sql.Tx) error {
			if err := s.beforeRulesChange(tx, c.Tenant); err != nil {
				return err
			}
			return s.setRuleEnabled(tx, c)
		})
	case *command.DeleteRule:
		defer s.det.RulesChanged(c.Tenant)
		return s.applySQL(index, func(tx *sql.Tx) error {
			if err := s.beforeRulesChange(tx, c.Tenant); err != nil {
				return err
			}
			return sqlstore.DeleteRule(tx, c.Tenant, c.ID)
		})
	case *command.PutIndicators:
		defer s.det.IntelChanged(c.Tenant)
		return s.applySQL(index, func(tx *sql.Tx) error { return sqlstore.PutIndicators(tx, c) })
	case *command.DeleteIntel:
		defer s.det.IntelChanged(c.Tenant)
		return s.applySQL(index, func(tx *sql.Tx) error { return sqlstore.DeleteIntel(tx, c.Tenant, c.Source) })
	case *command.UpdateIncident:
		return s.applySQL(index, func(tx *sql.Tx) error { return sqlstore.UpdateIncident(tx, c) })
	}
	return nil, nil
}

func (s *Store) putRules(tx *sql.Tx, c *command.PutRules) error {
	for _, def := range c.Rules {
		r, err := detect.ParseOne(def.Source)
		if err != nil {
			return err
		}
		if r.ID != def.ID {
			return appliance.Errorf(appliance.EINVALID, "rule %q: the YAML's id is %q", def.ID, r.ID)
		}
		if detect.IsBuiltin(r.ID) {
			return appliance.Errorf(appliance.ECONFLICT, "rule %q: a built-in rule has that id", r.ID)
		}
		info := detect.Info(r)
		info.Enabled = def.Enabled
		if err := sqlstore.PutRule(tx, c.Tenant, info, def.Source, c.Time); err != nil {
			return err
		}
	}
	return nil
}

// setRuleEnabled switches a rule; a built-in rule gets a state row the
// first time.
func (s *Store) setRuleEnabled(tx *sql.Tx, c *command.SetRuleEnabled) error {
	exists, err := sqlstore.RuleExists(tx, c.Tenant, c.ID)
	if err != nil || exists {
		if err != nil {
			return err
		}
		return sqlstore.SetRuleEnabled(tx, c.Tenant, c.ID, c.Enabled, c.Time)
	}
	for _, r := range detect.Builtin() {
		if r.ID == c.ID {
			info := detect.Info(r)
			info.Enabled, info.Builtin = c.Enabled, true
			return sqlstore.PutRule(tx, c.Tenant, info, nil, c.Time)
		}
	}
	return appliance.Errorf(appliance.ENOTFOUND, "rule %q not found", c.ID)
}

// Rules lists a tenant's rules, built-in and imported, by ID.
func (s *Store) Rules(ctx context.Context, tenant string, f detect.RuleFilter) ([]detect.RuleInfo, error) {
	rules, _, err := s.SQL.RuleList(ctx, appliance.RuleQuery{Tenant: tenant, Status: f.Status, Level: f.Level, Enabled: f.Enabled},
		builtinInfos(), false)
	return rules, err
}

// RuleList returns a page of a tenant's rules matching q, by ID, and how
// many match in all (the rules page).
func (s *Store) RuleList(ctx context.Context, q appliance.RuleQuery) ([]detect.RuleInfo, int, error) {
	return s.SQL.RuleList(ctx, q, builtinInfos(), true)
}

// builtinInfos describes the built-in rules as listed before their state
// changes: enabled.
var builtinInfos = sync.OnceValue(func() []detect.RuleInfo {
	var out []detect.RuleInfo
	for _, r := range detect.Builtin() {
		info := detect.Info(r)
		info.Enabled, info.Builtin = true, true
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
})

// Rule returns one rule of a tenant, with its YAML; ENOTFOUND if absent.
func (s *Store) Rule(ctx context.Context, tenant, id string) (detect.RuleInfo, error) {
	info, err := s.SQL.Rule(ctx, tenant, id)
	if appliance.ErrorCode(err) == appliance.ENOTFOUND {
		for _, b := range builtinInfos() {
			if b.ID == id {
				info, err = b, nil
			}
		}
	}
	if err != nil || !info.Builtin {
		return info, err
	}
	for _, r := range detect.Builtin() {
		if r.ID == id {
			info.Source = string(r.Source)
		}
	}
	return info, nil
}

// The detection reads of detect.Reader; each takes the tenant.

// RuleSources returns the YAML of a tenant's imported rules.
func (s *Store) RuleSources(ctx context.Context, tenant string) ([][]byte, error) {
	return s.SQL.RuleSources(ctx, tenant)
}

// Alerts returns a page of a tenant's alerts.
func (s *Store) Alerts(ctx context.Context, q detect.AlertQuery) (detect.AlertPage, error) {
	return s.SQL.Alerts(ctx, q)
}

// Incidents returns a page of a tenant's incidents.
func (s *Store) Incidents(ctx context.Context, tenant, status string, limit int, cursor string) (detect.IncidentPage, error) {
	return s.SQL.Incidents(ctx, tenant, status, limit, cursor)
}

// Incident returns one incident of a tenant.
func (s *Store) Incident(ctx context.Context, tenant, id string) (*detect.Incident, error) {
	return s.SQL.Incident(ctx, tenant, id)
}

// IntelSummary counts a tenant's indicators by source and type.
func (s *Store) IntelSummary(ctx context.Context, tenant string) ([]detect.IntelCount, error) {
	return s.SQL.IntelSummary(ctx, tenant)
}

var _ detect.Reader = (*Store)(nil)
