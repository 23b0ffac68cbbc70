package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/minixdr/xdr/cluster"
	"github.com/minixdr/xdr/storage"
)

// openClusterNode opens the Raft node of a data dir: with the credentials it
// has; or, when empty, by joining the cluster of --join (with the token)
// or by bootstrapping a new one-node cluster. It returns once the node
// knows a leader.
func openClusterNode(ctx context.Context, cfg Config, store *storage.Store, log *slog.Logger, stderr io.Writer, getenv func(string) string, reg prometheus.Registerer) (*cluster.Node, error) {
	advertise := cfg.ClusterAdvertise
	if advertise == "" {
		advertise = cfg.ClusterAddr
	}
	gossip, err := gossipAddr(cfg)
	if err != nil {
		return nil, err
	}
	id, err := cluster.NodeID(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	joining := len(cfg.Join) > 0 && !cluster.HasPKI(cfg.DataDir)
	var pki *cluster.PKI
	var peers []string
	if joining {
		log.Info("joining the cluster", "members", cfg.Join, "node", id)
		joinCtx, cancel := context.WithTimeout(ctx, time.Minute)
		res, err := cluster.Join(joinCtx, cfg.DataDir, cfg.Join, cfg.JoinToken, id, advertise)
		cancel()
		if err != nil {
			return nil, err
		}
		pki = res.PKI
		if res.Gossip != "" {
			peers = append(peers, res.Gossip)
		}
	} else if pki, err = cluster.EnsurePKI(cfg.DataDir, advertise); err != nil {
		return nil, err
	}
	threshold, _ := strconv.ParseUint(getenv("XDR_RAFT_SNAPSHOT_THRESHOLD"), 10, 64)
	node, err := cluster.Open(cluster.Config{
		DataDir: cfg.DataDir, Addr: cfg.ClusterAddr, Advertise: advertise, PKI: pki,
		GossipAddr: gossip, GossipPeers: peers, FSM: store, SnapshotThreshold: threshold,
		Log: log.With("component", "cluster"), LogOutput: stderr, Metrics: reg,
	})
	if err != nil {
		return nil, err
	}
	hasState, err := node.HasState()
	if err != nil {
		node.Close()
		return nil, err
	}
	switch {
	case hasState:
	case len(cfg.Join) > 0:
		addCtx, cancel := context.WithTimeout(ctx, time.Minute)
		err = node.AddSelf(addCtx, cfg.Join)
		cancel()
		if err != nil {
			node.Close()
			return nil, err
		}
		log.Info("added to the cluster as a non-voter; promoted to voter once caught up")
	default:
		log.Info("empty data dir: bootstrapping a one-node cluster", "node", node.ID, "data_dir", cfg.DataDir)
		if err := node.Bootstrap(); err != nil {
			node.Close()
			return nil, err
		}
	}
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = node.WaitLeader(waitCtx)
	cancel()
	if err != nil {
		node.Close()
		return nil, err
	}
	return node, nil
}

// gossipAddr is --gossip-addr, or the cluster port + 1 on the same host.
func gossipAddr(cfg Config) (string, error) {
	if cfg.GossipAddr != "" {
		return cfg.GossipAddr, nil
	}
	host, port, err := net.SplitHostPort(cfg.ClusterAddr)
	if err != nil {
		return "", fmt.Errorf("cluster-addr %q: %w", cfg.ClusterAddr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p == 0 || p >= 65535 {
		return "", fmt.Errorf("cluster-addr %q: set --gossip-addr explicitly", cfg.ClusterAddr)
	}
	return net.JoinHostPort(host, strconv.Itoa(p+1)), nil
}

const clusterUsage = `usage: xdr cluster token  [--ttl 1h] [--data-dir DIR]   print a join token
       xdr cluster status [--json] [--data-dir DIR]   nodes, roles, leader, health
       xdr cluster remove NODE_ID [--data-dir DIR]    take a node out of the cluster`

// clusterCommand runs `xdr cluster ...` against the node of --data-dir.
func clusterCommand(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		return fmt.Errorf("%s", clusterUsage)
	}
	fs := flag.NewFlagSet("cluster "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dataDir := fs.String("data-dir", orDefault(getenv("XDR_DATA_DIR"), "./data"), "data dir of the running node")
	ttl := fs.Duration("ttl", cluster.DefaultTokenTTL, "how long the token stays valid")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return fmt.Errorf("%v\n%s", err, clusterUsage)
	}
	switch args[0] {
	case "token":
		var out struct {
			Token   string    `json:"token"`
			Expires time.Time `json:"expires"`
			Join    string    `json:"join"`
		}
		if err := adminCall(ctx, *dataDir, "/admin/cluster/token", map[string]string{"ttl": ttl.String()}, &out); err != nil {
			return err
		}
		// The token alone on the last line, for scripts.
		fmt.Fprintf(stdout, "Join token, valid until %s. On the new node, with an empty data dir:\n  xdr serve --join %s --join-token TOKEN --cluster-addr ADDR ...\n%s\n",
			out.Expires.Format(time.RFC3339), out.Join, out.Token)
		return nil
	case "status":
		var st cluster.Status
		if err := adminCall(ctx, *dataDir, "/admin/cluster/status", struct{}{}, &st); err != nil {
			return err
		}
		if *asJSON {
			return writeJSONTo(stdout, st)
		}
		return printStatus(stdout, st)
	case "remove":
		if len(pos) != 1 {
			return fmt.Errorf("usage: xdr cluster remove NODE_ID [--data-dir DIR]")
		}
		if err := adminCall(ctx, *dataDir, "/admin/cluster/remove", map[string]string{"id": pos[0]}, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed %s from the cluster\n", pos[0])
		return nil
	}
	return fmt.Errorf("unknown cluster command %q\n%s", args[0], clusterUsage)
}

func printStatus(w io.Writer, st cluster.Status) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tADDRESS\tSTATE\tVOTER\tHEALTHY\tAPPLIED\tLAG\tLAST CONTACT")
	for _, n := range st.Nodes {
		contact := "-"
		if n.LastContact != nil {
			contact = time.Since(*n.LastContact).Round(time.Millisecond).String() + " ago"
		}
		id := n.ID
		if id == st.Self {
			id += " (this node)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%v\t%d\t%d\t%s\n", id, n.Address, n.State, n.Voter, n.Healthy, n.AppliedIndex, n.Lag, contact)
	}
	if st.Leader == "" {
		fmt.Fprintln(tw, "\nno leader: this node cannot reach a majority")
	}
	return tw.Flush()
}

func writeJSONTo(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
