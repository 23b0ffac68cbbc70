package detect

import (
	"fmt"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/sigma"
)

// The correlator's state is replicated state, but writing all of it after
// every batch cost half the apply time under a steady stream of logins
// (every group of every correlation rule, as JSON). Instead each batch
// appends the IDs of the events that fed the correlator to the correlation
// log, and once the log holds as many events as the state holds
// observations (at least checkpointMinEvents) the state is saved whole and
// the log emptied: saving costs in proportion to the state and replaying in
// proportion to the log, so this keeps the saving cost per event constant
// and a restart's replay no longer than the state is large. Rebuilding the
// correlator (after a restart, a snapshot restore or a rule change) loads
// the saved state and replays the logged
// events, read back from the event store, through the same rule set: Observe
// is deterministic, so the result is the state the node had. A rule change
// first checkpoints (replaying with the old rules if need be), so the log
// never spans two rule sets.

// checkpointMinEvents is the shortest log that triggers a full save.
const checkpointMinEvents = 64

// logCorrelation records a batch's events that fed the correlator.
func (e *Engine) logCorrelation(st State, tenant string, ts *tenantState, fed []appliance.EventID) error {
	if len(fed) == 0 {
		return nil
	}
	n, err := st.AppendCorrelationLog(tenant, fed)
	if err != nil {
		return fmt.Errorf("log correlation of %q: %w", tenant, err)
	}
	if n < max(checkpointMinEvents, ts.corr.Observations()) {
		return nil
	}
	return checkpoint(st, tenant, ts.corr)
}

func checkpoint(st State, tenant string, corr *sigma.Correlator) error {
	state, err := corr.MarshalBinary()
	if err != nil {
		return fmt.Errorf("save correlation state of %q: %w", tenant, err)
	}
	if err := st.SaveCorrelationState(tenant, state); err != nil {
		return err
	}
	return st.ClearCorrelationLog(tenant)
}

// restoreCorrelator loads ts.corr's saved state and replays the log.
func (e *Engine) restoreCorrelator(st State, tenant string, ts *tenantState) error {
	saved, err := st.CorrelationState(tenant)
	if err != nil {
		return fmt.Errorf("load correlation state of %q: %w", tenant, err)
	}
	if saved != nil {
		if err := ts.corr.UnmarshalBinary(saved); err != nil {
			return fmt.Errorf("restore correlation state of %q: %w", tenant, err)
		}
	}
	ids, err := st.CorrelationLog(tenant)
	if err != nil {
		return fmt.Errorf("load correlation log of %q: %w", tenant, err)
	}
	var matched []*sigma.Rule
	for _, id := range ids {
		doc, err := st.EventDoc(tenant, id)
		if err != nil {
			return fmt.Errorf("replay correlation log of %q: event %s: %w", tenant, id, err)
		}
		ev, err := sigma.NewEvent(doc)
		if err != nil {
			return fmt.Errorf("replay correlation log of %q: event %s: %w", tenant, id, err)
		}
		// The hits were alerted when the events first came.
		matched = ts.rules.Match(ev, matched[:0])
		ts.corr.Observe(ev, id.Time(), matched)
	}
	return nil
}

// BeforeRulesChange checkpoints a tenant's correlator so that its log does
// not span the change: the state machine calls it in the apply of a rule
// command, before the change. With an empty log there is nothing to do
// (and no rule set to load).
func (e *Engine) BeforeRulesChange(st State, tenant string) error {
	ids, err := st.CorrelationLog(tenant)
	if err != nil || len(ids) == 0 {
		return err
	}
	ts, err := e.tenant(st, tenant)
	if err != nil {
		return err
	}
	if ts.corr == nil {
		return st.ClearCorrelationLog(tenant)
	}
	return checkpoint(st, tenant, ts.corr)
}
