// Package detect is the detection pipeline of the state machine: for each
// ingested batch it runs the tenant's compiled Sigma rules, the correlator
// and the threat-intel matcher over the events, turns what matched into
// alerts with deterministic IDs, and groups alerts into incidents by entity
// and time window.
//
// Everything here is a function of the replicated log: no wall clock (only
// event times and times carried in commands), no randomness, and every map
// walked in a sorted order, so each node of a cluster derives the same
// alerts and incidents. The compiled rule sets, matchers and correlators
// are caches of replicated state (rules, indicators and correlation state,
// read through State), rebuilt when that state changes.
//
// A rule change is compiled in the apply of the next batch, so the rules
// an event meets are fixed by its log position, never by timing. That
// compile is kept cheap instead of moved off the apply: each tenant keeps
// its parsed rules by their YAML and a sigma.Cache of the previous
// compile's automata and regular expressions, so one changed rule costs
// the automata of its own field groups, not the whole set (for the SigmaHQ
// rules ~0.3 s instead of ~1–2 s; docs/detection.md "Pipeline").
//
// It also holds the built-in rule pack (rules/*.yml, Sigma written for the
// appliance's own sources). It must not import storage or ui: storage
// implements State over its SQL transaction.
package detect
