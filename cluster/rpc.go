package cluster

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/minixdr/xdr/appliance"
)

// Node-to-node RPC: a request is one frame, the answer one frame, on
// connections pooled per peer (one call at a time per connection).
//
//	request:  op[1] | timeout-ms[4] | len[4] | body
//	answer:   status[1] | len[4] | body      status 0: ok, 1: error JSON
const (
	opPropose     byte = 1 // body: an encoded command; answer: applied log index[8]
	opStatus      byte = 2 // answer: JSON NodeStatus
	opAddNonvoter byte = 3 // body: JSON memberRequest; answer: JSON {"last_index"}
	opPromote     byte = 4 // body: JSON memberRequest
	opRemove      byte = 5 // body: JSON memberRequest
)

// maxFrame bounds a frame: an ingest batch is at most 32 MiB of body, and
// its encoding stays below twice that.
const maxFrame = 96 << 20

const maxIdlePerPeer = 16

type rpcError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// rpcHandler answers one request.
type rpcHandler func(ctx context.Context, op byte, body []byte) ([]byte, error)

// serveRPC answers requests on one connection until it closes.
func serveRPC(c net.Conn, h rpcHandler) {
	defer c.Close()
	r := bufio.NewReader(c)
	var hdr [9]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return
		}
		op, timeout, n := hdr[0], binary.BigEndian.Uint32(hdr[1:]), binary.BigEndian.Uint32(hdr[5:])
		if n > maxFrame {
			return
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(timeout)*time.Millisecond)
		out, err := h(ctx, op, body)
		cancel()
		status := byte(0)
		if err != nil {
			status = 1
			out, _ = json.Marshal(rpcError{Code: appliance.ErrorCode(err), Message: appliance.ErrorMessage(err)})
		}
		if err := writeAnswer(c, status, out); err != nil {
			return
		}
	}
}

func writeAnswer(w io.Writer, status byte, body []byte) error {
	hdr := binary.BigEndian.AppendUint32([]byte{status}, uint32(len(body)))
	_, err := (&net.Buffers{hdr, body}).WriteTo(w)
	return err
}

// rpcClient pools connections to peers.
type rpcClient struct {
	t    *transport
	mu   sync.Mutex
	idle map[string][]net.Conn
}

func newRPCClient(t *transport) *rpcClient {
	return &rpcClient{t: t, idle: map[string][]net.Conn{}}
}

// call sends one request to addr and waits for the answer within ctx.
// Errors from the peer come back as domain errors; failing to reach it is
// EUNAVAILABLE.
func (rc *rpcClient) call(ctx context.Context, addr string, op byte, body []byte) ([]byte, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(30 * time.Second)
	}
	timeout := time.Until(deadline)
	if timeout <= 0 {
		return nil, context.DeadlineExceeded
	}
	c, err := rc.get(addr, timeout)
	if err != nil {
		return nil, appliance.Errorf(appliance.EUNAVAILABLE, "cannot reach cluster node %s: %v", addr, err)
	}
	c.SetDeadline(deadline)
	status, out, err := roundTrip(c, op, uint32(timeout/time.Millisecond), body)
	if err != nil {
		c.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("call cluster node %s: %w", addr, ctx.Err())
		}
		return nil, appliance.Errorf(appliance.EUNAVAILABLE, "lost the connection to cluster node %s: %v", addr, err)
	}
	c.SetDeadline(time.Time{})
	rc.put(addr, c)
	if status != 0 {
		var e rpcError
		if err := json.Unmarshal(out, &e); err != nil {
			return nil, fmt.Errorf("cluster node %s sent a malformed error: %w", addr, err)
		}
		if e.Code == appliance.EUNAVAILABLE && e.Message == appliance.ErrNotLeader.Message {
			return nil, appliance.ErrNotLeader
		}
		return nil, &appliance.Error{Code: e.Code, Message: e.Message}
	}
	return out, nil
}

func roundTrip(c net.Conn, op byte, timeoutMS uint32, body []byte) (byte, []byte, error) {
	hdr := binary.BigEndian.AppendUint32([]byte{op}, timeoutMS)
	hdr = binary.BigEndian.AppendUint32(hdr, uint32(len(body)))
	if _, err := (&net.Buffers{hdr, body}).WriteTo(c); err != nil {
		return 0, nil, err
	}
	var ahdr [5]byte
	if _, err := io.ReadFull(c, ahdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(ahdr[1:])
	if n > maxFrame {
		return 0, nil, fmt.Errorf("answer of %d bytes is too large", n)
	}
	out := make([]byte, n)
	if _, err := io.ReadFull(c, out); err != nil {
		return 0, nil, err
	}
	return ahdr[0], out, nil
}

func (rc *rpcClient) get(addr string, timeout time.Duration) (net.Conn, error) {
	rc.mu.Lock()
	if conns := rc.idle[addr]; len(conns) > 0 {
		c := conns[len(conns)-1]
		rc.idle[addr] = conns[:len(conns)-1]
		rc.mu.Unlock()
		return c, nil
	}
	rc.mu.Unlock()
	return rc.t.dial(addr, connRPC, min(timeout, 5*time.Second))
}

func (rc *rpcClient) put(addr string, c net.Conn) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.idle[addr]) >= maxIdlePerPeer {
		c.Close()
		return
	}
	rc.idle[addr] = append(rc.idle[addr], c)
}

// close drops every pooled connection.
func (rc *rpcClient) close() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for addr, conns := range rc.idle {
		for _, c := range conns {
			c.Close()
		}
		delete(rc.idle, addr)
	}
}

var errUnknownOp = errors.New("unknown cluster RPC")
