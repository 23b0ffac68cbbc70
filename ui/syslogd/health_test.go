package syslogd_test

import (
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/ingest"
	"github.com/minixdr/xdr/ui/syslogd"
)

// listenerHealth finds a listener's entry in the snapshot; a listener
// whose Serve has not started yet has zero counts.
func listenerHealth(srv *syslogd.Server, transport string) ingest.ListenerHealth {
	for _, l := range srv.Health().Listeners {
		if l.Transport == transport {
			return l
		}
	}
	return ingest.ListenerHealth{Transport: transport}
}

// waitListener polls until the listener's entry satisfies ok.
func waitListener(t *testing.T, srv *syslogd.Server, transport string, ok func(ingest.ListenerHealth) bool) ingest.ListenerHealth {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		l := listenerHealth(srv, transport)
		if ok(l) {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s listener stuck at %+v", transport, l)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitCounts polls until the listener's counters are want.
func waitCounts(t *testing.T, srv *syslogd.Server, transport string, want ingest.Counts) ingest.ListenerHealth {
	t.Helper()
	return waitListener(t, srv, transport, func(l ingest.ListenerHealth) bool { return l.Counts == want })
}

// TestListenersOwnTenantsAndCountApart: two listeners with their own
// tenants; each message lands in its listener's tenant and is counted on
// its listener, in the snapshot and in the metrics.
func TestListenersOwnTenantsAndCountApart(t *testing.T) {
	rec := &recorder{}
	srv, reg := start(t, syslogd.Config{}, rec)
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeUDP(udp, "globex")     //nolint:errcheck
	go srv.ServeStream(tcp, "tcp", "") //nolint:errcheck // the configured tenant, acme
	c, err := net.Dial("udp", udp.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(c, "<13>to globex 1")
	fmt.Fprint(c, "<13>REJECT this one")
	fmt.Fprint(c, "<13>to globex 2")
	tc, err := net.Dial("tcp", tcp.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(tc, "<13>to acme\n500 too long a frame") //nolint:errcheck
	tc.Close()

	u := waitCounts(t, srv, "udp", ingest.Counts{Received: 3, Accepted: 2, Rejected: 1})
	s := waitCounts(t, srv, "tcp", ingest.Counts{Received: 2, Accepted: 1, Dropped: 1})
	rec.mu.Lock()
	globex, acme := rec.byTenant["globex"], rec.byTenant["acme"]
	rec.mu.Unlock()
	if len(globex) != 2 || !strings.HasPrefix(globex[0], "<13>to globex") || len(acme) != 1 || acme[0] != "<13>to acme" {
		t.Errorf("by tenant: globex %q, acme %q", globex, acme)
	}
	if u.Tenant != "globex" || u.Address != udp.LocalAddr().String() || s.Tenant != "acme" || s.Address != tcp.Addr().String() {
		t.Errorf("listeners %+v %+v", u, s)
	}
	if u.LastMessage == nil || s.LastMessage == nil || time.Since(*u.LastMessage) > time.Minute {
		t.Errorf("last message times %v %v", u.LastMessage, s.LastMessage)
	}
	errs := srv.Health().RecentErrors
	var sawReject, sawFrame bool
	for _, e := range errs {
		switch {
		case e.Reason == "test rejection" && e.Tenant == "globex" && e.Listener == "udp://"+udp.LocalAddr().String():
			sawReject = true
		case strings.Contains(e.Reason, "frame cut short") && e.Tenant == "acme" && e.Listener == "tcp://"+tcp.Addr().String():
			sawFrame = true
		}
	}
	if !sawReject || !sawFrame {
		t.Errorf("recent errors lack the rejection or the broken frame: %+v", errs)
	}
	for _, name := range []string{"received", "accepted", "rejected", "dropped"} {
		h := map[string]ingest.Counts{"udp": u.Counts, "tcp": s.Counts}
		for transport, c := range h {
			want := map[string]uint64{"received": c.Received, "accepted": c.Accepted, "rejected": c.Rejected, "dropped": c.Dropped}[name]
			if got := counter(t, reg, "xdr_syslog_"+name+"_total", transport); got != float64(want) {
				t.Errorf("xdr_syslog_%s_total{transport=%q} = %v, want %d", name, transport, got, want)
			}
		}
	}
}

// TestCommitFailureIsCountedAndKept: a batch the ingest service refuses
// for good is dropped, counted and explained.
func TestCommitFailureIsCountedAndKept(t *testing.T) {
	rec := &recorder{err: appliance.Errorf(appliance.ENOTFOUND, "tenant \"acme\" does not exist")}
	srv, _ := start(t, syslogd.Config{}, rec)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeUDP(pc, "") //nolint:errcheck
	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(c, "<13>lost")
	waitCounts(t, srv, "udp", ingest.Counts{Received: 1, Dropped: 1})
	errs := srv.RecentErrors()
	if len(errs) != 1 || !strings.Contains(errs[0].Reason, `1 messages not committed: tenant "acme" does not exist`) {
		t.Fatalf("recent errors %+v", errs)
	}
}

// TestQueueBytesBound: with the ingest side stalled, UDP drops once the
// queued bytes reach the bound (not only the count), and a TCP sender is
// held back instead, then delivered in full once ingest resumes.
func TestQueueBytesBound(t *testing.T) {
	rec := &recorder{}
	rec.mu.Lock() // stall the ingest side
	srv, _ := start(t, syslogd.Config{QueueBytes: 4000, QueueSize: 10_000, BatchSize: 1, Commits: 1}, rec)
	resume := sync.OnceFunc(rec.mu.Unlock)
	t.Cleanup(resume) // before the server's cleanup, which waits for the commits
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeUDP(pc, "") //nolint:errcheck
	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	msg := "<13>" + strings.Repeat("u", 996) // 1000 bytes
	const sent = 20
	for range sent {
		fmt.Fprint(c, msg)
	}
	u := waitListener(t, srv, "udp", func(l ingest.ListenerHealth) bool { return l.Received == sent })
	// 4 fit the queue, 1 is with the stalled committer, at most one more in
	// the batcher's hands.
	if u.Dropped < sent-6 {
		t.Fatalf("dropped %d of %d 1000-byte messages with a 4000-byte queue", u.Dropped, sent)
	}

	tc := dialTCP(t, srv)
	const streamed = 10
	go func() {
		for range streamed {
			fmt.Fprintf(tc, "%s\n", strings.Replace(msg, "u", "t", -1))
		}
		tc.Close()
	}()
	// Held back: the reader fills what room the queue has left (at most 4
	// messages), then waits holding the next. The pause gives a reader that
	// does not wait the time to read all ten; it synchronises nothing.
	waitListener(t, srv, "tcp", func(l ingest.ListenerHealth) bool { return l.Received >= 1 })
	time.Sleep(100 * time.Millisecond)
	if s := listenerHealth(srv, "tcp"); s.Received > 5 || s.Dropped != 0 {
		t.Fatalf("a stalled queue let the stream in: %+v", s.Counts)
	}
	resume()
	waitCounts(t, srv, "tcp", ingest.Counts{Received: streamed, Accepted: streamed})
}
