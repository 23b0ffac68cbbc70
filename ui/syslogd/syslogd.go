// Package syslogd receives syslog over UDP, TCP and TLS and hands the
// messages, in batches, to the ingest service.
//
// Each listener has a tenant: what it receives is committed as that
// tenant's events, in batches of one listener's messages.
//
// The queue to the committer is bounded in messages and in bytes. UDP has
// no flow control: when the queue is full a datagram is dropped and counted
// (xdr_syslog_dropped_total), never silently. TCP and TLS readers
// block instead, so a sender that outpaces the appliance is slowed by TCP
// rather than losing messages. Framing on streams follows RFC 6587: octet
// counting ("LEN SP MSG") when a frame starts with a digit, else one
// message per line.
package syslogd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/ingest"
)

// Ingester is what the listener needs of the ingest service.
type Ingester interface {
	IngestMessages(ctx context.Context, tenant, source string, msgs [][]byte) (ingest.Result, error)
}

// Config tunes a Server; zero values take the defaults.
type Config struct {
	Tenant        string // tenant of the listeners that name none
	Source        string // ingest source that parses them; default "syslog"
	MaxMessage    int    // bytes; longer frames end the connection (stream) or are cut (UDP)
	BatchSize     int    // messages per ingest call
	FlushInterval time.Duration
	QueueSize     int // messages waiting for the batcher
	// QueueBytes bounds the bytes of the queued messages, so a queue of
	// large messages cannot grow the heap by QueueSize × MaxMessage.
	QueueBytes int64
	// Commits is how many batches may be committing at once: Raft groups
	// concurrent entries into one fsync, so a few in flight keep it busy.
	Commits int
	Now     func() time.Time // clock of the last-message times; default time.Now
}

func (c *Config) defaults() {
	if c.Source == "" {
		c.Source = "syslog"
	}
	if c.MaxMessage == 0 {
		c.MaxMessage = 64 << 10
	}
	if c.BatchSize == 0 {
		c.BatchSize = 4000
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = 50 * time.Millisecond
	}
	if c.QueueSize == 0 {
		c.QueueSize = 20_000
	}
	if c.QueueBytes == 0 {
		c.QueueBytes = 32 << 20
	}
	if c.Commits == 0 {
		c.Commits = 4
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Server receives syslog on any number of listeners.
type Server struct {
	cfg   Config
	in    Ingester
	log   *slog.Logger
	queue chan queued

	// queuedBytes is what the messages in queue hold; qcond wakes stream
	// readers waiting for room (Broadcast: any may fit now).
	qmu         sync.Mutex
	qcond       *sync.Cond
	queuedBytes int64

	done chan struct{} // closed by Close: blocked readers give up

	mu        sync.Mutex
	listeners []*listener
	recent    []ingest.SyslogError // a sample of recent errors, newest last
	closed    bool
	conns     map[io.Closer]struct{}
	wg        sync.WaitGroup
}

// listener is one listening socket and its accounting.
type listener struct {
	transport, address, tenant string
	count                      ingest.Counter
}

func (l *listener) String() string { return l.transport + "://" + l.address }

// queued is a message waiting for the batcher, with where it came from.
type queued struct {
	l   *listener
	msg []byte
}

// maxRecent is how many recent errors are kept for operators.
const maxRecent = 20

// New returns a server; reg may be nil.
func New(cfg Config, in Ingester, log *slog.Logger, reg prometheus.Registerer) *Server {
	cfg.defaults()
	s := &Server{cfg: cfg, in: in, log: log, queue: make(chan queued, cfg.QueueSize), conns: map[io.Closer]struct{}{},
		done: make(chan struct{})}
	s.qcond = sync.NewCond(&s.qmu)
	if reg != nil {
		reg.MustRegister(&collector{s: s, descs: ingest.NewCounterDescs("xdr_syslog", "Syslog messages, by listener:", "transport", "address", "tenant")})
	}
	return s
}

// collector exports every listener's counters as
// xdr_syslog_{received,accepted,rejected,dropped}_total{transport,address,tenant}.
type collector struct {
	s     *Server
	descs ingest.CounterDescs
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) { c.descs.Describe(ch) }

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	for _, l := range c.s.listenerList() {
		c.descs.Collect(ch, l.count.Counts(), l.transport, l.address, l.tenant)
	}
}

func (s *Server) listenerList() []*listener {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*listener(nil), s.listeners...)
}

// Health returns every listener's accounting and the recent errors.
func (s *Server) Health() ingest.SyslogHealth {
	ls := s.listenerList()
	h := ingest.SyslogHealth{Listeners: make([]ingest.ListenerHealth, 0, len(ls)), RecentErrors: s.RecentErrors()}
	for _, l := range ls {
		h.Listeners = append(h.Listeners, ingest.ListenerHealth{Transport: l.transport, Address: l.address, Tenant: l.tenant,
			Counts: l.count.Counts(), LastMessage: l.count.Last()})
	}
	return h
}

// RecentErrors returns a sample of the latest errors: rejected messages'
// reasons, broken frames and batches that could not be committed. Dropped
// UDP datagrams are only counted: a flood would crowd out everything else.
func (s *Server) RecentErrors() []ingest.SyslogError {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ingest.SyslogError{}, s.recent...)
}

func (s *Server) noteError(l *listener, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recent = append(s.recent, ingest.SyslogError{Time: s.cfg.Now().UTC(), Listener: l.String(), Tenant: l.tenant, Reason: reason})
	if len(s.recent) > maxRecent {
		s.recent = append([]ingest.SyslogError(nil), s.recent[len(s.recent)-maxRecent:]...)
	}
}

// addListener registers a listener for accounting; tenant "" is the
// configured one.
func (s *Server) addListener(transport string, addr net.Addr, tenant string) *listener {
	if tenant == "" {
		tenant = s.cfg.Tenant
	}
	l := &listener{transport: transport, address: addr.String(), tenant: tenant}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listeners = append(s.listeners, l)
	return l
}

// track registers a listener or connection to close on shutdown; false when
// the server is already closed.
func (s *Server) track(c io.Closer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c io.Closer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
}

// received counts a message's arrival.
func (s *Server) received(l *listener) { l.count.Add(1, 0, 0, 0, s.cfg.Now()) }

// dropped counts a received message that will not be committed.
func dropped(l *listener) { l.count.Add(0, 0, 0, 1, time.Time{}) }

// reserve takes room for n bytes in the queue. With wait it blocks until
// there is room (false: the server is closing), else it fails at once. A
// message always fits an empty queue.
func (s *Server) reserve(n int64, wait bool) bool {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	for s.queuedBytes > 0 && s.queuedBytes+n > s.cfg.QueueBytes {
		if !wait || s.isClosed() {
			return false
		}
		s.qcond.Wait()
	}
	s.queuedBytes += n
	return true
}

// unreserve gives back the room of a message that left the queue (or never
// entered it).
func (s *Server) unreserve(n int64) {
	s.qmu.Lock()
	s.queuedBytes -= n
	s.qmu.Unlock()
	s.qcond.Broadcast()
}

func (s *Server) isClosed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// ServeUDP reads datagrams until conn is closed; each datagram is one
// message of tenant ("": the configured one).
func (s *Server) ServeUDP(conn net.PacketConn, tenant string) error {
	if !s.track(conn) {
		return net.ErrClosed
	}
	defer s.untrack(conn)
	l := s.addListener("udp", conn.LocalAddr(), tenant)
	buf := make([]byte, 64<<10)
	udp, _ := conn.(*net.UDPConn)
	if udp != nil && !watchKernelDrops(udp) {
		udp = nil
	}
	oob := make([]byte, 64)
	var kernelDrops uint32 // the socket's total so far, as last reported
	for {
		var n, oobn int
		var err error
		if udp != nil {
			n, oobn, _, _, err = udp.ReadMsgUDP(buf, oob)
		} else {
			n, _, err = conn.ReadFrom(buf)
		}
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("syslog udp: %w", err)
		}
		if total, ok := kernelDropTotal(oob[:oobn]); ok && total != kernelDrops {
			d := int(total - kernelDrops) // uint32 arithmetic: right across wraparound
			kernelDrops = total
			l.count.Add(d, 0, 0, d, time.Time{})
		}
		msg := trimFrame(buf[:n])
		if len(msg) == 0 {
			continue
		}
		if len(msg) > s.cfg.MaxMessage {
			msg = msg[:s.cfg.MaxMessage]
		}
		s.received(l)
		if !s.reserve(int64(len(msg)), false) {
			dropped(l)
			continue
		}
		select {
		case s.queue <- queued{l, append([]byte(nil), msg...)}:
		default:
			s.unreserve(int64(len(msg)))
			dropped(l)
		}
	}
}

// ServeStream accepts connections on ln (TCP, or TLS when ln is a TLS
// listener; transport names it) until ln is closed; what they carry belongs
// to tenant ("": the configured one).
func (s *Server) ServeStream(ln net.Listener, transport, tenant string) error {
	if !s.track(ln) {
		return net.ErrClosed
	}
	defer s.untrack(ln)
	l := s.addListener(transport, ln.Addr(), tenant)
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("syslog %s: %w", transport, err)
		}
		if !s.track(conn) {
			conn.Close()
			return nil
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.untrack(conn)
			defer conn.Close()
			if err := s.readStream(conn, l); err != nil {
				s.log.Warn("syslog connection ended", "listener", l.String(), "remote", conn.RemoteAddr().String(), "err", err)
			}
		}()
	}
}

// readStream reads framed messages from one connection. Enqueueing blocks
// when the queue is full, which stops reading and so pushes back on TCP.
func (s *Server) readStream(conn net.Conn, l *listener) error {
	r := bufio.NewReaderSize(conn, 64<<10)
	for {
		msg, err := s.readFrame(r)
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
			return nil
		}
		if err != nil {
			s.received(l)
			dropped(l)
			s.noteError(l, fmt.Sprintf("from %s: %v; connection closed", conn.RemoteAddr(), err))
			return err
		}
		if len(msg) == 0 {
			continue
		}
		s.received(l)
		if !s.reserve(int64(len(msg)), true) {
			dropped(l)
			return nil
		}
		select {
		case s.queue <- queued{l, msg}:
		case <-s.done:
			s.unreserve(int64(len(msg)))
			dropped(l)
			return nil
		}
	}
}

// readFrame returns the next message: octet-counted when the frame starts
// with a digit (RFC 6587 3.4.1), else up to the next LF (3.4.2).
func (s *Server) readFrame(r *bufio.Reader) ([]byte, error) {
	first, err := r.Peek(1)
	if err != nil {
		return nil, err
	}
	if first[0] >= '1' && first[0] <= '9' {
		lenText, err := r.ReadSlice(' ')
		if err != nil {
			return nil, fmt.Errorf("octet count not followed by a space: %w", err)
		}
		n, err := strconv.Atoi(string(lenText[:len(lenText)-1]))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad octet count %q", lenText)
		}
		if n > s.cfg.MaxMessage {
			return nil, fmt.Errorf("frame of %d bytes exceeds the %d-byte limit", n, s.cfg.MaxMessage)
		}
		msg := make([]byte, n)
		if _, err := io.ReadFull(r, msg); err != nil {
			return nil, fmt.Errorf("frame cut short: %w", err)
		}
		return trimFrame(msg), nil
	}
	var msg []byte
	for {
		chunk, err := r.ReadSlice('\n')
		msg = append(msg, chunk...)
		if len(msg) > s.cfg.MaxMessage+2 {
			return nil, fmt.Errorf("line exceeds the %d-byte limit", s.cfg.MaxMessage)
		}
		if err == nil {
			return trimFrame(msg), nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) && len(msg) > 0 {
				return trimFrame(msg), nil // a last message without LF
			}
			return nil, err
		}
	}
}

// trimFrame drops the trailing newline and NULs some senders add.
func trimFrame(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == 0) {
		b = b[:len(b)-1]
	}
	return b
}

// Run batches queued messages, one batch per listener, into the ingest
// service until ctx ends, then flushes what is queued. Up to Config.Commits
// batches commit at once; when all are busy, Run waits, the queue fills,
// and back-pressure begins.
func (s *Server) Run(ctx context.Context) {
	tick := time.NewTicker(s.cfg.FlushInterval)
	defer tick.Stop()
	slots := make(chan struct{}, s.cfg.Commits)
	var commits sync.WaitGroup
	defer commits.Wait()
	batches := map[*listener][][]byte{}
	// begun is when each batch got its first message: the ticker sends a
	// batch once it is a full interval old, so a batch begun just before
	// a tick (under load, right after a full one went) fills on instead of
	// going as a Raft entry of a few messages.
	begun := map[*listener]time.Time{}
	flush := func(ctx context.Context, l *listener) {
		msgs := batches[l]
		if len(msgs) == 0 {
			return
		}
		delete(batches, l)
		delete(begun, l)
		slots <- struct{}{}
		commits.Add(1)
		go func() {
			defer commits.Done()
			defer func() { <-slots }()
			s.commit(ctx, l, msgs)
		}()
	}
	take := func(q queued) *listener {
		s.unreserve(int64(len(q.msg)))
		if batches[q.l] == nil {
			batches[q.l] = make([][]byte, 0, s.cfg.BatchSize)
			begun[q.l] = time.Now()
		}
		batches[q.l] = append(batches[q.l], q.msg)
		return q.l
	}
	for {
		select {
		case q := <-s.queue:
			if l := take(q); len(batches[l]) == s.cfg.BatchSize {
				flush(ctx, l)
			}
		case now := <-tick.C:
			for l := range batches {
				if now.Sub(begun[l]) >= s.cfg.FlushInterval {
					flush(ctx, l)
				}
			}
		case <-ctx.Done():
			drain, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			for more := true; more; {
				select {
				case q := <-s.queue:
					take(q)
				default:
					more = false
				}
			}
			for l := range batches {
				flush(drain, l)
			}
			commits.Wait()
			cancel()
			return
		}
	}
}

// commit ingests one listener's batch, retrying while the cluster is
// unavailable or busy.
func (s *Server) commit(ctx context.Context, l *listener, msgs [][]byte) {
	backoff := 50 * time.Millisecond
	for {
		res, err := s.in.IngestMessages(ctx, l.tenant, s.cfg.Source, msgs)
		if err == nil {
			l.count.Add(0, res.Accepted, res.Rejected, 0, time.Time{})
			for _, e := range res.Errors {
				s.noteError(l, e.Reason)
			}
			return
		}
		code := appliance.ErrorCode(err)
		if (code != appliance.EUNAVAILABLE && code != appliance.EBUSY) || ctx.Err() != nil {
			l.count.Add(0, 0, 0, len(msgs), time.Time{})
			s.noteError(l, fmt.Sprintf("%d messages not committed: %v", len(msgs), appliance.ErrorMessage(err)))
			s.log.Error("syslog batch not committed", "listener", l.String(), "messages", len(msgs), "err", err)
			return
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// Close stops every listener and connection, and waits for the readers.
// Run's context ends the batcher separately, so queued messages are flushed.
func (s *Server) Close() {
	s.mu.Lock()
	if !s.closed {
		close(s.done)
	}
	s.closed = true
	// Stream readers waiting for room give up; under qmu, so none is
	// between its check of done and its Wait.
	s.qmu.Lock()
	s.qcond.Broadcast()
	s.qmu.Unlock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}
