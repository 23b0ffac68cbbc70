package main

import (
	"io"
	"net"
	"sync"
	"testing"
)

// faultProxy sits in front of one node's cluster port (the node advertises
// the proxy's address) and can cut traffic: all of it (the node is cut off
// from inbound connections) or that from one source IP (each test node
// dials from its own loopback IP). Cutting closes live connections too, as
// a failed link would.
type faultProxy struct {
	t      testing.TB
	ln     net.Listener
	target string

	mu      sync.Mutex
	all     bool
	blocked map[string]bool // source IPs
	conns   map[net.Conn]string
}

func newFaultProxy(t testing.TB, listen, target string) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		t.Fatalf("fault proxy: %v", err)
	}
	p := &faultProxy{t: t, ln: ln, target: target, blocked: map[string]bool{}, conns: map[net.Conn]string{}}
	t.Cleanup(func() { ln.Close(); p.cut(func(string) bool { return true }) })
	go p.serve()
	return p
}

func (p *faultProxy) addr() string { return p.ln.Addr().String() }

func (p *faultProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.forward(c)
	}
}

func (p *faultProxy) forward(c net.Conn) {
	src, _, _ := net.SplitHostPort(c.RemoteAddr().String())
	p.mu.Lock()
	if p.all || p.blocked[src] {
		p.mu.Unlock()
		c.Close()
		return
	}
	p.mu.Unlock()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[up] = src, src
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		io.Copy(dst, src) //nolint:errcheck // either side closing ends the pair
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
	c.Close()
	up.Close()
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// cut closes live connections whose source matches.
func (p *faultProxy) cut(match func(src string) bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c, src := range p.conns {
		if match(src) {
			c.Close()
		}
	}
}

// blockAll refuses and cuts every connection; heal undoes all blocks.
func (p *faultProxy) blockAll() {
	p.mu.Lock()
	p.all = true
	p.mu.Unlock()
	p.cut(func(string) bool { return true })
}

func (p *faultProxy) blockFrom(ip string) {
	p.mu.Lock()
	p.blocked[ip] = true
	p.mu.Unlock()
	p.cut(func(src string) bool { return src == ip })
}

func (p *faultProxy) heal() {
	p.mu.Lock()
	p.all = false
	p.blocked = map[string]bool{}
	p.mu.Unlock()
}
