// Package sigma is the appliance's native Sigma engine, a pure library: it
// parses Sigma rules (detection and correlation, ParseRules), compiles a set
// of detection rules into matchers over our stored event documents (Compile,
// RuleSet.Match) and evaluates correlation rules on event time (Correlator).
//
// It owns the Sigma semantics only: which events a rule selects (logsource
// mapping, logsource.go), how Sigma field names find our fields (fieldmap.go),
// the value modifiers (modifier.go), wildcard patterns (pattern.go) and the
// condition language (condition.go). Storing rules, raising alerts and
// building incidents belong to the callers.
//
// docs/detection.md describes the design, the mapping tables and the
// conformance result against the SigmaHQ rules.
package sigma
