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
// It also holds the built-in rule pack (rules/*.yml, Sigma written for the
// appliance's own sources). It must not import storage or ui: storage
// implements State over its SQL transaction.
package detect
