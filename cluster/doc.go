// Package cluster runs the Raft node: the durable log (bbolt), the file
// snapshot store, the transport between nodes, bootstrap of a one-voter
// cluster, and Propose, the one way any state changes. A single node is a
// one-voter cluster; there is no code path that skips Raft.
//
// It knows the state machine only through raft.FSM and the small Recoverer
// interface; it must not import storage or ui.
package cluster
