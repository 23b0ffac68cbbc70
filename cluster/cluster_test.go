package cluster_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/command"
	"github.com/minixdr/xdr/cluster"
	"github.com/minixdr/xdr/storage"
	"github.com/minixdr/xdr/storage/storetest"
)

// member is one in-process node of a multi-node test.
type member struct {
	dir, addr string
	store     *storage.Store
	node      *cluster.Node
}

// slowApply makes every apply of a store take longer, as on a loaded node:
// a forwarded write that returned before its apply here would show. The
// delay widens that window; nothing waits on it.
type slowApply struct{ *storage.Store }

func (s slowApply) Apply(l *raft.Log) any {
	time.Sleep(50 * time.Millisecond)
	return s.Store.Apply(l)
}

// joinMember creates credentials through a join at via and opens a node,
// applying to its store through wrap when given.
func joinMember(t *testing.T, via, token string, wrap ...func(*storage.Store) cluster.StateMachine) *member {
	t.Helper()
	m := &member{dir: t.TempDir(), addr: freeAddr(t)}
	id, err := cluster.NodeID(m.dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := cluster.Join(ctx, m.dir, []string{via}, token, id, m.addr)
	if err != nil {
		t.Fatalf("join: %v", err)
	}
	m.store = storetest.MustOpenStoreAt(t, filepath.Join(m.dir, "state"))
	var fsm cluster.StateMachine = m.store
	for _, w := range wrap {
		fsm = w(m.store)
	}
	cfg := testConfig(m.dir, m.addr, fsm, nodeOpts{})
	cfg.PKI, cfg.GossipAddr, cfg.GossipPeers = res.PKI, freeAddr(t), []string{res.Gossip}
	if m.node, err = cluster.Open(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.node.Close() })
	if err := m.node.AddSelf(ctx, []string{via}); err != nil {
		t.Fatalf("add self: %v", err)
	}
	return m
}

func TestThreeNodesInProcess(t *testing.T) {
	first := &member{dir: t.TempDir(), addr: freeAddr(t)}
	pki, err := cluster.EnsurePKI(first.dir, first.addr)
	if err != nil {
		t.Fatal(err)
	}
	first.store = storetest.MustOpenStoreAt(t, filepath.Join(first.dir, "state"))
	cfg := testConfig(first.dir, first.addr, first.store, nodeOpts{})
	cfg.PKI, cfg.GossipAddr = pki, freeAddr(t)
	if first.node, err = cluster.Open(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { first.node.Close() })
	if err := first.node.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	waitLeader(t, first.node)
	propose(t, first.node, &command.CreateTenant{Tenant: appliance.Tenant{Name: "acme", Created: t0}})

	token, expires, err := first.node.JoinToken(time.Minute)
	if err != nil || time.Until(expires) < 50*time.Second {
		t.Fatalf("join token: %v, expires %v", err, expires)
	}
	if parsed, err := cluster.ParseJoinToken(token); err != nil || !strings.Contains(parsed.String(), "expiring") || strings.Contains(parsed.String(), token[10:]) {
		t.Fatalf("parsed token %v (%v) must show the expiry and not the secret", parsed, err)
	}
	slow := func(st *storage.Store) cluster.StateMachine { return slowApply{st} }
	members := []*member{first, joinMember(t, first.addr, token, slow), joinMember(t, first.node.Advertise(), token)}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	waitFor(t, "three healthy voters", func() bool {
		st, err := members[2].node.Status(ctx)
		if err != nil || st.Leader == "" || len(st.Nodes) != 3 {
			return false
		}
		for _, n := range st.Nodes {
			if !n.Voter || !n.Healthy || n.State == "unreachable" {
				return false
			}
		}
		return true
	})

	// A write through a follower is applied there before Propose returns,
	// however long its apply takes.
	propose(t, members[1].node, user("via-follower"))
	if _, err := members[1].store.SQL.UserByName(ctx, "via-follower"); err != nil {
		t.Fatalf("the follower that forwarded the write does not see it: %v", err)
	}
	// A domain error travels back from the leader with its code.
	err = members[2].node.Propose(ctx, user("via-follower"))
	if code := appliance.ErrorCode(err); code != appliance.ECONFLICT {
		t.Fatalf("duplicate user through a follower: %v (code %q), want a conflict", err, code)
	}

	// Remove a follower; the others see two members.
	if err := members[1].node.Remove(ctx, members[2].node.ID); err != nil {
		t.Fatalf("remove: %v", err)
	}
	waitFor(t, "two members", func() bool {
		st, err := first.node.Status(ctx)
		return err == nil && len(st.Nodes) == 2
	})
	if err := first.node.Remove(ctx, "node-nosuch"); appliance.ErrorCode(err) != appliance.ENOTFOUND {
		t.Fatalf("remove an unknown node: %v", err)
	}
	waitFor(t, "same state on the remaining members", func() bool {
		d0, a0 := storetest.MustDigest(t, first.store)
		d1, a1 := storetest.MustDigest(t, members[1].store)
		return a0 == a1 && d0 == d1
	})
}

func TestJoinRefusals(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	st := storetest.MustOpenStoreAt(t, filepath.Join(dir, "state"))
	pki, err := cluster.EnsurePKI(dir, addr)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(dir, addr, st, nodeOpts{})
	cfg.PKI = pki
	n, err := cluster.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	good, _, err := n.JoinToken(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	expired, err := pki.NewJoinToken(time.Now().Add(-2*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := testPKI().NewJoinToken(time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, c := range []struct{ name, token, want string }{
		{"not a token", "nope", "not a join token"},
		{"malformed", "xdrj1_!!", "malformed"},
		{"expired", expired, "expired"},
		{"foreign cluster", foreign, "not from the cluster CA"},
		{"tampered MAC", good[:len(good)-3] + "AAA", "not valid for this cluster"},
	} {
		t.Run(c.name, func(t *testing.T) {
			joiner := t.TempDir()
			_, err := cluster.Join(ctx, joiner, []string{addr}, c.token, "node-joiner", freeAddr(t))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("join with %s: %v, want %q", c.name, err, c.want)
			}
			if cluster.HasPKI(joiner) {
				t.Fatal("a refused join wrote credentials")
			}
		})
	}
	if _, err := cluster.Join(ctx, t.TempDir(), nil, good, "node-x", freeAddr(t)); err == nil {
		t.Fatal("join without a member address succeeded")
	}
	if _, err := cluster.Join(ctx, t.TempDir(), []string{freeAddr(t)}, good, "node-x", freeAddr(t)); err == nil || !strings.Contains(err.Error(), "could not reach") {
		t.Fatalf("join with nobody listening: %v", err)
	}
}
