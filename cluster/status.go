package cluster

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// NodeStatus is one member as the cluster page and API show it.
type NodeStatus struct {
	ID      string `json:"id"`
	Address string `json:"address"`
	// State: leader, follower, candidate, or unreachable when the node did
	// not answer.
	State   string `json:"state"`
	Voter   bool   `json:"voter"`
	Healthy bool   `json:"healthy"`
	// LastContact is when the node last heard from the leader (followers).
	LastContact  *time.Time `json:"last_contact,omitempty"`
	AppliedIndex uint64     `json:"applied_index"`
	CommitIndex  uint64     `json:"commit_index"`
	// LogFirstIndex is the oldest entry the node's log still holds; older
	// ones are compacted into a snapshot.
	LogFirstIndex uint64 `json:"log_first_index"`
	// Lag is how many entries the node has applied fewer than the leader.
	Lag uint64 `json:"lag"`
}

// Status is the cluster as one node sees it.
type Status struct {
	Leader string       `json:"leader"`
	Self   string       `json:"self"`
	Nodes  []NodeStatus `json:"nodes"`
}

// localStatus is this node's own view of itself.
func (n *Node) localStatus() NodeStatus {
	first, _ := n.logs.FirstIndex()
	st := NodeStatus{ID: n.ID, Address: n.cfg.Advertise, Healthy: true, LogFirstIndex: first,
		State: stateName(n.raft.State()), AppliedIndex: n.raft.AppliedIndex(), CommitIndex: n.raft.CommitIndex()}
	if n.raft.State() != raft.Leader {
		if lc := n.raft.LastContact(); !lc.IsZero() {
			lc = lc.UTC()
			st.LastContact = &lc
		}
	}
	return st
}

func stateName(s raft.RaftState) string {
	switch s {
	case raft.Leader:
		return "leader"
	case raft.Follower:
		return "follower"
	case raft.Candidate:
		return "candidate"
	}
	return "shutdown"
}

// Status asks every member for its state (in parallel, each bounded by a
// second) and combines the answers with what gossip sees.
func (n *Node) Status(ctx context.Context) (Status, error) {
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return Status{}, mapRaftError(err)
	}
	servers := f.Configuration().Servers
	_, leader := n.raft.LeaderWithID()
	alive := n.gossipAlive()
	out := Status{Leader: string(leader), Self: n.ID, Nodes: make([]NodeStatus, len(servers))}
	var wg sync.WaitGroup
	for i, s := range servers {
		if string(s.ID) == n.ID {
			out.Nodes[i] = n.localStatus()
		} else {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out.Nodes[i] = n.peerStatus(ctx, s, alive)
			}()
		}
	}
	wg.Wait()
	var leaderApplied uint64
	for i, s := range servers {
		out.Nodes[i].Voter = s.Suffrage == raft.Voter
		out.Nodes[i].Address = string(s.Address)
		if string(s.ID) == out.Leader {
			leaderApplied = out.Nodes[i].AppliedIndex
		}
	}
	for i := range out.Nodes {
		if out.Nodes[i].State != "unreachable" && leaderApplied > out.Nodes[i].AppliedIndex {
			out.Nodes[i].Lag = leaderApplied - out.Nodes[i].AppliedIndex
		}
	}
	return out, nil
}

func (n *Node) peerStatus(ctx context.Context, s raft.Server, alive map[string]bool) NodeStatus {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	st := NodeStatus{ID: string(s.ID), State: "unreachable"}
	out, err := n.rpc.call(ctx, string(s.Address), opStatus, nil)
	if err != nil || json.Unmarshal(out, &st) != nil {
		return NodeStatus{ID: string(s.ID), State: "unreachable"}
	}
	// Healthy: answering now, and not reported dead by gossip (when gossip
	// runs and knows it).
	if a, known := alive[string(s.ID)]; known && !a {
		st.Healthy = false
	}
	return st
}
