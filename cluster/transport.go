package cluster

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// One port carries all node-to-node traffic over TLS 1.3. The first byte a
// client sends after the handshake says what the connection is for; Raft
// and RPC require a client certificate from the cluster CA, a join does
// not (the joining node has none yet; it proves itself with its token).
const (
	connRaft byte = 'R'
	connRPC  byte = 'C'
	connJoin byte = 'J'
)

const handshakeTimeout = 10 * time.Second

var errTransportClosed = errors.New("cluster transport closed")

// transport is the listener of the cluster port and the dialer to peers.
// It is Raft's stream layer; RPC and join connections go to their handlers.
type transport struct {
	pki       *PKI
	ln        net.Listener
	advertise net.Addr
	localAddr net.Addr // source address of outgoing connections (nil: any)
	log       *slog.Logger

	raftConns  chan net.Conn
	handleRPC  func(net.Conn)
	handleJoin func(net.Conn)

	closeOnce sync.Once
	closed    chan struct{}
}

var _ raft.StreamLayer = (*transport)(nil)

// listen opens the cluster port. Outgoing connections leave from the
// listen IP when it is a specific one, so a multi-homed host (or a test
// with one loopback IP per node) talks from the address peers know.
func listen(pki *PKI, bind, advertise string, log *slog.Logger) (*transport, error) {
	adv, err := net.ResolveTCPAddr("tcp", advertise)
	if err != nil {
		return nil, fmt.Errorf("cluster address %q (advertised to peers): %w", advertise, err)
	}
	if adv.IP == nil || adv.IP.IsUnspecified() {
		return nil, fmt.Errorf("cluster advertise address %q must be an address peers can reach, not a wildcard (set --cluster-advertise)", advertise)
	}
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, fmt.Errorf("listen on cluster address %s: %w", bind, err)
	}
	t := &transport{pki: pki, ln: ln, advertise: adv, log: log,
		raftConns: make(chan net.Conn), closed: make(chan struct{})}
	if host, _, err := net.SplitHostPort(bind); err == nil {
		if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
			t.localAddr = &net.TCPAddr{IP: ip}
		}
	}
	return t, nil
}

// serve accepts connections until Close; handlers must be set first.
func (t *transport) serve() {
	for {
		c, err := t.ln.Accept()
		if err != nil {
			select {
			case <-t.closed:
				return
			default:
			}
			t.log.Warn("cluster accept failed", "err", err)
			time.Sleep(50 * time.Millisecond) // e.g. out of file descriptors: don't spin
			continue
		}
		go t.dispatch(c)
	}
}

func (t *transport) dispatch(raw net.Conn) {
	c := tls.Server(raw, t.pki.serverTLS())
	c.SetDeadline(time.Now().Add(handshakeTimeout))
	var kind [1]byte
	if err := c.Handshake(); err != nil {
		t.log.Debug("cluster TLS handshake failed", "remote", raw.RemoteAddr(), "err", err)
		c.Close()
		return
	}
	if _, err := io.ReadFull(c, kind[:]); err != nil {
		c.Close()
		return
	}
	c.SetDeadline(time.Time{})
	verified := len(c.ConnectionState().VerifiedChains) > 0
	if !verified && kind[0] != connJoin {
		t.log.Warn("refused a cluster connection without a cluster certificate", "remote", raw.RemoteAddr(), "kind", string(kind[:]))
		c.Close()
		return
	}
	switch kind[0] {
	case connRaft:
		select {
		case t.raftConns <- c:
		case <-t.closed:
			c.Close()
		}
	case connRPC:
		t.handleRPC(c)
	case connJoin:
		t.handleJoin(c)
	default:
		c.Close()
	}
}

// dial opens a verified connection of one kind to a peer.
func (t *transport) dial(addr string, kind byte, timeout time.Duration) (net.Conn, error) {
	d := &net.Dialer{Timeout: timeout, LocalAddr: t.localAddr}
	c, err := tls.DialWithDialer(d, "tcp", addr, t.pki.clientTLS())
	if err != nil {
		return nil, err
	}
	c.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte{kind}); err != nil {
		c.Close()
		return nil, err
	}
	c.SetWriteDeadline(time.Time{})
	return c, nil
}

// Dial is Raft's outgoing connection.
func (t *transport) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return t.dial(string(addr), connRaft, timeout)
}

// Accept is Raft's incoming connection.
func (t *transport) Accept() (net.Conn, error) {
	select {
	case c := <-t.raftConns:
		return c, nil
	case <-t.closed:
		return nil, errTransportClosed
	}
}

// Close stops the listener; Raft calls it when its transport closes.
func (t *transport) Close() error {
	var err error
	t.closeOnce.Do(func() {
		close(t.closed)
		err = t.ln.Close()
	})
	return err
}

// Addr is the address peers reach this node at.
func (t *transport) Addr() net.Addr { return t.advertise }
