package syslogd_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/ingest"
	"github.com/minixdr/xdr/ui/syslogd"
)

// recorder is the ingest side: it keeps every message it is given.
type recorder struct {
	mu       sync.Mutex
	msgs     []string
	byTenant map[string][]string
	batches  int
	at       []time.Time // when each batch came
	fail     int         // answer EUNAVAILABLE this many times first
	err      error       // then answer this, when set
}

func (r *recorder) IngestMessages(_ context.Context, tenant, source string, msgs [][]byte) (ingest.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail > 0 {
		r.fail--
		return ingest.Result{}, appliance.Errorf(appliance.EUNAVAILABLE, "no leader")
	}
	if r.err != nil {
		return ingest.Result{}, r.err
	}
	if (tenant != "acme" && tenant != "globex") || source != "syslog" {
		return ingest.Result{}, fmt.Errorf("tenant %q source %q", tenant, source)
	}
	if r.byTenant == nil {
		r.byTenant = map[string][]string{}
	}
	r.batches++
	r.at = append(r.at, time.Now())
	var res ingest.Result
	for _, m := range msgs {
		if strings.Contains(string(m), "REJECT") {
			res.Rejected++
			res.Errors = append(res.Errors, ingest.LineError{Line: 1, Reason: "test rejection"})
			continue
		}
		r.msgs = append(r.msgs, string(m))
		r.byTenant[tenant] = append(r.byTenant[tenant], string(m))
		res.Accepted++
	}
	return res, nil
}

func (r *recorder) waitFor(t *testing.T, n int) []string {
	t.Helper()
	return r.waitForWithin(t, n, 10*time.Second)
}

func (r *recorder) waitForWithin(t *testing.T, n int, within time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		r.mu.Lock()
		got := append([]string(nil), r.msgs...)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d messages, want %d: %q", len(got), n, got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func start(t *testing.T, cfg syslogd.Config, rec *recorder) (*syslogd.Server, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	cfg.Tenant = "acme"
	srv := syslogd.New(cfg, rec, slog.New(slog.NewTextHandler(io.Discard, nil)), reg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Run(ctx); close(done) }()
	t.Cleanup(func() { srv.Close(); cancel(); <-done })
	return srv, reg
}

// dialTCP serves TCP syslog of srv on a loopback port and connects to it.
func dialTCP(t *testing.T, srv *syslogd.Server) net.Conn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeStream(ln, "tcp", "") //nolint:errcheck
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func counter(t *testing.T, reg *prometheus.Registry, name, transport string) float64 {
	t.Helper()
	v, ok := lookupCounter(t, reg, name, transport)
	if !ok {
		t.Fatalf("metric %s{transport=%q} not found", name, transport)
	}
	return v
}

// lookupCounter is counter for a poll that may start before the listener
// has registered its transport's series: absent reads as not found.
func lookupCounter(t *testing.T, reg *prometheus.Registry, name, transport string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.Metric {
			for _, l := range m.Label {
				if l.GetName() == "transport" && l.GetValue() == transport {
					return m.Counter.GetValue(), true
				}
			}
		}
	}
	return 0, false
}

// TestLoggerOverUDPAndTCP sends with util-linux logger, the client sites use,
// in both syslog formats and both TCP framings.
func TestLoggerOverUDPAndTCP(t *testing.T) {
	if _, err := exec.LookPath("logger"); err != nil {
		t.Fatal("util-linux logger is needed (Debian package bsdutils)")
	}
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
	go srv.ServeUDP(udp, "")           //nolint:errcheck
	go srv.ServeStream(tcp, "tcp", "") //nolint:errcheck
	udpPort := fmt.Sprint(udp.LocalAddr().(*net.UDPAddr).Port)
	tcpPort := fmt.Sprint(tcp.Addr().(*net.TCPAddr).Port)

	sends := []struct {
		name string
		args []string
	}{
		{"udp-5424", []string{"-d", "-P", udpPort, "--rfc5424"}},
		{"udp-3164", []string{"-d", "-P", udpPort, "--rfc3164"}},
		{"tcp-5424-octet", []string{"-T", "-P", tcpPort, "--rfc5424", "--octet-count"}},
		{"tcp-3164-newline", []string{"-T", "-P", tcpPort, "--rfc3164"}},
	}
	for _, s := range sends {
		args := append([]string{"-n", "127.0.0.1", "-t", "sshd"}, s.args...)
		args = append(args, "Failed password for root from 203.0.113.9 port 2222 ssh2 via "+s.name)
		if out, err := exec.Command("logger", args...).CombinedOutput(); err != nil {
			t.Fatalf("logger %v: %v: %s", args, err, out)
		}
	}
	got := rec.waitFor(t, len(sends))
	for _, s := range sends {
		if !slices.ContainsFunc(got, func(m string) bool { return strings.HasSuffix(m, "via "+s.name) }) {
			t.Errorf("%s: not received intact; got %q", s.name, got)
		}
	}
	for _, m := range got {
		if !strings.HasPrefix(m, "<") || strings.HasSuffix(m, "\n") {
			t.Errorf("message not framed right: %q", m)
		}
	}
	if n := counter(t, reg, "xdr_syslog_received_total", "udp"); n != 2 {
		t.Errorf("udp received = %v, want 2", n)
	}
	if n := counter(t, reg, "xdr_syslog_received_total", "tcp"); n != 2 {
		t.Errorf("tcp received = %v, want 2", n)
	}
}

// TestStreamFraming feeds both framings, a message holding a newline
// (possible only with octet counting), and a last line without LF.
func TestStreamFraming(t *testing.T) {
	rec := &recorder{}
	srv, reg := start(t, syslogd.Config{MaxMessage: 100}, rec)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeStream(ln, "tcp", "") //nolint:errcheck
	send := func(data string) {
		t.Helper()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(c, data); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	two := "<13>1 - h app - - - two\nlines"
	send(fmt.Sprintf("11 <13>one msg%d %s", len(two), two) + "<13>plain line\r\n<13>no newline at end")
	got := rec.waitFor(t, 4)
	want := []string{"<13>one msg", two, "<13>plain line", "<13>no newline at end"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	// A frame over the limit ends that connection and is counted.
	send("500 " + strings.Repeat("x", 500))
	send(strings.Repeat("y", 300) + "\n")
	deadline := time.Now().Add(5 * time.Second)
	for counter(t, reg, "xdr_syslog_dropped_total", "tcp") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("oversized frames not counted as dropped: %v", counter(t, reg, "xdr_syslog_dropped_total", "tcp"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestUDPDropsAreCounted fills a tiny queue whose batcher is stalled: the
// overflow is counted, not lost silently, and the rest arrives.
func TestUDPDropsAreCounted(t *testing.T) {
	rec := &recorder{}
	rec.mu.Lock() // stall the ingest side
	srv, reg := start(t, syslogd.Config{QueueSize: 5, BatchSize: 1, Commits: 1}, rec)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeUDP(pc, "") //nolint:errcheck
	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	const sent = 50
	for i := 0; i < sent; i++ {
		fmt.Fprintf(c, "<13>msg %d", i)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		recv, _ := lookupCounter(t, reg, "xdr_syslog_received_total", "udp")
		if recv == sent {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("received %v of %d datagrams on loopback", recv, sent)
		}
		time.Sleep(10 * time.Millisecond)
	}
	dropped := counter(t, reg, "xdr_syslog_dropped_total", "udp")
	rec.mu.Unlock()
	// Queue (5) + the batcher's one in hand get through at most.
	if dropped < sent-7 {
		t.Fatalf("dropped %v of %d with a queue of 5", dropped, sent)
	}
	got := rec.waitFor(t, 1)
	if float64(len(got))+dropped > sent {
		t.Fatalf("%d delivered + %v dropped > %d sent", len(got), dropped, sent)
	}
}

// TestRetriesWhileUnavailableAndKeepsRejections checks that a batch waits out
// a leaderless cluster, and that rejection reasons are kept for operators.
func TestRetriesWhileUnavailableAndKeepsRejections(t *testing.T) {
	rec := &recorder{fail: 3}
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
	fmt.Fprint(c, "<13>kept")
	fmt.Fprint(c, "<13>REJECT me")
	if got := rec.waitFor(t, 1); got[0] != "<13>kept" {
		t.Fatalf("got %q", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(srv.RecentErrors()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("rejection reason not kept")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r := srv.RecentErrors(); r[0].Reason != "test rejection" {
		t.Fatalf("recent errors %q", r)
	}
}

// TestUDPKernelDropsAreCounted overflows the socket's receive buffer while
// nothing reads it: the datagrams the kernel drops are counted as received
// and dropped once the listener reads again, so every datagram sent is
// accounted for.
func TestUDPKernelDropsAreCounted(t *testing.T) {
	rec := &recorder{}
	srv, reg := start(t, syslogd.Config{}, rec)
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetReadBuffer(4096); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	const sent = 400
	line := strings.Repeat("x", 500)
	for i := 0; i < sent; i++ { // nobody reads yet: the small buffer overflows
		fmt.Fprintf(c, "<13>msg %d %s", i, line)
	}
	go srv.ServeUDP(pc, "") //nolint:errcheck
	// The drop total rides on the next datagram read, so markers follow
	// until every datagram sent shows as received.
	markers := 0
	deadline := time.Now().Add(10 * time.Second)
	for {
		fmt.Fprintf(c, "<13>marker %d", markers)
		markers++
		time.Sleep(20 * time.Millisecond) // polling interval
		if recv, _ := lookupCounter(t, reg, "xdr_syslog_received_total", "udp"); recv == float64(sent+markers) {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("received %v of %d datagrams sent past a full socket buffer", recv, sent+markers)
		}
	}
	if dropped := counter(t, reg, "xdr_syslog_dropped_total", "udp"); dropped == 0 || dropped > sent {
		t.Fatalf("%v dropped of %d sent to a socket with a 4 KiB buffer nobody read", dropped, sent)
	}
}

// TestPartialBatchWaitsOutTheInterval: a batch the ticker finds younger
// than the flush interval fills on rather than going at once, so a batch
// begun right after a full one went (a busy stream) does not become a
// Raft entry of a few messages; it still goes within two intervals.
func TestPartialBatchWaitsOutTheInterval(t *testing.T) {
	const interval = 300 * time.Millisecond
	rec := &recorder{}
	srv, _ := start(t, syslogd.Config{BatchSize: 10, FlushInterval: interval}, rec)
	c := dialTCP(t, srv)
	defer c.Close()
	// One message first: it goes on a tick, and the batch below begins
	// just after that tick, a whole interval before the next.
	if _, err := io.WriteString(c, "<13>first\n"); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, 1)
	var lines strings.Builder
	for i := range 11 { // a full batch, then one message
		fmt.Fprintf(&lines, "<13>msg %d\n", i)
	}
	sent := time.Now()
	if _, err := io.WriteString(c, lines.String()); err != nil {
		t.Fatal(err)
	}
	rec.waitForWithin(t, 12, 2*interval+5*time.Second)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.batches != 3 {
		t.Fatalf("%d batches, want 3 (the first message, a full batch, then the rest)", rec.batches)
	}
	if waited := rec.at[2].Sub(sent); waited < interval {
		t.Fatalf("the one-message batch went %v after it was sent, before the %v interval", waited, interval)
	}
}
