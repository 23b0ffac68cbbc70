package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minixdr/xdr/cluster"
)

// Three real xdr processes on loopback form a cluster the way an operator
// builds one: bootstrap, `xdr cluster token`, `xdr serve --join`.

const clusterPassword = "cluster-test-password-1"

var clusterEnv = []string{"XDR_ADMIN_PASSWORD=" + clusterPassword}

// clusterStatus is GET /api/v1/cluster.
type clusterStatus struct {
	Leader string `json:"leader"`
	Self   string `json:"self"`
	Nodes  []struct {
		ID       string `json:"id"`
		Address  string `json:"address"`
		State    string `json:"state"`
		Voter    bool   `json:"voter"`
		Healthy  bool   `json:"healthy"`
		Applied  uint64 `json:"applied_index"`
		LogFirst uint64 `json:"log_first_index"`
		Lag      uint64 `json:"lag"`
	} `json:"nodes"`
}

func (n *node) id() string {
	n.t.Helper()
	b, err := os.ReadFile(filepath.Join(n.dir, "node-id"))
	if err != nil {
		n.t.Fatalf("read node id: %v", err)
	}
	return strings.TrimSpace(string(b))
}

// joinToken runs `xdr cluster token` on n and returns the last line.
func joinToken(t testing.TB, n *node, extra ...string) string {
	t.Helper()
	r := runCLI(t, nil, append([]string{"cluster", "token", "--data-dir", n.dir}, extra...)...)
	if r.code != 0 {
		t.Fatalf("cluster token: exit %d: %s", r.code, r.stderr)
	}
	tok := lastLine(r.stdout)
	if !strings.HasPrefix(tok, "xdrj1_") || strings.ContainsAny(tok, " \t") {
		t.Fatalf("cluster token: last line %q is not a token alone", tok)
	}
	return tok
}

// startCluster bootstraps one node and joins size-1 more to it, then waits
// until all are healthy voters.
func startCluster(t testing.TB, size int, env ...string) []*node {
	t.Helper()
	env = append(env, clusterEnv...)
	first := startNode(t, env...)
	tok := joinToken(t, first)
	nodes := []*node{first}
	for i := 1; i < size; i++ {
		nodes = append(nodes, startNodeWith(t, []string{"--join", first.cluster, "--join-token", tok}, env...))
	}
	waitHealthyVoters(t, nodes, size)
	return nodes
}

func (n *node) status(token string) (int, clusterStatus) {
	n.t.Helper()
	st, _, b, err := n.do("GET", "/api/v1/cluster", token, nil, nil)
	var cs clusterStatus
	if err != nil {
		return 0, cs
	}
	if st == http.StatusOK {
		if err := json.Unmarshal(b, &cs); err != nil {
			n.t.Fatalf("decode cluster status %s: %v", b, err)
		}
	}
	return st, cs
}

func sessionToken(t testing.TB, n *node) string {
	t.Helper()
	deadline := time.Now().Add(readyTimeout)
	for {
		st, tok := n.login("admin", clusterPassword)
		if st == http.StatusOK {
			return tok
		}
		if time.Now().After(deadline) {
			t.Fatalf("admin login on %s: status %d", n.http, st)
		}
		time.Sleep(pollInterval)
	}
}

// waitHealthyVoters polls until every node reports the same leader and
// want healthy voters.
func waitHealthyVoters(t testing.TB, nodes []*node, want int) {
	t.Helper()
	tok := sessionToken(t, nodes[0])
	deadline := time.Now().Add(60 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		leaders := map[string]bool{}
		ok := true
		for _, n := range nodes {
			st, cs := n.status(tok)
			voters := 0
			for _, m := range cs.Nodes {
				if m.Voter && m.Healthy {
					voters++
				}
			}
			leaders[cs.Leader] = true
			if st != http.StatusOK || cs.Leader == "" || voters != want || len(cs.Nodes) != want {
				ok = false
				last = fmt.Sprintf("%s: status %d, %+v", n.http, st, cs)
			}
		}
		if ok && len(leaders) == 1 {
			return
		}
		time.Sleep(pollInterval)
	}
	t.Fatalf("cluster did not reach %d healthy voters under one leader; last: %s", want, last)
}

// leaderOf returns the node that leads, as nodes[0..] see it.
func leaderOf(t testing.TB, nodes []*node, tok string) *node {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, n := range nodes {
			if !n.running() {
				continue
			}
			st, cs := n.status(tok)
			if st != http.StatusOK || cs.Leader == "" {
				continue
			}
			for _, m := range nodes {
				if m.id() == cs.Leader && m.running() {
					return m
				}
			}
		}
		time.Sleep(pollInterval)
	}
	t.Fatal("no leader among the running nodes")
	return nil
}

func (n *node) running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	select {
	case <-n.done:
		return false
	default:
		return n.cmd != nil
	}
}

// digest asks the node's admin socket for its state digest.
func (n *node) digest() (string, uint64) {
	n.t.Helper()
	var out struct {
		Digest  string `json:"digest"`
		Applied uint64 `json:"applied"`
	}
	if err := adminCall(n.t.Context(), n.dir, "/admin/state/digest", struct{}{}, &out); err != nil {
		if strings.Contains(err.Error(), "catching up after a restart") {
			return "", 0 // replaying the log after a kill: not at one index yet
		}
		n.t.Fatalf("state digest of %s: %v", n.dir, err)
	}
	return out.Digest, out.Applied
}

// waitSameState polls until all nodes applied the same index and then
// requires equal digests.
func waitSameState(t testing.TB, nodes []*node) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		digests := map[string]bool{}
		applied := map[uint64]bool{}
		for _, n := range nodes {
			d, a := n.digest()
			digests[d] = true
			applied[a] = true
		}
		if len(applied) == 1 && !applied[0] {
			if len(digests) != 1 {
				t.Fatalf("nodes at the same applied index have different state digests: %v", digests)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nodes did not converge to one applied index: %v", applied)
		}
		time.Sleep(pollInterval)
	}
}

func TestClusterFormsAndServesWritesFromAnyNode(t *testing.T) {
	nodes := startCluster(t, 3)
	tok := sessionToken(t, nodes[1]) // a session made through a follower
	leader := leaderOf(t, nodes, tok)
	for i, n := range nodes {
		res := n.mustIngest(tok, ndjson(t, ev{"message": fmt.Sprintf("from node %d", i), "host.name": "h1"}), ingestOpts{})
		if res.Accepted != 1 {
			t.Fatalf("node %d accepted %d", i, res.Accepted)
		}
		// Read-your-writes on the node that took the write.
		if got := n.count(tok, fmt.Sprintf("message:%q", fmt.Sprintf("from node %d", i))); got != 1 {
			t.Fatalf("node %d sees %d of its own event right after the write", i, got)
		}
	}
	waitSameState(t, nodes)
	for _, n := range nodes {
		if got := n.count(tok, "host.name:h1"); got != 3 {
			t.Fatalf("%s has %d events, want 3", n.http, got)
		}
	}
	// The CLI shows the same picture.
	r := runCLI(t, nil, "cluster", "status", "--data-dir", nodes[2].dir)
	if r.code != 0 || !strings.Contains(r.stdout, leader.id()) || strings.Count(r.stdout, "follower") != 2 || strings.Count(r.stdout, "leader") != 1 {
		t.Fatalf("cluster status: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestClusterJoinRefusals(t *testing.T) {
	first := startNode(t, clusterEnv...)
	other := startNode(t, clusterEnv...)
	good := joinToken(t, first)
	expiring := joinToken(t, first, "--ttl", "1s")
	for _, c := range []struct {
		name, token, want string
	}{
		{"garbage", "xdrj1_not-a-token", "malformed"},
		{"not a token", "hello", "not a join token"},
		{"another cluster's token", joinToken(t, other), "not from the cluster CA"},
		{"tampered", good[:len(good)-4] + "AAAA", "not valid for this cluster"},
		{"expired", expiring, "expired"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "expired" {
				tk, err := cluster.ParseJoinToken(c.token)
				if err != nil {
					t.Fatal(err)
				}
				for !time.Now().After(tk.Expires) {
					time.Sleep(100 * time.Millisecond) // waiting for the clock, not for a process
				}
			}
			dir := filepath.Join(t.TempDir(), "data")
			r := runServeUntilExit(t, dir, first.cluster, c.token)
			if r.code == 0 || !strings.Contains(r.stderr, c.want) {
				t.Fatalf("join with %s: exit %d, stderr %q, want it to mention %q", c.name, r.code, r.stderr, c.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "tls", "cluster.secret")); err == nil {
				t.Fatal("a refused join left cluster credentials behind")
			}
		})
	}
	tok := sessionToken(t, first)
	if _, cs := first.status(tok); len(cs.Nodes) != 1 {
		t.Fatalf("refused joins changed the membership: %+v", cs)
	}
}

// runServeUntilExit runs `xdr serve --join` that is expected to fail fast.
func runServeUntilExit(t *testing.T, dir, join, token string) cliResult {
	t.Helper()
	return runCLI(t, nil, "serve", "--data-dir", dir, "--http", freeAddr(t), "--cluster-addr", freeAddr(t),
		"--gossip-addr", freeAddr(t), "--join", join, "--join-token", token)
}

func TestClusterChaosKeepsEveryAcknowledgedEventOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos test runs in the full suite")
	}
	nodes := startCluster(t, 3)
	tok := sessionToken(t, nodes[0])
	const batchSize = 20
	var acked atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var failures atomic.Int64
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var evs []ev
				for j := 0; j < batchSize; j++ {
					evs = append(evs, ev{"message": "chaos", "seq": fmt.Sprintf("w%d-%d-%d", w, i, j)})
				}
				body := ndjson(t, evs...)
				key := fmt.Sprintf("chaos-w%d-%d", w, i)
				deadline := time.Now().Add(90 * time.Second)
				for try := 0; ; try++ {
					n := nodes[(w+i+try)%len(nodes)]
					st, res, _, err := n.ingest(tok, body, ingestOpts{idemKey: key})
					if err == nil && st == http.StatusOK && res.Accepted == batchSize {
						acked.Add(1)
						break
					}
					if time.Now().After(deadline) {
						failures.Add(1)
						t.Errorf("batch %s not acknowledged within 90 s (last status %d, err %v)", key, st, err)
						return
					}
					time.Sleep(20 * time.Millisecond) // client back-off between retries
				}
			}
		}()
	}
	progress := func(more int64) {
		t.Helper()
		target := acked.Load() + more
		deadline := time.Now().Add(90 * time.Second)
		for acked.Load() < target {
			if time.Now().After(deadline) || failures.Load() > 0 {
				t.Fatalf("ingest stalled at %d acknowledged batches", acked.Load())
			}
			time.Sleep(pollInterval)
		}
	}
	progress(20)
	// kill -9: the leader, a follower, the leader again.
	for round, pickLeader := range []bool{true, false, true} {
		leader := leaderOf(t, nodes, tok)
		victim := leader
		if !pickLeader {
			for _, n := range nodes {
				if n != leader {
					victim = n
					break
				}
			}
		}
		t.Logf("round %d: kill -9 %s (leader %v)", round, victim.id(), pickLeader)
		victim.kill9()
		progress(20)
		victim.restart()
		progress(20)
	}
	// Rolling restart with SIGTERM.
	for _, n := range nodes {
		n.stop()
		progress(10)
		n.restart()
		progress(10)
	}
	close(stop)
	wg.Wait()
	if failures.Load() > 0 {
		t.FailNow()
	}
	waitSameState(t, nodes)
	want := int(acked.Load()) * batchSize
	for _, n := range nodes {
		evs := n.searchAll(tok, "message:chaos", 1000, nil)
		seen := map[string]int{}
		for _, e := range evs {
			orig, _ := e["original"].(map[string]any)
			seq, _ := orig["seq"].(string)
			seen[seq]++
		}
		if len(evs) != want || len(seen) != want {
			t.Fatalf("%s holds %d chaos events (%d distinct), want %d acknowledged, each once", n.http, len(evs), len(seen), want)
		}
	}
	t.Logf("%d batches (%d events) acknowledged through kills and restarts; all nodes hold each once", acked.Load(), want)
}

func TestClusterNodeCatchesUpBySnapshotAfterLogTruncation(t *testing.T) {
	nodes := startCluster(t, 3, "XDR_RAFT_SNAPSHOT_THRESHOLD=64")
	tok := sessionToken(t, nodes[0])
	leader := leaderOf(t, nodes, tok)
	var lagging *node
	for _, n := range nodes {
		if n != leader {
			lagging = n
			break
		}
	}
	_, stoppedAt := lagging.digest()
	lagging.stop()
	// Write until the leader's log no longer holds the entry after the
	// lagging node's last one: only a snapshot can bring it back.
	deadline := time.Now().Add(2 * time.Minute)
	for i := 0; ; i++ {
		leader.mustIngest(tok, ndjson(t, ev{"message": "while down", "seq": i}), ingestOpts{})
		_, cs := leader.status(tok)
		var first uint64
		for _, m := range cs.Nodes {
			if m.ID == leader.id() {
				first = m.LogFirst
			}
		}
		if first > stoppedAt+1 && i >= 100 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("leader's log was not compacted past index %d (first index %d)", stoppedAt, first)
		}
	}
	lagging.restart()
	waitHealthyVoters(t, nodes, 3)
	waitSameState(t, nodes)
	want := leader.count(tok, `message:"while down"`)
	if got := lagging.count(tok, `message:"while down"`); got != want || want < 100 {
		t.Fatalf("restarted node has %d of the %d events written while it was down", got, want)
	}
}

// BenchmarkLeaderFailover measures, per iteration, the time from kill -9
// of the leader to the first write the survivors accept (a client that
// retries every 10 ms on another node). Run:
//
//	go test -run '^$' -bench LeaderFailover -benchtime 10x ./cmd/xdr/
func BenchmarkLeaderFailover(b *testing.B) {
	nodes := startCluster(b, 3)
	tok := sessionToken(b, nodes[0])
	var times []time.Duration
	for i := 0; b.Loop(); i++ {
		leader := leaderOf(b, nodes, tok)
		var others []*node
		for _, n := range nodes {
			if n != leader {
				others = append(others, n)
			}
		}
		body := ndjson(b, ev{"message": "failover", "round": i})
		start := time.Now()
		leader.kill9()
		for try := 0; ; try++ {
			st, _, _, err := others[try%2].ingest(tok, body, ingestOpts{idemKey: fmt.Sprintf("failover-%d", i)})
			if err == nil && st == http.StatusOK {
				break
			}
			if time.Since(start) > time.Minute {
				b.Fatalf("no write accepted within a minute of killing the leader (last status %d, %v)", st, err)
			}
			time.Sleep(10 * time.Millisecond) // client retry interval
		}
		times = append(times, time.Since(start))
		leader.restart()
		waitHealthyVoters(b, nodes, 3)
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Milliseconds()), "p50-ms")
	b.ReportMetric(float64(times[len(times)-1].Milliseconds()), "max-ms")
	b.ReportMetric(0, "ns/op")
}

// freeAddrOn returns an address on ip whose port was free a moment ago.
func freeAddrOn(t testing.TB, ip string) string {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatalf("pick a free port on %s: %v", ip, err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestClusterPartitionedNodeRefusesWritesAndHeals(t *testing.T) {
	ips := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}
	var nodes []*node
	var proxies []*faultProxy
	var tok string
	for i, ip := range ips {
		bind := freeAddrOn(t, ip)
		p := newFaultProxy(t, ip+":0", bind)
		proxies = append(proxies, p)
		args := []string{"--cluster-addr", bind, "--cluster-advertise", p.addr(), "--gossip-addr", freeAddrOn(t, ip)}
		if i > 0 {
			args = append(args, "--join", proxies[0].addr(), "--join-token", tok)
		}
		nodes = append(nodes, startNodeWith(t, args, clusterEnv...))
		if i == 0 {
			tok = joinToken(t, nodes[0])
		}
	}
	waitHealthyVoters(t, nodes, 3)
	session := sessionToken(t, nodes[0])
	nodes[0].mustIngest(session, ndjson(t, ev{"message": "before the partition"}), ingestOpts{})

	// Cut the leader off: nothing reaches it, nothing from it gets through.
	leader := leaderOf(t, nodes, session)
	k := slices.Index(nodes, leader)
	proxies[k].blockAll()
	for j, p := range proxies {
		if j != k {
			p.blockFrom(ips[k])
		}
	}
	t.Logf("isolated the leader %s", leader.id())

	// The isolated node answers writes with 503 and a reason, promptly.
	deadline := time.Now().Add(30 * time.Second)
	for {
		start := time.Now()
		st, _, body, err := leader.ingest(session, ndjson(t, ev{"message": "to the minority"}), ingestOpts{})
		if took := time.Since(start); took > 15*time.Second {
			t.Fatalf("a write to the isolated node took %v: it must be refused, not hang", took)
		}
		if err == nil && st == http.StatusServiceUnavailable && strings.Contains(string(body), "no cluster leader") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("isolated node still answers writes with %d %s (%v)", st, body, err)
		}
		time.Sleep(pollInterval)
	}
	if st, _, _, _ := leader.do("GET", "/healthz/ready", "", nil, nil); st != http.StatusServiceUnavailable {
		t.Fatalf("isolated node reports ready (%d)", st)
	}

	// The majority elects a leader and goes on taking writes.
	majority := slices.Delete(slices.Clone(nodes), k, k+1)
	deadline = time.Now().Add(30 * time.Second)
	for i := 0; i < 20; {
		st, _, _, err := majority[i%2].ingest(session, ndjson(t, ev{"message": "during the partition", "n": i}), ingestOpts{idemKey: fmt.Sprint("partition-", i)})
		if err == nil && st == http.StatusOK {
			i++
			continue
		}
		if time.Now().After(deadline) {
			t.Fatalf("the majority does not accept writes (status %d, %v)", st, err)
		}
		time.Sleep(pollInterval)
	}

	// Heal: the old leader catches up and all converge.
	for _, p := range proxies {
		p.heal()
	}
	waitHealthyVoters(t, nodes, 3)
	waitSameState(t, nodes)
	for _, n := range nodes {
		if got := n.count(session, `message:"during the partition"`); got != 20 {
			t.Fatalf("%s has %d of the 20 writes made during the partition", n.http, got)
		}
		if got := n.count(session, `message:"to the minority"`); got != 0 {
			t.Fatalf("%s stored %d writes the isolated node refused", n.http, got)
		}
	}
}

func TestClusterReplaceDeadNode(t *testing.T) {
	nodes := startCluster(t, 3)
	session := sessionToken(t, nodes[0])
	leader := leaderOf(t, nodes, session)
	var dead *node
	for _, n := range nodes {
		if n != leader {
			dead = n
		}
	}
	deadID := dead.id()
	dead.kill9()
	// The cluster shows the dead node as down; writes go on with two of three.
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, cs := leader.status(session)
		down := false
		for _, m := range cs.Nodes {
			down = down || (m.ID == deadID && !m.Healthy)
		}
		if down {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the killed node still shows healthy: %+v", cs)
		}
		time.Sleep(pollInterval)
	}
	leader.mustIngest(session, ndjson(t, ev{"message": "with one node down"}), ingestOpts{})

	r := runCLI(t, nil, "cluster", "remove", deadID, "--data-dir", leader.dir)
	if r.code != 0 || !strings.Contains(r.stdout, deadID) {
		t.Fatalf("cluster remove: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, nil, "cluster", "remove", deadID, "--data-dir", leader.dir); r.code == 0 || !strings.Contains(r.stderr, "not a cluster member") {
		t.Fatalf("removing it twice: exit %d: %s", r.code, r.stderr)
	}
	replacement := startNodeWith(t, []string{"--join", leader.cluster, "--join-token", joinToken(t, leader)}, clusterEnv...)
	var live []*node
	for _, n := range nodes {
		if n != dead {
			live = append(live, n)
		}
	}
	live = append(live, replacement)
	waitHealthyVoters(t, live, 3)
	waitSameState(t, live)
	if got := replacement.count(session, `message:"with one node down"`); got != 1 {
		t.Fatalf("the replacement node has %d of the events written before it joined", got)
	}
}
