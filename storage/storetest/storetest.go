// Package storetest holds helpers for the tests of storage and cluster: it
// opens real stores in temporary directories and builds events the way
// appliance/ingest builds them (stored JSON document plus index terms), so
// tests exercise the real formats without importing the ingest service.
//
// Only tests import it.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/command"
	"github.com/minixdr/xdr/storage"
)

// Discard is a logger that drops everything.
var Discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// MustOpenStore opens a store in a new temporary directory and closes it
// when the test ends.
func MustOpenStore(tb testing.TB) *storage.Store {
	tb.Helper()
	return MustOpenStoreAt(tb, filepath.Join(tb.TempDir(), "state"))
}

// MustOpenStoreAt opens the store in dir and closes it when the test ends
// (closing twice is harmless, so a test may close it earlier to reopen).
func MustOpenStoreAt(tb testing.TB, dir string) *storage.Store {
	tb.Helper()
	s, err := storage.Open(dir, Discard)
	if err != nil {
		tb.Fatalf("open store %s: %v", dir, err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// Encode encodes a command or fails the test.
func Encode(tb testing.TB, c command.Command) []byte {
	tb.Helper()
	b, err := command.Encode(c)
	if err != nil {
		tb.Fatalf("encode %s: %v", c.Type(), err)
	}
	return b
}

// Log is an in-process Raft log in front of a store: it hands out increasing
// indexes and applies each entry as Raft would.
type Log struct {
	TB    testing.TB
	Store *storage.Store
	Index uint64 // index of the last entry applied
}

// Apply encodes and applies c as the next entry and returns Apply's result
// as an error (nil when the command succeeded).
func (l *Log) Apply(c command.Command) error {
	l.TB.Helper()
	l.Index++
	err := AsError(l.TB, l.Store.Apply(&raft.Log{Index: l.Index, Term: 1, Type: raft.LogCommand, Data: Encode(l.TB, c)}))
	// As a proposer does, wait until the stores hold the entry.
	if werr := l.Store.Events.Wait(); werr != nil {
		l.TB.Fatal(werr)
	}
	return err
}

// MustApply applies c and fails the test on a domain error.
func (l *Log) MustApply(c command.Command) {
	l.TB.Helper()
	if err := l.Apply(c); err != nil {
		l.TB.Fatalf("apply %s at %d: %v", c.Type(), l.Index, err)
	}
}

// AsError converts an FSM Apply result to an error, failing on anything that
// is neither nil nor an error.
func AsError(tb testing.TB, res any) error {
	tb.Helper()
	switch r := res.(type) {
	case nil:
		return nil
	case error:
		return r
	}
	tb.Fatalf("Apply returned %T (%v), want nil or error", res, res)
	return nil
}

// MustDigest returns the store's digest and applied index.
func MustDigest(tb testing.TB, s *storage.Store) (string, uint64) {
	tb.Helper()
	d, applied, err := s.Digest(context.Background())
	if err != nil {
		tb.Fatalf("digest: %v", err)
	}
	return d, applied
}

// Base is the time of the first generated event.
var Base = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// Event builds an event as appliance/ingest does for the "json" source: the
// document holds id, tenant, source, @timestamp and received, then the
// normalised flat fields in key order, then the original; Terms hold the
// source and every indexed field's normalised value.
func Event(tenant, source string, ts time.Time, hash uint64, fields map[string]any) appliance.Event {
	return event(tenant, source, ts, hash, fields, nil)
}

// LineEvent is Event for a source whose input is a text line (syslog): the
// original is the raw line as a JSON string.
func LineEvent(tenant, source string, ts time.Time, hash uint64, fields map[string]any, line string) appliance.Event {
	return event(tenant, source, ts, hash, fields, line)
}

func event(tenant, source string, ts time.Time, hash uint64, fields map[string]any, line any) appliance.Event {
	id := appliance.NewEventID(ts, hash)
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteString(`{"id":"` + id.String() + `","tenant":`)
	writeJSON(&b, tenant)
	b.WriteString(`,"source":`)
	writeJSON(&b, source)
	b.WriteString(`,"@timestamp":"` + ts.Format(time.RFC3339Nano) + `"`)
	b.WriteString(`,"received":"` + ts.Add(time.Second).Format(time.RFC3339Nano) + `"`)
	terms := []appliance.Term{{Field: appliance.FieldSource, Value: appliance.IndexValue(source)}}
	original := map[string]any{"@timestamp": ts.Format(time.RFC3339Nano)}
	for _, k := range keys {
		v := fields[k]
		b.WriteByte(',')
		writeJSON(&b, k)
		b.WriteByte(':')
		writeJSON(&b, v)
		original[k] = v
		if !appliance.IsIndexed(k) {
			continue
		}
		if list, ok := v.([]any); ok {
			for _, e := range list {
				terms = append(terms, appliance.Term{Field: k, Value: appliance.IndexValue(valueString(e))})
			}
			continue
		}
		terms = append(terms, appliance.Term{Field: k, Value: appliance.IndexValue(valueString(v))})
	}
	b.WriteString(`,"original":`)
	if line != nil {
		writeJSON(&b, line)
	} else {
		writeJSON(&b, original)
	}
	b.WriteByte('}')
	return appliance.Event{ID: id, Timestamp: ts, Doc: bytes.Clone(b.Bytes()), Terms: terms}
}

func writeJSON(b *bytes.Buffer, v any) {
	if f, ok := v.(float64); ok { // as ingest writes numbers: no exponent
		b.WriteString(strconv.FormatFloat(f, 'f', -1, 64))
		return
	}
	j, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	b.Write(j)
}

func valueString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	panic("storetest: unsupported value")
}

// SSHFields are the normalised fields of an sshd authentication event.
func SSHFields(i int) map[string]any {
	users := []string{"root", "admin", "alice", "bob"}
	outcome := "failure"
	if i%5 == 0 {
		outcome = "success"
	}
	return map[string]any{
		"event.action":   "ssh_login",
		"event.category": []any{"authentication"},
		"event.outcome":  outcome,
		"source.ip":      "10.0.0." + strconv.Itoa(i%7+1),
		"source.port":    float64(22),
		"user.name":      users[i%len(users)],
		"host.name":      "web-" + strconv.Itoa(i%3+1),
		"message":        "Failed password for " + users[i%len(users)] + " from 10.0.0." + strconv.Itoa(i%7+1) + " port 51234 ssh2",
	}
}

// SSHLine is the sshd syslog line SSHFields(i) was parsed from.
func SSHLine(i int) string {
	f := SSHFields(i)
	return "<38>Mar  1 12:00:00 " + f["host.name"].(string) + " sshd[4242]: " + f["message"].(string)
}

// Batch builds an ingest batch of n sshd events starting at event number
// first, one second apart.
func Batch(tenant, batchID string, first, n int) *command.IngestBatch {
	b := &command.IngestBatch{Tenant: tenant, Source: "json", BatchID: batchID}
	for i := first; i < first+n; i++ {
		b.Events = append(b.Events, Event(tenant, "json", Base.Add(time.Duration(i)*time.Second), uint64(i), SSHFields(i)))
	}
	return b
}

// Proposer is a command.Proposer over a store for service tests: it encodes
// each command, decodes it again (so the test covers the log encoding),
// records it, and applies it at the next index. With a nil Store it only
// records. Safe for concurrent use.
type Proposer struct {
	Store *storage.Store

	mu       sync.Mutex
	index    uint64
	proposed []command.Command
}

// Propose implements command.Proposer.
func (p *Proposer) Propose(_ context.Context, c command.Command) error {
	data, err := command.Encode(c)
	if err != nil {
		return err
	}
	dec, err := command.Decode(data)
	if err != nil {
		return fmt.Errorf("entry does not decode: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.proposed = append(p.proposed, dec)
	p.index++
	if p.Store == nil {
		return nil
	}
	r := p.Store.Apply(&raft.Log{Index: p.index, Term: 1, Type: raft.LogCommand, Data: data})
	// As the cluster's proposer does, wait until the stores hold the entry.
	if err := p.Store.Events.Wait(); err != nil {
		return err
	}
	switch r := r.(type) {
	case nil:
		return nil
	case error:
		return r
	default:
		return fmt.Errorf("Apply returned %T", r)
	}
}

// Proposed returns the commands proposed so far, decoded from their entries.
func (p *Proposer) Proposed() []command.Command {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]command.Command(nil), p.proposed...)
}

// Clock is a settable time source for services that take a now function.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
