package cluster

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/command"
)

// StateMachine is what the node applies the log to. Besides raft.FSM it
// reports how far its durable state goes, so a restart replays only what is
// missing instead of reloading a snapshot into stores that already hold it.
type StateMachine interface {
	raft.FSM
	// Applied is the last log index the durable stores reflect.
	Applied() uint64
	// RestoreFrom replaces the state with a snapshot stream.
	RestoreFrom(r io.Reader) (uint64, error)
}

// Config configures a node. Zero timeouts take production defaults.
type Config struct {
	DataDir string // the node keeps raft/ and node-id here
	Addr    string // host:port the cluster port listens on (Raft and RPC)
	// Advertise is the address peers reach this node at (default Addr).
	Advertise string
	PKI       *PKI // the cluster credentials; see NewPKI, LoadPKI and Join
	// GossipAddr is where memberlist listens ("" runs no gossip); GossipPeers
	// are addresses to meet others at besides those known from before.
	GossipAddr  string
	GossipPeers []string
	FSM         StateMachine
	Log         *slog.Logger
	LogOutput   io.Writer             // where Raft's own (hclog) messages go; nil: discarded
	Metrics     prometheus.Registerer // may be nil

	HeartbeatTimeout time.Duration
	ElectionTimeout  time.Duration
	ApplyTimeout     time.Duration // how long Propose waits to enqueue
	Now              func() time.Time
	// SnapshotThreshold is how many log entries trigger a snapshot.
	SnapshotThreshold uint64
}

// Node is one member of the Raft cluster.
type Node struct {
	ID     string
	raft   *raft.Raft
	logs   *logStore
	snaps  *raft.FileSnapshotStore
	trans  *raft.NetworkTransport
	tr     *transport
	rpc    *rpcClient
	gossip *memberlist.Memberlist
	cfg    Config

	stop     chan struct{} // closed by Close: ends background loops
	loops    sync.WaitGroup
	stopOnce sync.Once

	applyLatency prometheus.Histogram
}

var _ command.Proposer = (*Node)(nil)

// Open starts the node's Raft machinery on existing or empty state. It does
// not bootstrap: call Bootstrap on a fresh data dir.
func Open(cfg Config) (*Node, error) {
	if cfg.ApplyTimeout == 0 {
		cfg.ApplyTimeout = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Advertise == "" {
		cfg.Advertise = cfg.Addr
	}
	if cfg.PKI == nil {
		return nil, errors.New("cluster: no credentials (PKI) given")
	}
	raftDir := filepath.Join(cfg.DataDir, "raft")
	if err := os.MkdirAll(raftDir, 0o700); err != nil {
		return nil, fmt.Errorf("create raft dir: %w", err)
	}
	id, err := NodeID(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	hlog := hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: orDiscard(cfg.LogOutput), JSONFormat: true})

	logs, err := openLogStore(filepath.Join(raftDir, "raft.db"))
	if err != nil {
		return nil, err
	}
	closeLog := func() { logs.Close() }
	snaps, err := raft.NewFileSnapshotStoreWithLogger(raftDir, 2, hlog.Named("snapshots"))
	if err != nil {
		closeLog()
		return nil, fmt.Errorf("open snapshot store: %w", err)
	}
	if err := recoverFromSnapshot(cfg.FSM, snaps, cfg.Log); err != nil {
		closeLog()
		return nil, err
	}
	tr, err := listen(cfg.PKI, cfg.Addr, cfg.Advertise, cfg.Log)
	if err != nil {
		closeLog()
		return nil, err
	}
	trans := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: tr, MaxPool: 3, Timeout: 10 * time.Second, Logger: hlog.Named("transport"),
	})
	self := raft.Server{ID: raft.ServerID(id), Address: raft.ServerAddress(cfg.Advertise), Suffrage: raft.Voter}
	if err := seedRestored(cfg.DataDir, self, cfg.FSM, logs, logs, snaps, trans, cfg.Log); err != nil {
		trans.Close()
		closeLog()
		return nil, err
	}

	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(id)
	rc.Logger = hlog
	rc.NoSnapshotRestoreOnStart = true // the stores are durable; see recoverFromSnapshot
	rc.SnapshotThreshold = 2048
	rc.TrailingLogs = 1024
	rc.SnapshotInterval = 5 * time.Minute
	rc.MaxAppendEntries = 32
	if cfg.SnapshotThreshold > 0 {
		rc.SnapshotThreshold = cfg.SnapshotThreshold
		rc.TrailingLogs = cfg.SnapshotThreshold / 2
		rc.SnapshotInterval = time.Second
	}
	if cfg.HeartbeatTimeout > 0 {
		rc.HeartbeatTimeout, rc.LeaderLeaseTimeout = cfg.HeartbeatTimeout, cfg.HeartbeatTimeout/2
	}
	if cfg.ElectionTimeout > 0 {
		rc.ElectionTimeout = cfg.ElectionTimeout
	}
	r, err := raft.NewRaft(rc, cfg.FSM, logs, logs, snaps, trans)
	if err != nil {
		trans.Close()
		closeLog()
		return nil, fmt.Errorf("start raft: %w", err)
	}
	n := &Node{ID: id, raft: r, logs: logs, snaps: snaps, trans: trans, tr: tr, cfg: cfg,
		rpc: newRPCClient(tr), stop: make(chan struct{}),
		applyLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "xdr_raft_apply_seconds",
			Help:    "Time from proposing a command to its being committed and applied on this node.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		})}
	if cfg.Metrics != nil {
		cfg.Metrics.MustRegister(n.applyLatency)
	}
	tr.handleRPC = func(c net.Conn) { serveRPC(c, n.handleRPC) }
	tr.handleJoin = n.serveJoin
	go tr.serve()
	if cfg.GossipAddr != "" {
		if err := n.startGossip(cfg.GossipPeers); err != nil {
			n.Close()
			return nil, err
		}
	}
	n.loops.Add(1)
	go n.promoteWhenCaughtUp()
	return n, nil
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// recoverFromSnapshot loads the newest snapshot into the state machine when
// the durable stores are behind it (a data dir restored from raft files
// only, or stores lost their tail): Raft replays only entries after the
// snapshot, so anything older must come from it.
func recoverFromSnapshot(fsm StateMachine, snaps *raft.FileSnapshotStore, log *slog.Logger) error {
	metas, err := snaps.List()
	if err != nil {
		return fmt.Errorf("list snapshots: %w", err)
	}
	if len(metas) == 0 || fsm.Applied() >= metas[0].Index {
		return nil
	}
	log.Info("stores are behind the latest snapshot; restoring it", "applied", fsm.Applied(), "snapshot", metas[0].Index)
	_, rc, err := snaps.Open(metas[0].ID)
	if err != nil {
		return fmt.Errorf("open snapshot %s: %w", metas[0].ID, err)
	}
	defer rc.Close()
	if _, err := fsm.RestoreFrom(rc); err != nil {
		return fmt.Errorf("restore snapshot %s: %w", metas[0].ID, err)
	}
	return nil
}

// NodeID returns the node's permanent ID, creating it on first start.
func NodeID(dataDir string) (string, error) {
	path := filepath.Join(dataDir, "node-id")
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read node id: %w", err)
	}
	var r [6]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", err
	}
	id := "node-" + hex.EncodeToString(r[:])
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write node id: %w", err)
	}
	return id, nil
}

// HasState reports whether this node has ever been part of a cluster.
func (n *Node) HasState() (bool, error) {
	return raft.HasExistingState(n.logs, n.logs, n.snaps)
}

// Bootstrap makes this node a one-voter cluster. Only for a node with no
// state; a restarted node finds its configuration in its log.
func (n *Node) Bootstrap() error {
	// Stores that hold state without a Raft log to match (raft/ deleted,
	// or a data dir of a development build that kept its log elsewhere):
	// a new log would restart at index 1 and the stores would skip those
	// entries as applied, silently dropping writes.
	if applied := n.cfg.FSM.Applied(); applied > 0 {
		return fmt.Errorf("bootstrap cluster: the stores hold state up to log index %d but there is no Raft log or snapshot for it; refusing to start a new log over them (restore a backup into an empty data dir with `xdr restore`)", applied)
	}
	cfg := raft.Configuration{Servers: []raft.Server{{
		ID: raft.ServerID(n.ID), Address: raft.ServerAddress(n.cfg.Advertise), Suffrage: raft.Voter,
	}}}
	if err := n.raft.BootstrapCluster(cfg).Error(); err != nil {
		return fmt.Errorf("bootstrap cluster: %w", err)
	}
	return nil
}

// WaitLeader blocks until the cluster has a leader or ctx ends.
func (n *Node) WaitLeader(ctx context.Context) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, id := n.raft.LeaderWithID(); id != "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no cluster leader: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// Propose commits a command and waits until it is applied here. It returns
// the command's domain error, if any.
func (n *Node) Propose(ctx context.Context, c command.Command) error {
	data, err := command.Encode(c)
	if err != nil {
		return err
	}
	return n.ProposeEncoded(ctx, data)
}

// ProposeEncoded is Propose for an already encoded command. On a follower
// it forwards the command to the leader and, once the leader has applied
// it, waits until this node has too, so a read here sees the write.
func (n *Node) ProposeEncoded(ctx context.Context, data []byte) error {
	if n.raft.State() == raft.Leader {
		index, err := n.proposeLocal(ctx, data)
		if err == nil {
			// The state machine may still be writing the entry (the event
			// store writes behind the apply): a read after this sees it.
			n.waitApplied(ctx, index)
		}
		return err
	}
	out, err := n.leaderCall(ctx, opPropose, data)
	if err != nil {
		return err
	}
	if len(out) != 8 {
		return fmt.Errorf("leader answered a proposal with %d bytes", len(out))
	}
	n.waitApplied(ctx, binary.BigEndian.Uint64(out))
	return nil
}

// proposeLocal commits data on this node, which must lead, and returns the
// entry's index.
func (n *Node) proposeLocal(ctx context.Context, data []byte) (uint64, error) {
	if n.raft.State() != raft.Leader {
		return 0, appliance.ErrNotLeader
	}
	// A deadline already past would give raft.Apply a timeout <= 0, which
	// it reads as "wait forever" to enqueue.
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("propose: %w", err)
	}
	timeout := n.cfg.ApplyTimeout
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left <= 0 {
			return 0, fmt.Errorf("propose: %w", context.DeadlineExceeded)
		} else if left < timeout {
			timeout = left
		}
	}
	start := time.Now()
	f := n.raft.Apply(data, timeout)
	err := f.Error()
	n.applyLatency.Observe(time.Since(start).Seconds())
	if err != nil {
		return 0, mapRaftError(err)
	}
	if err, ok := f.Response().(error); ok && err != nil {
		return 0, err
	}
	return f.Index(), nil
}

// waitApplied waits (bounded) until this node's stores have applied index.
// It asks the state machine, not Raft: Raft counts an entry applied once it
// has handed it to the state machine, before the stores hold it.
func (n *Node) waitApplied(ctx context.Context, index uint64) {
	if n.cfg.FSM.Applied() >= index {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for n.cfg.FSM.Applied() < index {
		select {
		case <-ctx.Done():
			return // committed on a quorum; this node is just slow
		case <-tick.C:
		}
	}
}

func mapRaftError(err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader):
		return appliance.ErrNotLeader
	case errors.Is(err, raft.ErrLeadershipLost):
		// The entry may yet commit under the next leader: only a retry
		// with the same idempotency key is safe.
		return appliance.Errorf(appliance.EUNAVAILABLE, "cluster leadership changed while committing; the write may or may not have been stored: retry it with the same Idempotency-Key")
	case errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return appliance.Errorf(appliance.EUNAVAILABLE, "cluster leadership is being transferred; retry shortly")
	case errors.Is(err, raft.ErrRaftShutdown):
		return appliance.Errorf(appliance.EUNAVAILABLE, "this node is shutting down")
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return appliance.Errorf(appliance.EBUSY, "the cluster log is saturated; retry later")
	}
	return fmt.Errorf("commit: %w", err)
}

// IsLeader reports whether this node leads the cluster.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// Ready reports whether the node can serve: it knows a leader and has
// applied what it knows to be committed.
func (n *Node) Ready() bool {
	if _, id := n.raft.LeaderWithID(); id == "" {
		return false
	}
	return n.raft.AppliedIndex()+maxApplyLag >= n.raft.CommitIndex()
}

const maxApplyLag = 64

// Snapshot asks Raft for a snapshot now (log compaction).
func (n *Node) Snapshot() error { return n.raft.Snapshot().Error() }

// Close stops Raft (letting in-flight applies finish), then closes the
// transport and the log. Closing twice is harmless.
func (n *Node) Close() error {
	n.stopOnce.Do(func() { close(n.stop) })
	n.loops.Wait()
	n.stopGossip()
	err := n.raft.Shutdown().Error()
	n.rpc.close()
	return errors.Join(err, n.trans.Close(), n.logs.Close())
}
