package cluster

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"

	"github.com/minixdr/xdr/appliance"
)

// memberRequest names a server for the membership RPCs.
type memberRequest struct {
	ID      string `json:"id"`
	Address string `json:"address"`
}

type addAnswer struct {
	LastIndex uint64 `json:"last_index"`
}

// errNoLeader is the answer of a node that knows no leader: it is cut off
// from a majority, or an election is under way.
var errNoLeader = appliance.Errorf(appliance.EUNAVAILABLE,
	"no cluster leader: this node cannot reach a majority of the cluster; writes are refused until it can (retry shortly or use another node)")

// maxLeaderRetries is how often leaderCall follows a leader change.
const maxLeaderRetries = 3

// leaderCall runs a leader-only operation: here when this node leads,
// otherwise on the leader over RPC. A leader that has just stepped down
// answers ErrNotLeader before doing anything, so that answer is retried
// once a new leader is known.
func (n *Node) leaderCall(ctx context.Context, op byte, body []byte) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		if n.raft.State() == raft.Leader {
			return n.onLeader(ctx, op, body)
		}
		addr, id := n.raft.LeaderWithID()
		if id == "" {
			return nil, errNoLeader
		}
		out, err := n.rpc.call(ctx, string(addr), op, body)
		if !errors.Is(err, appliance.ErrNotLeader) || attempt == maxLeaderRetries {
			return out, err
		}
		if err := n.waitLeaderChange(ctx, id); err != nil {
			return nil, errNoLeader
		}
	}
}

// waitLeaderChange waits until the leader is known and is not old.
func (n *Node) waitLeaderChange(ctx context.Context, old raft.ServerID) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, id := n.raft.LeaderWithID(); id != "" && id != old {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// handleRPC answers a peer's request.
func (n *Node) handleRPC(ctx context.Context, op byte, body []byte) ([]byte, error) {
	switch op {
	case opStatus:
		return json.Marshal(n.localStatus())
	case opPropose:
		// Forwarded once only: a follower that got a forwarded proposal
		// answers ErrNotLeader and the sender finds the new leader.
		return n.onLeader(ctx, op, body)
	case opAddNonvoter, opPromote, opRemove:
		return n.leaderCall(ctx, op, body)
	}
	return nil, errUnknownOp
}

// onLeader runs a leader-only operation on this node.
func (n *Node) onLeader(ctx context.Context, op byte, body []byte) ([]byte, error) {
	if n.raft.State() != raft.Leader {
		return nil, appliance.ErrNotLeader
	}
	if op == opPropose {
		index, err := n.proposeLocal(ctx, body)
		if err != nil {
			return nil, err
		}
		return binary.BigEndian.AppendUint64(nil, index), nil
	}
	var req memberRequest
	if err := json.Unmarshal(body, &req); err != nil || req.ID == "" {
		return nil, appliance.Errorf(appliance.EINVALID, "membership request without a node id")
	}
	timeout := n.cfg.ApplyTimeout
	var f raft.IndexFuture
	switch op {
	case opAddNonvoter:
		if s, ok := n.server(raft.ServerID(req.ID)); ok && string(s.Address) == req.Address {
			return json.Marshal(addAnswer{LastIndex: n.raft.LastIndex()}) // a retry, or a restart
		}
		n.cfg.Log.Info("adding node as non-voter", "node", req.ID, "address", req.Address)
		f = n.raft.AddNonvoter(raft.ServerID(req.ID), raft.ServerAddress(req.Address), 0, timeout)
	case opPromote:
		s, ok := n.server(raft.ServerID(req.ID))
		if !ok {
			return nil, appliance.Errorf(appliance.ENOTFOUND, "node %s is not a cluster member", req.ID)
		}
		if s.Suffrage == raft.Voter {
			return nil, nil
		}
		n.cfg.Log.Info("promoting caught-up node to voter", "node", req.ID)
		f = n.raft.AddVoter(s.ID, s.Address, 0, timeout)
	case opRemove:
		if _, ok := n.server(raft.ServerID(req.ID)); !ok {
			return nil, appliance.Errorf(appliance.ENOTFOUND, "node %s is not a cluster member", req.ID)
		}
		n.cfg.Log.Info("removing node", "node", req.ID)
		f = n.raft.RemoveServer(raft.ServerID(req.ID), 0, timeout)
	default:
		return nil, errUnknownOp
	}
	if err := f.Error(); err != nil {
		return nil, mapRaftError(err)
	}
	if op == opAddNonvoter {
		return json.Marshal(addAnswer{LastIndex: f.Index()})
	}
	return nil, nil
}

// server looks a server up in the latest configuration.
func (n *Node) server(id raft.ServerID) (raft.Server, bool) {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return raft.Server{}, false
	}
	for _, s := range f.Configuration().Servers {
		if s.ID == id {
			return s, true
		}
	}
	return raft.Server{}, false
}

// AddSelf asks the cluster (through any member at addrs) to add this node
// as a non-voter; it retries until ctx ends, since the leader may be
// changing. A node already in the configuration succeeds at once.
func (n *Node) AddSelf(ctx context.Context, addrs []string) error {
	body, _ := json.Marshal(memberRequest{ID: n.ID, Address: n.cfg.Advertise})
	var last error
	for {
		for _, a := range addrs {
			callCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
			_, err := n.rpc.call(callCtx, a, opAddNonvoter, body)
			cancel()
			if err == nil {
				return nil
			}
			last = err
			if code := appliance.ErrorCode(err); code != appliance.EUNAVAILABLE && code != appliance.EINTERNAL {
				return fmt.Errorf("join the cluster: %w", err)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("join the cluster through %v: %w", addrs, last)
		case <-time.After(500 * time.Millisecond): // back off between rounds of attempts
		}
	}
}

// Remove takes a node out of the cluster (through the leader).
func (n *Node) Remove(ctx context.Context, id string) error {
	body, _ := json.Marshal(memberRequest{ID: id})
	_, err := n.leaderCall(ctx, opRemove, body)
	return err
}

// promoteWhenCaughtUp runs on every node: while this node is a non-voter
// that hears from the leader and has applied all it knows to be
// committed, it asks the leader to make it a voter. A lagging node never
// becomes a voter, so it cannot hold up commits or elections.
func (n *Node) promoteWhenCaughtUp() {
	defer n.loops.Done()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-tick.C:
		}
		s, ok := n.server(raft.ServerID(n.ID))
		if !ok || s.Suffrage != raft.Nonvoter || n.raft.State() != raft.Follower {
			continue
		}
		commit := n.raft.CommitIndex()
		if commit == 0 || n.raft.AppliedIndex() < commit || time.Since(n.raft.LastContact()) > time.Second {
			continue
		}
		body, _ := json.Marshal(memberRequest{ID: n.ID, Address: n.cfg.Advertise})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if _, err := n.leaderCall(ctx, opPromote, body); err != nil {
			n.cfg.Log.Warn("promotion to voter failed; will retry", "err", err)
		}
		cancel()
	}
}

// JoinToken makes a join token valid for ttl (DefaultTokenTTL when 0).
func (n *Node) JoinToken(ttl time.Duration) (token string, expires time.Time, err error) {
	if ttl <= 0 {
		ttl = DefaultTokenTTL
	}
	now := n.cfg.Now()
	token, err = n.cfg.PKI.NewJoinToken(now, ttl)
	return token, now.Add(ttl).UTC().Truncate(time.Second), err
}

// Advertise is the address peers reach this node at (what --join takes).
func (n *Node) Advertise() string { return n.cfg.Advertise }
