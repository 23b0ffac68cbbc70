// Package sigma is the appliance's native Sigma engine, a pure library: it
// parses Sigma rules (detection and correlation, ParseRules), compiles a set
// of detection rules into matchers over our stored event documents (Compile,
// RuleSet.Match) and evaluates correlation rules on event time (Correlator).
//
// It owns the Sigma semantics only: the rule and condition languages
// (rule.go, detection.go, condition.go, correlation.go), which events a rule
// selects (logsource.go), how Sigma field names find our fields
// (fieldmap.go), the value modifiers and wildcard patterns (modifier.go,
// pattern.go, matcher.go), and making that fast: the literal prefilter
// (prefilter.go; its automata and pair filters, ac.go and pairs.go),
// reading a stored document once, or in place (event.go) and
// carrying automata and regular expressions from one compile to the next
// (cache.go), so a compile after a rule change rebuilds only what changed.
// Correlation state lives in correlator.go (bounded: idle groups are
// dropped on event time) and serialises in state.go.
// Storing rules, raising alerts and building incidents belong to the
// callers (appliance/detect).
//
// docs/detection.md describes the design, the mapping tables and the
// conformance result against the SigmaHQ rules.
package sigma
