package ingest

import (
	"sort"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Ingest accounting. Every node counts what it received itself: the
// counters live in memory, outside the replicated state, and start at zero
// when the process starts (as Prometheus counters do).
//
// For each source, received = accepted + rejected + dropped once the
// requests in flight have finished:
//   - accepted: committed as events;
//   - rejected: malformed, reported to the sender (HTTP) or in the sample of
//     recent syslog errors;
//   - dropped: read but neither committed nor rejected, because the request
//     was refused whole (over a limit, unreadable body) or its commit failed.
//     HTTP senders are told (4xx/5xx) and retry. A syslog batch whose commit
//     fails is retried by the listener and counted here only when it lands.

// Counts are one source's or listener's counters since the process started.
type Counts struct {
	Received uint64 `json:"received"`
	Accepted uint64 `json:"accepted"`
	Rejected uint64 `json:"rejected"`
	Dropped  uint64 `json:"dropped"`
}

// SourceHealth is the accounting of one ingest source on this node.
type SourceHealth struct {
	Source string `json:"source"`
	Counts
	// LastEvent is when an event of the source was last accepted (its
	// receipt by this node); nil if none was since the process started.
	LastEvent *time.Time `json:"last_event"`
}

// ListenerHealth is the accounting of one syslog listener on this node.
type ListenerHealth struct {
	Transport string `json:"transport"` // udp, tcp or tls
	Address   string `json:"address"`   // where it listens
	Tenant    string `json:"tenant"`    // that owns what it receives
	Counts
	// LastMessage is when the listener last received a message; nil if
	// never since the process started.
	LastMessage *time.Time `json:"last_message"`
}

// SyslogError is one rejected or lost syslog message, for operators: the
// sender got no answer.
type SyslogError struct {
	Time     time.Time `json:"time"`
	Listener string    `json:"listener"` // transport://address
	Tenant   string    `json:"tenant"`
	Reason   string    `json:"reason"`
}

// SyslogHealth is the syslog part of the health snapshot.
type SyslogHealth struct {
	Listeners    []ListenerHealth `json:"listeners"`
	RecentErrors []SyslogError    `json:"recent_errors"` // oldest first
}

// Health is a snapshot of this node's ingest accounting, for the
// ingest-health panel and GET /api/v1/ingest/health.
type Health struct {
	Sources []SourceHealth `json:"sources"` // sorted by source
	// Syslog is nil when the node has no syslog listener.
	Syslog *SyslogHealth `json:"syslog"`
}

// Counter counts received, accepted, rejected and dropped messages and when
// the last one came; safe for concurrent use. The zero value is ready.
type Counter struct {
	received, accepted, rejected, dropped atomic.Uint64
	last                                  atomic.Int64 // unix nanoseconds; 0: never
}

// Add records a batch: n received, of which accepted, rejected and
// dropped; at is when, recorded when any was accepted (sources) or received
// (listeners, which pass at only then).
func (c *Counter) Add(received, accepted, rejected, dropped int, at time.Time) {
	// Syslog counts each message as it comes: skip the zero adds.
	for _, a := range [...]struct {
		c *atomic.Uint64
		n int
	}{{&c.received, received}, {&c.accepted, accepted}, {&c.rejected, rejected}, {&c.dropped, dropped}} {
		if a.n != 0 {
			a.c.Add(uint64(a.n))
		}
	}
	if !at.IsZero() {
		c.last.Store(at.UnixNano())
	}
}

// Counts returns the counters now.
func (c *Counter) Counts() Counts {
	return Counts{Received: c.received.Load(), Accepted: c.accepted.Load(), Rejected: c.rejected.Load(), Dropped: c.dropped.Load()}
}

// Last is when the last counted message came, or nil.
func (c *Counter) Last() *time.Time {
	ns := c.last.Load()
	if ns == 0 {
		return nil
	}
	t := time.Unix(0, ns).UTC()
	return &t
}

// CounterDescs are the Prometheus descriptions of a family of Counters,
// named PREFIX_{received,accepted,rejected,dropped}_total with the given
// labels.
type CounterDescs struct {
	received, accepted, rejected, dropped *prometheus.Desc
}

// NewCounterDescs describes the counters of prefix; what says what is
// counted ("Input lines", "Syslog messages") and by what.
func NewCounterDescs(prefix, what string, labels ...string) CounterDescs {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prefix+"_"+name+"_total", what+" "+help, labels, nil)
	}
	return CounterDescs{
		received: d("received", "received."),
		accepted: d("accepted", "committed as events."),
		rejected: d("rejected", "rejected as malformed."),
		dropped:  d("dropped", "received but neither committed nor rejected (refused whole, queue full, or commit failed)."),
	}
}

// Describe sends the four descriptions.
func (d CounterDescs) Describe(ch chan<- *prometheus.Desc) {
	ch <- d.received
	ch <- d.accepted
	ch <- d.rejected
	ch <- d.dropped
}

// Collect sends c's four counters with the label values.
func (d CounterDescs) Collect(ch chan<- prometheus.Metric, c Counts, labelValues ...string) {
	for _, m := range []struct {
		desc *prometheus.Desc
		v    uint64
	}{{d.received, c.Received}, {d.accepted, c.Accepted}, {d.rejected, c.Rejected}, {d.dropped, c.Dropped}} {
		ch <- prometheus.MustNewConstMetric(m.desc, prometheus.CounterValue, float64(m.v), labelValues...)
	}
}

// sourceCollector exports the per-source counters as
// xdr_events_{received,accepted,rejected,dropped}_total{source}.
type sourceCollector struct {
	s     *Service
	descs CounterDescs
	last  *prometheus.Desc
}

func newSourceCollector(s *Service) *sourceCollector {
	return &sourceCollector{s: s, descs: NewCounterDescs("xdr_events", "Input lines (HTTP) or syslog messages, by source:", "source"),
		last: prometheus.NewDesc("xdr_events_last_accepted_timestamp_seconds",
			"When an event of the source was last accepted (Unix time); absent before the first.", []string{"source"}, nil)}
}

func (c *sourceCollector) Describe(ch chan<- *prometheus.Desc) {
	c.descs.Describe(ch)
	ch <- c.last
}

func (c *sourceCollector) Collect(ch chan<- prometheus.Metric) {
	for _, h := range c.s.Health().Sources {
		c.descs.Collect(ch, h.Counts, h.Source)
		if h.LastEvent != nil {
			ch <- prometheus.MustNewConstMetric(c.last, prometheus.GaugeValue, float64(h.LastEvent.UnixNano())/1e9, h.Source)
		}
	}
}

// Health returns this node's per-source accounting. The syslog part is the
// listeners' (syslogd.Server.Health); this service has none.
func (s *Service) Health() Health {
	h := Health{Sources: make([]SourceHealth, 0, len(s.counters))}
	for src, c := range s.counters {
		h.Sources = append(h.Sources, SourceHealth{Source: src, Counts: c.Counts(), LastEvent: c.Last()})
	}
	sort.Slice(h.Sources, func(i, j int) bool { return h.Sources[i].Source < h.Sources[j].Source })
	return h
}
