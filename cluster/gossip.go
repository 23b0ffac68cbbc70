package cluster

import (
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/memberlist"
)

// Gossip (hashicorp/memberlist, encrypted with a key derived from the
// cluster secret) finds members and detects failures; it feeds node health
// into the cluster status. It never changes membership: only Raft's
// configuration says who is a member, changed by the leader.

const peersFile = "gossip-peers"

// startGossip creates the memberlist on cfg.GossipAddr and joins the
// peers it knew before plus extra.
func (n *Node) startGossip(extra []string) error {
	host, portStr, err := net.SplitHostPort(n.cfg.GossipAddr)
	if err != nil {
		return fmt.Errorf("gossip address %q: %w", n.cfg.GossipAddr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return fmt.Errorf("gossip address %q: bad port", n.cfg.GossipAddr)
	}
	mc := memberlist.DefaultLANConfig()
	mc.Name = n.ID
	mc.BindAddr, mc.BindPort = host, port
	advHost, _, _ := net.SplitHostPort(n.cfg.Advertise)
	if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
		advHost = host
	}
	mc.AdvertiseAddr, mc.AdvertisePort = advHost, port
	mc.SecretKey = n.cfg.PKI.derive("gossip")
	mc.GossipVerifyIncoming, mc.GossipVerifyOutgoing = true, true
	// Faster than the LAN defaults: a dead node shows within a few seconds.
	mc.ProbeInterval = 500 * time.Millisecond
	mc.ProbeTimeout = 250 * time.Millisecond
	mc.SuspicionMult = 3
	mc.Logger = log.New(io.Discard, "", 0)
	ml, err := memberlist.Create(mc)
	if err != nil {
		return fmt.Errorf("start gossip on %s: %w", n.cfg.GossipAddr, err)
	}
	n.gossip = ml
	known := readPeers(n.cfg.DataDir)
	n.loops.Add(1)
	go n.gossipLoop(append(slices.Clone(known), extra...), known)
	return nil
}

// gossipLoop joins the known peers (retrying while none answers) and
// keeps the peers file current so a restarted node finds the others.
func (n *Node) gossipLoop(peers, saved []string) {
	defer n.loops.Done()
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	joined := len(peers) == 0
	for {
		if !joined {
			if _, err := n.gossip.Join(peers); err == nil {
				joined = true
			}
		}
		saved = n.savePeers(saved)
		select {
		case <-n.stop:
			return
		case <-tick.C:
		}
	}
}

// savePeers writes the other members' gossip addresses when they differ
// from saved (what the file holds) and returns what the file holds now.
func (n *Node) savePeers(saved []string) []string {
	var addrs []string
	for _, m := range n.gossip.Members() {
		if m.Name != n.ID {
			addrs = append(addrs, m.Address())
		}
	}
	slices.Sort(addrs)
	if len(addrs) == 0 || slices.Equal(addrs, saved) {
		return saved
	}
	tmp := filepath.Join(n.cfg.DataDir, peersFile+".tmp")
	if err := os.WriteFile(tmp, []byte(strings.Join(addrs, "\n")+"\n"), 0o600); err != nil {
		return saved
	}
	if err := os.Rename(tmp, filepath.Join(n.cfg.DataDir, peersFile)); err != nil {
		return saved
	}
	return addrs
}

func readPeers(dataDir string) []string {
	b, err := os.ReadFile(filepath.Join(dataDir, peersFile))
	if err != nil {
		return nil
	}
	return strings.Fields(string(b))
}

// gossipAddr is the address others gossip with this node at.
func (n *Node) gossipAddr() string {
	if n.gossip == nil {
		return ""
	}
	return n.gossip.LocalNode().Address()
}

// gossipAlive reports which nodes gossip sees alive.
func (n *Node) gossipAlive() map[string]bool {
	alive := map[string]bool{}
	if n.gossip == nil {
		return alive
	}
	for _, m := range n.gossip.Members() {
		alive[m.Name] = m.State == memberlist.StateAlive
	}
	return alive
}

func (n *Node) stopGossip() {
	if n.gossip == nil {
		return
	}
	n.gossip.Leave(time.Second) //nolint:errcheck // best effort: peers notice the death anyway
	n.gossip.Shutdown()         //nolint:errcheck
}
