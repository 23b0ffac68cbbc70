// Package ingest turns untrusted input lines into events and commits them:
// it splits a body into lines, parses each with the source's parser, builds
// the stored document and index terms, and proposes the batch as one Raft
// command. A bad line is reported by number and reason and the good lines
// are kept; a body over the limits is refused whole; when too many batches
// are in flight the caller is told to come back later.
package ingest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/command"
)

// Limits bound what one request may carry.
type Limits struct {
	MaxBodyBytes int64 // after decompression
	MaxLineBytes int
	MaxLines     int
	MaxInFlight  int // batches being committed at once; more get EBUSY
	// MaxEntryBytes splits a large batch into several log entries.
	MaxEntryBytes int
}

// DefaultLimits suit a 2-core appliance.
var DefaultLimits = Limits{
	MaxBodyBytes:  32 << 20,
	MaxLineBytes:  1 << 20,
	MaxLines:      100_000,
	MaxInFlight:   64,
	MaxEntryBytes: 8 << 20,
}

// LineError reports one rejected line.
type LineError struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// Result is the answer to one ingest request.
type Result struct {
	Accepted int         `json:"accepted"`
	Rejected int         `json:"rejected"`
	Errors   []LineError `json:"errors"`
}

// maxReportedErrors keeps the answer small when every line is bad.
const maxReportedErrors = 100

// Service ingests batches.
type Service struct {
	proposer command.Proposer
	parsers  map[string]Parser
	limits   Limits
	now      func() time.Time
	inFlight chan struct{}
	metrics  *metrics
	// counters is fixed at New (one per source), so it is read unlocked.
	counters map[string]*Counter
}

// New returns a Service that commits through p. reg may be nil.
func New(p command.Proposer, limits Limits, now func() time.Time, reg prometheus.Registerer) *Service {
	s := &Service{
		proposer: p,
		parsers:  sources(),
		limits:   limits,
		now:      now,
		inFlight: make(chan struct{}, limits.MaxInFlight),
		metrics:  newMetrics(reg),
		counters: map[string]*Counter{},
	}
	for src := range s.parsers {
		s.counters[src] = &Counter{}
	}
	s.metrics.queueDepth = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "xdr_ingest_batches_in_flight", Help: "Ingest batches being committed now.",
	}, func() float64 { return float64(len(s.inFlight)) })
	if reg != nil {
		// Every source's series exist from the start, at zero, so
		// dashboards and rate() alerts have something to read.
		reg.MustRegister(s.metrics.queueDepth, newSourceCollector(s))
	}
	return s
}

// Sources lists the sources this build can parse.
func (s *Service) Sources() []string {
	out := make([]string, 0, len(s.parsers))
	for k := range s.parsers {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Request is one batch to ingest.
type Request struct {
	Tenant string
	Source string
	// BatchID makes a retry idempotent: the same ID and body store the same
	// events once. Empty: a random ID.
	BatchID string
	Body    io.Reader
}

// Ingest parses and commits one batch. It returns only after the accepted
// events are committed; on error nothing of the batch is acknowledged.
func (s *Service) Ingest(ctx context.Context, req Request) (Result, error) {
	parse, err := s.parser(req.Source)
	if err != nil {
		return Result{}, err
	}
	idempotent := req.BatchID != ""
	if !idempotent {
		req.BatchID = randomID()
	} else if len(req.BatchID) > 128 {
		return Result{}, appliance.Errorf(appliance.EINVALID, "batch id longer than 128 characters")
	}
	select {
	case s.inFlight <- struct{}{}:
		defer func() { <-s.inFlight }()
	default:
		s.metrics.busy.Inc()
		return Result{}, appliance.Errorf(appliance.EBUSY, "ingest queue is full (%d batches in flight); retry later", s.limits.MaxInFlight)
	}
	b := s.newBatch(req.Tenant, req.Source, req.BatchID, parse)
	err = s.readBody(b, req.Body)
	if err == nil {
		err = s.propose(ctx, b, idempotent)
	}
	if err != nil {
		// The sender is told and may retry: nothing was acknowledged.
		n := len(b.events) + b.res.Rejected
		s.counters[b.h.source].Add(n, 0, 0, n, time.Time{})
		return Result{}, err
	}
	return s.committed(b), nil
}

// IngestMessages parses and commits messages that arrived outside HTTP
// (syslog) as one batch; message i is "line" i+1 in errors. Unlike Ingest it
// waits for room in the in-flight queue, so a full queue slows the sender
// (TCP) instead of losing its messages.
func (s *Service) IngestMessages(ctx context.Context, tenant, source string, msgs [][]byte) (Result, error) {
	parse, err := s.parser(source)
	if err != nil {
		return Result{}, err
	}
	select {
	case s.inFlight <- struct{}{}:
		defer func() { <-s.inFlight }()
	case <-ctx.Done():
		return Result{}, appliance.Errorf(appliance.EUNAVAILABLE, "ingest stopped: %v", ctx.Err())
	}
	b := s.newBatch(tenant, source, randomID(), parse)
	for i, m := range msgs {
		if len(m) > s.limits.MaxLineBytes {
			b.reject(i+1, fmt.Errorf("message is longer than %d bytes", s.limits.MaxLineBytes))
			continue
		}
		b.add(i+1, m)
	}
	// A failed batch is not counted: the listener retries it, and counts
	// what it gives up on as dropped itself.
	if err := s.propose(ctx, b, false); err != nil {
		return Result{}, err
	}
	return s.committed(b), nil
}

func (s *Service) parser(source string) (Parser, error) {
	parse, ok := s.parsers[source]
	if !ok {
		return nil, appliance.Errorf(appliance.EINVALID, "unknown source %q (known: %v)", source, s.Sources())
	}
	return parse, nil
}

// parsedEvent is an event with what splitting and deduplication need to
// know about the input line it came from.
type parsedEvent struct {
	appliance.Event
	lineHash uint64
	lineSize int
}

// batch accumulates the parsed events and the rejections of one request.
type batch struct {
	h       header
	batchID string
	parse   Parser
	events  []parsedEvent
	res     Result
	build   docBuilder
}

func (s *Service) newBatch(tenant, source, batchID string, parse Parser) *batch {
	return &batch{h: header{tenant: tenant, source: source, received: s.now().UTC()}, batchID: batchID, parse: parse,
		res: Result{Errors: []LineError{}}}
}

// add parses one line; a bad line is recorded as rejected.
func (b *batch) add(lineNo int, line []byte) {
	p, err := b.parse(line, b.h.received)
	lh := lineHash(b.batchID, lineNo, line)
	var ev appliance.Event
	if err == nil {
		ev, err = buildEvent(b.h, appliance.NewEventID(eventTime(p, b.h), lh), p, &b.build)
		releaseFields(p.Fields) // the document and terms hold copies
	}
	if err != nil {
		b.reject(lineNo, err)
		return
	}
	b.events = append(b.events, parsedEvent{Event: ev, lineHash: lh, lineSize: len(line)})
}

func (b *batch) reject(lineNo int, err error) {
	b.res.Rejected++
	if len(b.res.Errors) < maxReportedErrors {
		b.res.Errors = append(b.res.Errors, LineError{Line: lineNo, Reason: err.Error()})
	}
}

// readBody splits an NDJSON body into lines and adds each; a body or line
// over the limits fails the whole request.
func (s *Service) readBody(b *batch, body io.Reader) error {
	limited := &io.LimitedReader{R: body, N: s.limits.MaxBodyBytes + 1}
	sc := bufio.NewScanner(limited)
	sc.Buffer(make([]byte, 0, 64<<10), s.limits.MaxLineBytes+2) // room for CR LF
	lineNo := 0
	for sc.Scan() {
		lineNo++
		if lineNo > s.limits.MaxLines {
			return appliance.Errorf(appliance.ETOOLARGE, "batch has more than %d lines; split it", s.limits.MaxLines)
		}
		line := bytes.TrimRight(sc.Bytes(), "\r")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if len(line) > s.limits.MaxLineBytes {
			return appliance.Errorf(appliance.ETOOLARGE, "line %d is longer than %d bytes", lineNo, s.limits.MaxLineBytes)
		}
		b.add(lineNo, line)
	}
	if limited.N <= 0 {
		return appliance.Errorf(appliance.ETOOLARGE, "body exceeds %d bytes", s.limits.MaxBodyBytes)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return appliance.Errorf(appliance.ETOOLARGE, "line %d is longer than %d bytes", lineNo+1, s.limits.MaxLineBytes)
		}
		return appliance.Errorf(appliance.EINVALID, "reading body after line %d: %v", lineNo, err)
	}
	return nil
}

func eventTime(p Parsed, h header) time.Time {
	if p.Timestamp.IsZero() {
		return h.received
	}
	return p.Timestamp
}

// committed accounts for a committed batch and returns its result.
func (s *Service) committed(b *batch) Result {
	res := b.res
	res.Accepted = len(b.events)
	var last time.Time
	if res.Accepted > 0 {
		last = b.h.received
	}
	s.counters[b.h.source].Add(res.Accepted+res.Rejected, res.Accepted, res.Rejected, 0, last)
	s.metrics.batchSize.Observe(float64(res.Accepted))
	return res
}

// propose proposes the batch's events, split into entries of bounded size.
// Split points depend only on the input, so a retry of the same body splits
// the same way and each part deduplicates against its first application.
func (s *Service) propose(ctx context.Context, b *batch, idempotent bool) error {
	events := b.events
	// A stored event is about twice its input line (normalised fields plus
	// the original), so the input budget is half the entry budget.
	budget := s.limits.MaxEntryBytes / 2
	// Every part carries the digest of the whole request, so reusing a key
	// with a body that merely extends or cuts the first one is a conflict.
	whole := xxhash.New()
	var hb [8]byte
	for _, e := range events {
		binary.BigEndian.PutUint64(hb[:], e.lineHash)
		whole.Write(hb[:])
	}
	digest := whole.Sum64()
	var part uint32
	for start := 0; start < len(events); part++ {
		end, size := start, 0
		for end < len(events) && (end == start || size+events[end].lineSize < budget) {
			size += events[end].lineSize
			end++
		}
		cmd := &command.IngestBatch{Tenant: b.h.tenant, Source: b.h.source, BatchID: b.batchID,
			Idempotent: idempotent, Part: part, Digest: digest, Events: make([]appliance.Event, 0, end-start)}
		for _, e := range events[start:end] {
			cmd.Events = append(cmd.Events, e.Event)
		}
		if err := s.proposer.Propose(ctx, cmd); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// lineHash identifies a line within a batch: its number and its content, so
// the same key with other content never yields the same event ID.
func lineHash(batchID string, lineNo int, line []byte) uint64 {
	d := xxhash.New()
	d.WriteString(batchID)
	var b [24]byte
	d.Write(strconv.AppendInt(append(b[:0], '/'), int64(lineNo), 10))
	d.Write([]byte{'/'})
	d.Write(line)
	return d.Sum64()
}

func randomID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("ingest: no randomness: %v", err))
	}
	return hex.EncodeToString(b[:])
}

type metrics struct {
	busy       prometheus.Counter
	batchSize  prometheus.Histogram
	queueDepth prometheus.GaugeFunc
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		busy: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "xdr_ingest_refused_busy_total", Help: "Ingest requests refused because the queue was full.",
		}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "xdr_ingest_batch_events", Help: "Events per committed ingest request.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 9),
		}),
	}
	if reg != nil {
		reg.MustRegister(m.busy, m.batchSize)
	}
	return m
}
