// Package appliance is the domain of Mini-XDR: the types every other package
// speaks (events, tenants, users, tokens, sessions), the error codes that
// cross layer boundaries, and the small interfaces the domain needs from its
// infrastructure (a Proposer that commits commands through Raft, readers of
// the replicated state).
//
// It imports no infrastructure: storage and cluster implement the interfaces
// declared here and meet the domain only in cmd/xdr. Sub-packages own one
// concern each: command (the typed, versioned state-change log entries),
// ingest (turning untrusted lines into events), query (the search language),
// auth (passwords, tokens, sessions).
package appliance
