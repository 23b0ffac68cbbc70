package command

import "github.com/minixdr/xdr/appliance/intel"

// Detection commands: rules, threat intel and incident triage are
// replicated state, so every node evaluates the same rules and indicators
// at the same log index (docs/detection.md).
const (
	TypePutRules       Type = 16
	TypeSetRuleEnabled Type = 17
	TypeDeleteRule     Type = 18
	TypePutIndicators  Type = 19
	TypeDeleteIntel    Type = 20
	TypeUpdateIncident Type = 21
)

// RuleDef is one Sigma rule to store: its YAML exactly as given (one
// document), already checked by the proposer. The state machine parses it
// again to fill the rule's listing columns.
type RuleDef struct {
	ID      string
	Source  []byte
	Enabled bool
}

// PutRules adds or replaces rules of a tenant (an import sends several of
// these, each bounded in size). Time is the proposer's clock, for
// "updated".
type PutRules struct {
	Tenant string
	Rules  []RuleDef
	Time   int64
}

// SetRuleEnabled turns a rule (imported or built in) on or off.
type SetRuleEnabled struct {
	Tenant  string
	ID      string
	Enabled bool
	Time    int64
}

// DeleteRule removes an imported rule (ENOTFOUND if absent; built-in rules
// can only be disabled).
type DeleteRule struct {
	Tenant string
	ID     string
}

// PutIndicators adds threat-intel indicators, replacing those of the same
// ID. With Replace, the tenant's indicators of the same Source are removed
// first, so re-importing a feed drops what it no longer lists.
type PutIndicators struct {
	Tenant     string
	Source     string
	Replace    bool `json:",omitempty"`
	Indicators []intel.Indicator
}

// DeleteIntel removes a tenant's indicators of one source.
type DeleteIntel struct {
	Tenant string
	Source string
}

// UpdateIncident triages an incident: a nil field is left as it is, and a
// non-empty Comment is appended with Author and Time.
type UpdateIncident struct {
	Tenant   string
	ID       string
	Status   *string `json:",omitempty"`
	Assignee *string `json:",omitempty"`
	Comment  string  `json:",omitempty"`
	Author   string
	Time     int64
}

func (*PutRules) Type() Type       { return TypePutRules }
func (*SetRuleEnabled) Type() Type { return TypeSetRuleEnabled }
func (*DeleteRule) Type() Type     { return TypeDeleteRule }
func (*PutIndicators) Type() Type  { return TypePutIndicators }
func (*DeleteIntel) Type() Type    { return TypeDeleteIntel }
func (*UpdateIncident) Type() Type { return TypeUpdateIncident }
