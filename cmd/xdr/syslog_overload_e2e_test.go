package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance/ingest"
)

// rssCeilingKiB bounds the node's resident memory under a UDP flood, below
// the Go heap's soft limit (640 MiB): the syslog queue holds at most 20,000
// messages and 32 MiB, and 4 batches of 1,000 commit at once, some 60 MiB
// with 1 KiB messages; the rest is the stores' caches and the heap growing
// as the committed events are written (peaks of 360–430 MiB from a base of
// 85 MiB when this was written, with 70,000 events committed during the
// test). The kernel drops most of the 2,000,000 datagrams sent before the
// node reads them, so this ceiling catches gross growth; the queue's own
// bounds are tested exactly in ui/syslogd (TestQueueBytesBound).
const rssCeilingKiB = 600 << 10

// TestSyslogUDPOverload floods the real binary's UDP listener with far more
// than it can commit. It must count what it drops in /metrics, stay ready,
// keep its memory under the ceiling, and account for every datagram it
// read: received = accepted + rejected + dropped once the queue drains.
func TestSyslogUDPOverload(t *testing.T) {
	var udp string
	n := startNodePicking(t, func() []string {
		udp = freeUDPAddr(t)
		return []string{"--syslog-udp", udp}
	})
	tok := n.adminToken()
	n.mu.Lock()
	pid := n.cmd.Process.Pid
	n.mu.Unlock()
	base := rssKiB(t, pid)

	// Senders: 1 KiB RFC 3164 messages, as fast as loopback takes them,
	// until told to stop or a bound on count or time.
	const maxSent, maxBlast = 2_000_000, 40 * time.Second
	var sent atomic.Int64
	stop := make(chan struct{})
	var senders sync.WaitGroup
	pad := strings.Repeat("x", 900)
	for g := range 2 {
		senders.Go(func() {
			c, err := net.Dial("udp", udp)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if sent.Add(1) > maxSent {
					return
				}
				// Errors (ECONNREFUSED from an earlier ICMP) are the
				// flood's business, not the test's.
				fmt.Fprintf(c, "<13>Nov 22 07:00:00 web-%d app[%d]: overload %d %s", g, g, i, pad)
			}
		})
	}
	stopSending := sync.OnceFunc(func() { close(stop); senders.Wait() })
	t.Cleanup(stopSending)

	// While the flood runs: watch the drop counter and the memory.
	peak := base
	start := time.Now()
	var dropped float64
	for {
		peak = max(peak, rssKiB(t, pid))
		dropped, _ = metricValue(n.metricsText(tok), "xdr_syslog_dropped_total", `transport="udp"`)
		if dropped >= 100_000 || time.Since(start) > maxBlast || sent.Load() >= maxSent {
			break
		}
		time.Sleep(pollInterval)
	}
	stopSending()
	t.Logf("flood: %d datagrams sent in %v, %.0f dropped by the node; RSS %d KiB before, peak %d KiB",
		sent.Load(), time.Since(start).Round(time.Millisecond), dropped, base, peak)
	if dropped == 0 {
		t.Fatalf("no drop counted after %d datagrams in %v: the flood did not overload the node", sent.Load(), maxBlast)
	}

	// The queue drains and every datagram read is accounted for: the sum
	// holds on two polls in a row with nothing more read in between (the
	// socket buffer may still hold datagrams when the senders stop).
	var lastReceived uint64
	h := n.waitIngestHealth(tok, func(h ingest.Health) bool {
		peak = max(peak, rssKiB(t, pid))
		l := h.Syslog.Listeners[0]
		settled := l.Received > 0 && l.Received == lastReceived && l.Received == l.Accepted+l.Rejected+l.Dropped
		lastReceived = l.Received
		return settled
	})
	l := h.Syslog.Listeners[0]
	t.Logf("listener: %+v; peak RSS %d KiB", l.Counts, peak)
	if l.Dropped == 0 || l.Accepted == 0 || l.Rejected != 0 {
		t.Errorf("listener counts %+v: want drops, commits and no rejection", l.Counts)
	}
	if peak > rssCeilingKiB {
		t.Errorf("peak RSS %d KiB over the %d KiB ceiling", peak, rssCeilingKiB)
	}
	if got, _ := metricValue(n.metricsText(tok), "xdr_events_accepted_total", `source="syslog"`); got != float64(l.Accepted) {
		t.Errorf("xdr_events_accepted_total{source=syslog} = %v, listener accepted %d", got, l.Accepted)
	}
	if st, _, b := n.mustDo("GET", "/healthz/ready", "", nil, nil); st != http.StatusOK {
		t.Errorf("not ready after the flood: %d %s", st, b)
	}
	// Still serving syslog: a last message arrives. It is looked for by
	// its host, not counted: a datagram of the flood still in the socket
	// when the counts looked settled would be counted too.
	c, err := net.Dial("udp", udp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "<13>Nov 22 07:00:00 flood-end app[1]: after the flood")
	for deadline := time.Now().Add(60 * time.Second); n.count(tok, "host.name:flood-end") != 1; time.Sleep(pollInterval) {
		if time.Now().After(deadline) {
			t.Fatalf("the message sent after the flood was not stored within 60 s (listener counts before it %+v)", l.Counts)
		}
	}
}

// rssKiB reads a process's resident set size from /proc/PID/status.
func rssKiB(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS %q: %v", v, err)
			}
			return kib
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}
