package detect

import (
	"context"
	"fmt"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/attack"
	"github.com/minixdr/xdr/appliance/command"
	"github.com/minixdr/xdr/appliance/intel"
	"github.com/minixdr/xdr/appliance/query"
	"github.com/minixdr/xdr/appliance/sigma"
)

// RuleFilter selects rules of a listing; empty fields select all.
type RuleFilter struct {
	Status, Level string
	Enabled       *bool
}

// AlertQuery asks for a page of a tenant's alerts, newest first.
type AlertQuery struct {
	Tenant   string
	Expr     query.Expr // nil: every alert
	Incident string     // when set, only this incident's alerts
	Limit    int
	Cursor   string // from a previous page's Next
}

// AlertPage is one page of alerts; Next is empty at the end.
type AlertPage struct {
	Alerts []Alert `json:"alerts"`
	Next   string  `json:"next"`
}

// IncidentPage is one page of incidents, most recently updated first.
type IncidentPage struct {
	Incidents []Incident `json:"incidents"`
	Next      string     `json:"next"`
}

// IntelCount is how many indicators of a type a source holds.
type IntelCount struct {
	Source string `json:"source"`
	Type   string `json:"type"`
	Count  int    `json:"count"`
}

// Reader reads the detection state. Every method takes the tenant and
// never returns another tenant's data; ENOTFOUND for a missing one.
type Reader interface {
	Rules(ctx context.Context, tenant string, f RuleFilter) ([]RuleInfo, error)
	Rule(ctx context.Context, tenant, id string) (RuleInfo, error)
	RuleSources(ctx context.Context, tenant string) ([][]byte, error)
	Alerts(ctx context.Context, q AlertQuery) (AlertPage, error)
	Incidents(ctx context.Context, tenant, status string, limit int, cursor string) (IncidentPage, error)
	Incident(ctx context.Context, tenant, id string) (*Incident, error)
	IntelSummary(ctx context.Context, tenant string) ([]IntelCount, error)
}

// Service is rule, intel and incident management: it checks requests,
// proposes commands and reads the results.
type Service struct {
	p   command.Proposer
	r   Reader
	now func() time.Time
	cat *attack.Catalogue
}

// NewService returns a service committing through p and reading from r.
func NewService(p command.Proposer, r Reader, now func() time.Time) *Service {
	return &Service{p: p, r: r, now: now, cat: attack.Enterprise()}
}

// Reader returns the service's reader, for listings that need no more.
func (s *Service) Reader() Reader { return s.r }

// maxCommandBytes bounds the rule YAML or indicators of one command, so an
// import of thousands of rules is several log entries of moderate size.
const maxCommandBytes = 512 << 10

// ImportOptions tune a rule import.
type ImportOptions struct {
	Status   string // comma-separated statuses to import; empty: all
	Disabled bool   // import the rules disabled
	// Progress, when set, is told how many of the checked rules are
	// stored so far: (0, total) once the check is done, then after each
	// batch committed.
	Progress func(stored, total int)
}

// ImportReport says what an import stored and what it refused.
type ImportReport struct {
	Imported int           `json:"imported"`
	Skipped  int           `json:"skipped"` // left out by the status filter
	Failed   []RuleFailure `json:"failed"`
}

// ImportRules checks every rule of files (name → YAML) and stores those
// that parse and compile; the others are reported with file and reason.
func (s *Service) ImportRules(ctx context.Context, tenant string, files map[string][]byte, opt ImportOptions) (ImportReport, error) {
	keep, err := StatusFilter(opt.Status)
	if err != nil {
		return ImportReport{}, err
	}
	existing, err := s.existingRules(ctx, tenant)
	if err != nil {
		return ImportReport{}, err
	}
	res := Check(files, existing, keep)
	rep := ImportReport{Skipped: res.Skipped, Failed: res.Failures}
	if rep.Failed == nil {
		rep.Failed = []RuleFailure{}
	}
	var defs []command.RuleDef
	size := 0
	flush := func() error {
		if len(defs) == 0 {
			return nil
		}
		if err := s.p.Propose(ctx, &command.PutRules{Tenant: tenant, Rules: defs, Time: s.now().UnixNano()}); err != nil {
			return err
		}
		rep.Imported += len(defs)
		defs, size = nil, 0
		return nil
	}
	progress := func(stored int) {
		if opt.Progress != nil {
			opt.Progress(stored, len(res.Rules))
		}
	}
	progress(0)
	for i, r := range res.Rules {
		if IsBuiltin(r.ID) {
			rep.Failed = append(rep.Failed, RuleFailure{Rule: r.ID, Reason: "a built-in rule has this id"})
			continue
		}
		if size+len(r.Source) > maxCommandBytes {
			if err := flush(); err != nil {
				return rep, err
			}
			progress(i)
		}
		defs = append(defs, command.RuleDef{ID: r.ID, Source: r.Source, Enabled: !opt.Disabled})
		size += len(r.Source)
	}
	if err := flush(); err != nil {
		return rep, err
	}
	progress(len(res.Rules))
	return rep, nil
}

// existingRules parses the tenant's stored rules and the built-in ones,
// which an imported correlation may refer to.
func (s *Service) existingRules(ctx context.Context, tenant string) ([]*sigma.Rule, error) {
	srcs, err := s.r.RuleSources(ctx, tenant)
	if err != nil {
		return nil, err
	}
	rules := append([]*sigma.Rule(nil), Builtin()...)
	for _, src := range srcs {
		if r, err := ParseOne(src); err == nil {
			rules = append(rules, r)
		}
	}
	return rules, nil
}

// AddRule stores one rule given as YAML (POST /api/v1/rules); EINVALID
// with the reason when it does not parse or compile.
func (s *Service) AddRule(ctx context.Context, tenant string, src []byte, enabled bool) (RuleInfo, error) {
	rep, err := s.ImportRules(ctx, tenant, map[string][]byte{"body": src}, ImportOptions{Disabled: !enabled})
	if err != nil {
		return RuleInfo{}, err
	}
	if len(rep.Failed) > 0 {
		f := rep.Failed[0]
		if f.Rule != "" {
			return RuleInfo{}, appliance.Errorf(appliance.EINVALID, "rule %s: %s", f.Rule, f.Reason)
		}
		return RuleInfo{}, appliance.Errorf(appliance.EINVALID, "%s", f.Reason)
	}
	r, err := ParseOne(src)
	if err != nil {
		return RuleInfo{}, err
	}
	if rep.Imported != 1 {
		return RuleInfo{}, appliance.Errorf(appliance.EINVALID, "want one rule in the body")
	}
	return s.r.Rule(ctx, tenant, r.ID)
}

// SetRuleEnabled enables or disables a rule.
func (s *Service) SetRuleEnabled(ctx context.Context, tenant, id string, enabled bool) (RuleInfo, error) {
	if err := s.p.Propose(ctx, &command.SetRuleEnabled{Tenant: tenant, ID: id, Enabled: enabled, Time: s.now().UnixNano()}); err != nil {
		return RuleInfo{}, err
	}
	return s.r.Rule(ctx, tenant, id)
}

// DeleteRule deletes an imported rule.
func (s *Service) DeleteRule(ctx context.Context, tenant, id string) error {
	return s.p.Propose(ctx, &command.DeleteRule{Tenant: tenant, ID: id})
}

// maxIndicatorsPerCommand keeps an intel import's log entries moderate.
const maxIndicatorsPerCommand = 2000

// ImportIntel parses a feed and stores its indicators under opt.Source
// (replacing what that source held before when replace).
func (s *Service) ImportIntel(ctx context.Context, tenant string, data []byte, opt intel.Options, replace bool) (*intel.Report, error) {
	rep, err := intel.Import(data, opt)
	if err != nil {
		return nil, err
	}
	source := opt.Source
	if source == "" {
		source = rep.Format
	}
	inds := rep.Indicators
	for first := true; first || len(inds) > 0; first = false {
		n := min(len(inds), maxIndicatorsPerCommand)
		c := &command.PutIndicators{Tenant: tenant, Source: source, Replace: replace && first, Indicators: inds[:n]}
		if err := s.p.Propose(ctx, c); err != nil {
			return rep, fmt.Errorf("store indicators: %w", err)
		}
		inds = inds[n:]
	}
	return rep, nil
}

// DeleteIntel removes a source's indicators.
func (s *Service) DeleteIntel(ctx context.Context, tenant, source string) error {
	return s.p.Propose(ctx, &command.DeleteIntel{Tenant: tenant, Source: source})
}

// Alerts returns a page of alerts with their techniques named.
func (s *Service) Alerts(ctx context.Context, q AlertQuery) (AlertPage, error) {
	page, err := s.r.Alerts(ctx, q)
	for i := range page.Alerts {
		page.Alerts[i].Techniques = s.cat.Describe(page.Alerts[i].Attack)
	}
	return page, err
}

// Incidents returns a page of incidents with their techniques named.
func (s *Service) Incidents(ctx context.Context, tenant, status string, limit int, cursor string) (IncidentPage, error) {
	page, err := s.r.Incidents(ctx, tenant, status, limit, cursor)
	for i := range page.Incidents {
		page.Incidents[i].Techniques = s.cat.Describe(page.Incidents[i].Attack)
	}
	return page, err
}

// maxIncidentAlerts bounds the alerts returned with one incident.
const maxIncidentAlerts = 500

// Incident returns one incident with its (latest) alerts.
func (s *Service) Incident(ctx context.Context, tenant, id string) (*Incident, error) {
	inc, err := s.r.Incident(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	page, err := s.Alerts(ctx, AlertQuery{Tenant: tenant, Incident: id, Limit: maxIncidentAlerts})
	if err != nil {
		return nil, err
	}
	inc.Alerts = page.Alerts
	inc.Techniques = s.cat.Describe(inc.Attack)
	return inc, nil
}

// IncidentPatch is a triage change; nil fields stay as they are.
type IncidentPatch struct {
	Status   *string `json:"status"`
	Assignee *string `json:"assignee"`
	Comment  string  `json:"comment"`
}

// UpdateIncident triages an incident as author.
func (s *Service) UpdateIncident(ctx context.Context, tenant, id, author string, p IncidentPatch) (*Incident, error) {
	if p.Status == nil && p.Assignee == nil && p.Comment == "" {
		return nil, appliance.Errorf(appliance.EINVALID, "nothing to change: give status, assignee or comment")
	}
	if len(p.Comment) > 10000 {
		return nil, appliance.Errorf(appliance.EINVALID, "comment of %d bytes is over 10000", len(p.Comment))
	}
	c := &command.UpdateIncident{Tenant: tenant, ID: id, Status: p.Status, Assignee: p.Assignee, Comment: p.Comment,
		Author: author, Time: s.now().UnixNano()}
	if err := s.p.Propose(ctx, c); err != nil {
		return nil, err
	}
	return s.Incident(ctx, tenant, id)
}
