package detect

import (
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/intel"
	"github.com/minixdr/xdr/appliance/sigma"
)

// State is the replicated detection state of the apply in progress: the
// state machine implements it over its open SQL transaction, so that what
// the pipeline reads and writes commits atomically with the log index.
type State interface {
	// Rules returns the tenant's rule rows, ordered by ID.
	Rules(tenant string) ([]StoredRule, error)
	// Indicators returns the tenant's indicators, ordered by ID.
	Indicators(tenant string) ([]intel.Indicator, error)
	// CorrelationState is the saved correlator of a tenant (nil: none).
	CorrelationState(tenant string) ([]byte, error)
	SaveCorrelationState(tenant string, state []byte) error
	// The correlation log: the events that fed the correlator since its
	// state was saved, batch by batch (see correlate.go).
	AppendCorrelationLog(tenant string, ids []appliance.EventID) (logged int, err error) // logged: events in the log now
	CorrelationLog(tenant string) ([]appliance.EventID, error)
	ClearCorrelationLog(tenant string) error
	// EventDoc is a stored event (the correlation log replays them).
	EventDoc(tenant string, id appliance.EventID) ([]byte, error)
	// AlertExists reports whether an alert ID is stored already.
	AlertExists(tenant, id string) (bool, error)
	PutAlert(a *Alert) error
	// OpenIncident returns the open incident of key whose alerts lie
	// within window of t, or nil.
	OpenIncident(tenant string, key Entity, t time.Time, window time.Duration) (*Incident, error)
	PutIncident(inc *Incident) error
}

// IncidentWindow is how close in time an alert must be to an open
// incident's alerts to join it.
const IncidentWindow = time.Hour

// Engine runs detection for every tenant. It is used under the state
// machine's apply lock only, so it needs no locking of its own.
type Engine struct {
	tenants map[string]*tenantState
	log     *slog.Logger
}

// tenantState caches what the pipeline derives from a tenant's replicated
// state; nil fields are rebuilt on next use.
type tenantState struct {
	rules      *sigma.RuleSet
	suppressed map[*sigma.Rule]bool // referenced by a correlation that does not generate them
	corr       *sigma.Correlator
	intel      *intel.Matcher
	// parsed keeps the parsed imported rules by their YAML across
	// compiles, so a rule change re-parses only what changed (parsing is
	// a third of a rebuild of the SigmaHQ rules).
	parsed map[string]*sigma.Rule
	// cache carries the compiled automata and regular expressions from
	// one compile to the next: after a rule change only what changed is
	// built again (doc.go).
	cache *sigma.Cache
}

// NewEngine returns an engine with the built-in rules.
func NewEngine(log *slog.Logger) *Engine {
	return &Engine{tenants: map[string]*tenantState{}, log: log}
}

// Reset drops every cache (after a snapshot restore replaced the state).
func (e *Engine) Reset() { e.tenants = map[string]*tenantState{} }

// RulesChanged drops a tenant's compiled rules and correlator; the
// correlator's saved state is kept and restored into the new one.
func (e *Engine) RulesChanged(tenant string) {
	if ts := e.tenants[tenant]; ts != nil {
		ts.rules, ts.corr, ts.suppressed = nil, nil, nil
	}
}

// IntelChanged drops a tenant's intel matcher.
func (e *Engine) IntelChanged(tenant string) {
	if ts := e.tenants[tenant]; ts != nil {
		ts.intel = nil
	}
}

func (e *Engine) tenant(st State, tenant string) (*tenantState, error) {
	ts := e.tenants[tenant]
	if ts == nil {
		ts = &tenantState{cache: sigma.NewCache()}
		e.tenants[tenant] = ts
	}
	if ts.rules == nil {
		if err := e.compile(st, tenant, ts); err != nil {
			return nil, err
		}
	}
	if ts.intel == nil {
		inds, err := st.Indicators(tenant)
		if err != nil {
			return nil, fmt.Errorf("load indicators of %q: %w", tenant, err)
		}
		ts.intel = intel.NewMatcher(inds)
	}
	return ts, nil
}

// compile builds the tenant's rule set: the built-in rules it has not
// disabled, then its enabled imported rules by ID.
func (e *Engine) compile(st State, tenant string, ts *tenantState) error {
	rows, err := st.Rules(tenant)
	if err != nil {
		return fmt.Errorf("load rules of %q: %w", tenant, err)
	}
	disabled := map[string]bool{}
	var imported []*sigma.Rule
	parsed := map[string]*sigma.Rule{}
	for _, row := range rows {
		if row.Builtin {
			disabled[row.ID] = !row.Enabled
			continue
		}
		if !row.Enabled {
			continue
		}
		r := ts.parsed[string(row.Source)]
		if r == nil {
			if r, err = ParseOne(row.Source); err != nil {
				// Stored rules were checked when proposed; one this build
				// cannot parse is left out, on every node alike.
				e.log.Warn("stored rule does not parse", "tenant", tenant, "rule", row.ID, "err", err)
				continue
			}
		}
		parsed[string(row.Source)] = r
		imported = append(imported, r)
	}
	ts.parsed = parsed
	var rules []*sigma.Rule
	for _, r := range Builtin() {
		if !disabled[r.ID] {
			rules = append(rules, r)
		}
	}
	rules = append(rules, imported...)
	rs, errs := sigma.CompileWith(rules, sigma.Options{Cache: ts.cache})
	for _, err := range errs {
		e.log.Warn("stored rule does not compile", "tenant", tenant, "err", err)
	}
	ts.rules = rs
	ts.suppressed = suppressed(rs)
	ts.corr = nil
	if hasCorrelations(rs) {
		ts.corr = sigma.NewCorrelator(rs)
		return e.restoreCorrelator(st, tenant, ts)
	}
	return nil
}

// Process runs detection over one stored batch and records its alerts and
// incidents through st. Only infrastructure errors are returned.
func (e *Engine) Process(st State, tenant, source string, events []appliance.Event) error {
	ts, err := e.tenant(st, tenant)
	if err != nil {
		return err
	}
	if !ts.rules.Selects(source) && ts.intel.Len() == 0 {
		return nil // no rule reads this source's events, and no indicator to look for
	}
	b := batch{e: e, st: st, ts: ts, tenant: tenant, source: source}
	prepared := prepare(ts.rules, events, ts.intel.Len() > 0)
	var fed []appliance.EventID // events that fed the correlator
	for i := range events {
		ev, p := &events[i], &prepared[i]
		if p.ev == nil {
			continue // nothing to detect, on every node alike (preparedEvent)
		}
		sev, matched := p.ev, p.matched
		id := ev.ID.String()
		for _, r := range matched {
			if !ts.suppressed[r] {
				b.ruleAlert(r, sev, ev.Timestamp, []string{id}, "")
			}
		}
		if ts.corr != nil && len(matched) > 0 {
			for _, hit := range ts.corr.Observe(sev, ev.Timestamp, matched) {
				b.ruleAlert(hit.Rule, sev, hit.Time, hit.EventIDs, hit.GroupKey)
			}
			fed = append(fed, ev.ID)
		}
		if ts.intel.Len() > 0 {
			for _, hit := range ts.intel.Match(intelLookup(sev), ev.Timestamp) {
				b.intelAlert(hit, sev, ev.Timestamp, id)
			}
		}
	}
	if err := b.flush(); err != nil {
		return err
	}
	return e.logCorrelation(st, tenant, ts, fed)
}

// preparedEvent is an event read for matching and the rules it matched.
type preparedEvent struct {
	ev      *sigma.Event // nil: not a document the engine reads, or (read by MatchDocument) one that matched nothing
	matched []*sigma.Rule
}

// parallelFrom is the batch size from which events are read and matched
// on every core: both are pure functions of the event and the immutable
// rule set, so the results, consumed in order afterwards, are the same
// on every node. Below it, goroutines cost more than they save.
const parallelFrom = 64

// prepare reads and matches every event of a batch. Unless every event
// is needed (intel looks at all of them), events are matched with
// sigma.MatchDocument, which keeps an Event only for those that matched:
// the others are left out (nil), having cost no more than their reading.
func prepare(rs *sigma.RuleSet, events []appliance.Event, every bool) []preparedEvent {
	out := make([]preparedEvent, len(events))
	work := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if !every {
				if ev, matched, _ := rs.MatchDocument(events[i].Doc, nil); ev != nil {
					out[i] = preparedEvent{ev: ev, matched: matched}
				}
				continue
			}
			ev, err := sigma.NewEvent(events[i].Doc)
			if err != nil {
				continue
			}
			out[i] = preparedEvent{ev: ev, matched: rs.Match(ev, nil)}
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(events)/parallelFrom)
	if workers < 2 {
		work(0, len(events))
		return out
	}
	var wg sync.WaitGroup
	chunk := (len(events) + workers - 1) / workers
	for lo := 0; lo < len(events); lo += chunk {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			work(lo, hi)
		}(lo, min(lo+chunk, len(events)))
	}
	wg.Wait()
	return out
}

// intelLookup reads an event's fields for the intel matcher; list values
// (dns.resolved_ip) come joined by commas, which no IP or domain holds.
func intelLookup(ev *sigma.Event) intel.Lookup {
	return func(field string) []string {
		v, ok := ev.Field(field)
		if !ok || v == "" {
			return nil
		}
		if strings.Contains(v, ",") && !strings.HasPrefix(field, "url.") {
			return strings.Split(v, ",")
		}
		return []string{v}
	}
}

func hasCorrelations(rs *sigma.RuleSet) bool {
	for _, r := range rs.Rules() {
		if r.Correlation != nil {
			return true
		}
	}
	return false
}

// suppressed finds the detection rules that only feed correlations: Sigma
// correlation rules do not let their referenced rules alert on their own
// unless they say generate: true.
func suppressed(rs *sigma.RuleSet) map[*sigma.Rule]bool {
	byRef := map[string]*sigma.Rule{}
	for _, r := range rs.Rules() {
		if r.Correlation == nil {
			byRef[r.ID] = r
			if r.Name != "" {
				byRef[r.Name] = r
			}
		}
	}
	quiet, loud := map[*sigma.Rule]bool{}, map[*sigma.Rule]bool{}
	for _, c := range rs.Rules() {
		if c.Correlation == nil {
			continue
		}
		for _, ref := range c.Correlation.Rules {
			if r := byRef[ref]; r != nil {
				if c.Correlation.Generate {
					loud[r] = true
				} else {
					quiet[r] = true
				}
			}
		}
	}
	for r := range loud {
		delete(quiet, r)
	}
	return quiet
}
