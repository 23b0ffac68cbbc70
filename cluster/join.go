package cluster

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/minixdr/xdr/appliance"
)

// Joining is two steps. First the new node, which has no certificate,
// connects to a member with TLS pinned to the CA fingerprint in its token
// and trades the token for credentials (serveJoin / Join). Then, now a
// holder of a cluster certificate, it starts Raft and asks over mTLS RPC to
// be added as a non-voter (AddSelf); it is promoted once caught up.

type joinRequest struct {
	Token     string `json:"token"`
	NodeID    string `json:"node_id"`
	Advertise string `json:"advertise"`
}

type joinAnswer struct {
	Error    string `json:"error,omitempty"`
	CA       []byte `json:"ca,omitempty"`
	CAKey    []byte `json:"ca_key,omitempty"`
	Secret   []byte `json:"secret,omitempty"`
	NodeCert []byte `json:"node_cert,omitempty"`
	NodeKey  []byte `json:"node_key,omitempty"`
	Gossip   string `json:"gossip,omitempty"` // the member's gossip address
}

// serveJoin answers one join request on a connection from a node without
// a certificate.
func (n *Node) serveJoin(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	var req joinRequest
	if err := json.NewDecoder(io.LimitReader(c, 64<<10)).Decode(&req); err != nil {
		return
	}
	ans := n.admit(req)
	json.NewEncoder(c).Encode(ans) //nolint:errcheck // the joiner sees a closed connection
}

func (n *Node) admit(req joinRequest) joinAnswer {
	if err := n.cfg.PKI.checkJoinToken(req.Token, n.cfg.Now()); err != nil {
		n.cfg.Log.Warn("refused a join", "node", req.NodeID, "err", err)
		return joinAnswer{Error: appliance.ErrorMessage(err)}
	}
	if err := appliance.ValidName("node id", req.NodeID); err != nil {
		return joinAnswer{Error: appliance.ErrorMessage(err)}
	}
	if _, _, err := net.SplitHostPort(req.Advertise); err != nil {
		return joinAnswer{Error: fmt.Sprintf("node address %q: %v", req.Advertise, err)}
	}
	cert, key, err := n.cfg.PKI.issueNode(req.NodeID, req.Advertise)
	if err != nil {
		n.cfg.Log.Error("issue node certificate", "err", err)
		return joinAnswer{Error: "internal error"}
	}
	n.cfg.Log.Info("issued credentials to a joining node", "node", req.NodeID, "address", req.Advertise)
	p := n.cfg.PKI
	return joinAnswer{CA: p.CAPEM, CAKey: p.CAKeyPEM, Secret: p.Secret, NodeCert: cert, NodeKey: key, Gossip: n.gossipAddr()}
}

// JoinResult is what a successful join leaves: the credentials (already
// saved to the data dir) and a gossip address to meet the others at.
type JoinResult struct {
	PKI    *PKI
	Gossip string
}

// Join trades a join token for cluster credentials at one of addrs and
// saves them in dataDir. Nothing is written unless a member accepted it.
func Join(ctx context.Context, dataDir string, addrs []string, token, nodeID, advertise string) (JoinResult, error) {
	t, err := ParseJoinToken(token)
	if err != nil {
		return JoinResult{}, err
	}
	if !time.Now().Before(t.Expires) {
		return JoinResult{}, appliance.Errorf(appliance.EUNAUTHORIZED, "join token expired at %s; make a new one with `xdr cluster token` on a member", t.Expires.Format(time.RFC3339))
	}
	if len(addrs) == 0 {
		return JoinResult{}, errors.New("no member address to join (--join)")
	}
	var last error
	for _, addr := range addrs {
		ans, err := askToJoin(ctx, addr, t, joinRequest{Token: token, NodeID: nodeID, Advertise: advertise})
		if err != nil {
			last = err
			continue
		}
		if ans.Error != "" {
			return JoinResult{}, fmt.Errorf("member %s refused the join: %s", addr, ans.Error)
		}
		p, err := parseCA(ans.CA, ans.CAKey, ans.Secret)
		if err != nil {
			return JoinResult{}, fmt.Errorf("member %s sent unusable credentials: %w", addr, err)
		}
		if p.CAFingerprint() != t.CAFingerprint {
			return JoinResult{}, fmt.Errorf("member %s sent a CA other than the token's", addr)
		}
		if err := p.save(dataDir, ans.NodeCert, ans.NodeKey); err != nil {
			return JoinResult{}, err
		}
		return JoinResult{PKI: p, Gossip: ans.Gossip}, nil
	}
	return JoinResult{}, fmt.Errorf("could not reach a cluster member at %v: %w", addrs, last)
}

// askToJoin sends the request over TLS that trusts only a server whose
// chain holds the CA the token pins.
func askToJoin(ctx context.Context, addr string, t JoinToken, req joinRequest) (joinAnswer, error) {
	conf := &tls.Config{
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true, // replaced by the pin below: no CA is known yet
		VerifyConnection: func(cs tls.ConnectionState) error {
			return verifyPinned(cs.PeerCertificates, t.CAFingerprint)
		},
	}
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: conf}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return joinAnswer{}, err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	} else {
		c.SetDeadline(time.Now().Add(30 * time.Second))
	}
	if _, err := c.Write([]byte{connJoin}); err != nil {
		return joinAnswer{}, err
	}
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return joinAnswer{}, err
	}
	var ans joinAnswer
	if err := json.NewDecoder(io.LimitReader(c, 1<<20)).Decode(&ans); err != nil {
		return joinAnswer{}, fmt.Errorf("read join answer from %s: %w", addr, err)
	}
	return ans, nil
}

// verifyPinned accepts a chain whose leaf is signed by a CA certificate in
// the chain with the pinned fingerprint.
func verifyPinned(chain []*x509.Certificate, pin [32]byte) error {
	if len(chain) == 0 {
		return errors.New("member presented no certificate")
	}
	for _, c := range chain[1:] {
		if sha256.Sum256(c.Raw) != pin {
			continue
		}
		roots := x509.NewCertPool()
		roots.AddCert(c)
		_, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, DNSName: peerServerName})
		return err
	}
	return errors.New("member's certificate is not from the cluster CA the join token names (wrong address, or a token of another cluster)")
}
