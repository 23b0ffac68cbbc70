// Package syslogd receives syslog over UDP, TCP and TLS and hands the
// messages, in batches, to the ingest service.
//
// UDP has no flow control: when the queue is full a datagram is dropped and
// counted (xdr_syslog_dropped_total), never silently. TCP and TLS readers
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
	Tenant        string // tenant the messages belong to
	Source        string // ingest source that parses them; default "syslog"
	MaxMessage    int    // bytes; longer frames end the connection (stream) or are cut (UDP)
	BatchSize     int    // messages per ingest call
	FlushInterval time.Duration
	QueueSize     int // messages waiting for the batcher
	// Commits is how many batches may be committing at once: Raft groups
	// concurrent entries into one fsync, so a few in flight keep it busy.
	Commits int
}

func (c *Config) defaults() {
	if c.Source == "" {
		c.Source = "syslog"
	}
	if c.MaxMessage == 0 {
		c.MaxMessage = 64 << 10
	}
	if c.BatchSize == 0 {
		c.BatchSize = 1000
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = 50 * time.Millisecond
	}
	if c.QueueSize == 0 {
		c.QueueSize = 20_000
	}
	if c.Commits == 0 {
		c.Commits = 4
	}
}

// Server receives syslog on any number of listeners.
type Server struct {
	cfg   Config
	in    Ingester
	log   *slog.Logger
	queue chan []byte

	received, dropped *prometheus.CounterVec
	failed            prometheus.Counter

	done chan struct{} // closed by Close: blocked readers give up

	mu     sync.Mutex
	recent []string // a sample of recent rejections, newest last
	closed bool
	conns  map[io.Closer]struct{}
	wg     sync.WaitGroup
}

// maxRecent is how many recent rejection reasons are kept for operators.
const maxRecent = 20

// New returns a server; reg may be nil.
func New(cfg Config, in Ingester, log *slog.Logger, reg prometheus.Registerer) *Server {
	cfg.defaults()
	s := &Server{cfg: cfg, in: in, log: log, queue: make(chan []byte, cfg.QueueSize), conns: map[io.Closer]struct{}{},
		done: make(chan struct{}),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xdr_syslog_received_total", Help: "Syslog messages received, by transport.",
		}, []string{"transport"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xdr_syslog_dropped_total", Help: "Syslog messages dropped because the queue was full (UDP) or the frame was too large, by transport.",
		}, []string{"transport"}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "xdr_syslog_commit_failed_total", Help: "Syslog messages that could not be committed after retries.",
		}),
	}
	for _, t := range []string{"udp", "tcp", "tls"} {
		s.received.WithLabelValues(t)
		s.dropped.WithLabelValues(t)
	}
	if reg != nil {
		reg.MustRegister(s.received, s.dropped, s.failed)
	}
	return s
}

// RecentErrors returns a sample of the latest rejected messages' reasons.
func (s *Server) RecentErrors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.recent...)
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

// ServeUDP reads datagrams until conn is closed; each datagram is one message.
func (s *Server) ServeUDP(conn net.PacketConn) error {
	if !s.track(conn) {
		return net.ErrClosed
	}
	defer s.untrack(conn)
	buf := make([]byte, 64<<10)
	for {
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("syslog udp: %w", err)
		}
		msg := trimFrame(buf[:n])
		if len(msg) == 0 {
			continue
		}
		if len(msg) > s.cfg.MaxMessage {
			msg = msg[:s.cfg.MaxMessage]
		}
		s.received.WithLabelValues("udp").Inc()
		select {
		case s.queue <- append([]byte(nil), msg...):
		default:
			s.dropped.WithLabelValues("udp").Inc()
		}
	}
}

// ServeStream accepts connections on ln (TCP, or TLS when ln is a TLS
// listener; transport names it in metrics) until ln is closed.
func (s *Server) ServeStream(ln net.Listener, transport string) error {
	if !s.track(ln) {
		return net.ErrClosed
	}
	defer s.untrack(ln)
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
			if err := s.readStream(conn, transport); err != nil {
				s.log.Warn("syslog connection ended", "transport", transport, "remote", conn.RemoteAddr().String(), "err", err)
			}
		}()
	}
}

// readStream reads framed messages from one connection. Enqueueing blocks
// when the queue is full, which stops reading and so pushes back on TCP.
func (s *Server) readStream(conn net.Conn, transport string) error {
	r := bufio.NewReaderSize(conn, 64<<10)
	for {
		msg, err := s.readFrame(r)
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
			return nil
		}
		if err != nil {
			s.dropped.WithLabelValues(transport).Inc()
			return err
		}
		if len(msg) == 0 {
			continue
		}
		s.received.WithLabelValues(transport).Inc()
		select {
		case s.queue <- msg:
		case <-s.done:
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

// Run batches queued messages into the ingest service until ctx ends, then
// flushes what is queued. Up to Config.Commits batches commit at once; when
// all are busy, Run waits, the queue fills, and back-pressure begins.
func (s *Server) Run(ctx context.Context) {
	tick := time.NewTicker(s.cfg.FlushInterval)
	defer tick.Stop()
	slots := make(chan struct{}, s.cfg.Commits)
	var commits sync.WaitGroup
	defer commits.Wait()
	batch := make([][]byte, 0, s.cfg.BatchSize)
	flush := func(ctx context.Context) {
		if len(batch) == 0 {
			return
		}
		slots <- struct{}{}
		commits.Add(1)
		go func(msgs [][]byte) {
			defer commits.Done()
			defer func() { <-slots }()
			s.commit(ctx, msgs)
		}(batch)
		batch = make([][]byte, 0, s.cfg.BatchSize)
	}
	for {
		select {
		case m := <-s.queue:
			batch = append(batch, m)
			if len(batch) == s.cfg.BatchSize {
				flush(ctx)
			}
		case <-tick.C:
			flush(ctx)
		case <-ctx.Done():
			drain, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			for more := true; more; {
				select {
				case m := <-s.queue:
					batch = append(batch, m)
				default:
					more = false
				}
			}
			flush(drain)
			commits.Wait()
			cancel()
			return
		}
	}
}

// commit ingests one batch, retrying while the cluster is unavailable.
func (s *Server) commit(ctx context.Context, msgs [][]byte) {
	backoff := 50 * time.Millisecond
	for {
		res, err := s.in.IngestMessages(ctx, s.cfg.Tenant, s.cfg.Source, msgs)
		if err == nil {
			s.noteRejections(res)
			return
		}
		code := appliance.ErrorCode(err)
		if (code != appliance.EUNAVAILABLE && code != appliance.EBUSY) || ctx.Err() != nil {
			s.failed.Add(float64(len(msgs)))
			s.log.Error("syslog batch not committed", "messages", len(msgs), "err", err)
			return
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

func (s *Server) noteRejections(res ingest.Result) {
	if len(res.Errors) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range res.Errors {
		s.recent = append(s.recent, e.Reason)
	}
	if len(s.recent) > maxRecent {
		s.recent = append([]string(nil), s.recent[len(s.recent)-maxRecent:]...)
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
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}
