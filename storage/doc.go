// Package storage is the replicated state machine: it applies every
// committed command to the two embedded stores (sqlstore for relational
// state, eventstore for events and their indexes), takes streaming
// snapshots of both at one point in time, restores them, and computes the
// state digest that proves nodes converge. It implements raft.FSM; the
// cluster package feeds it the log.
//
// See DESIGN.md in this folder for the snapshot format and the recovery
// rules. It must not import cluster or ui.
package storage
