package ingest_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/command"
	"github.com/minixdr/xdr/appliance/ingest"
	"github.com/minixdr/xdr/storage"
	"github.com/minixdr/xdr/storage/storetest"
)

// storeProposer is the state machine behind a one-node log: it encodes each
// command as Raft would carry it, applies it to a real store at the next
// index and returns the command's domain error. It records every
// IngestBatch as the store decoded it, for tests that look at the entries.
type storeProposer struct {
	store *storage.Store // nil: decode only, store nothing

	mu      sync.Mutex
	index   uint64
	batches []*command.IngestBatch
}

func (p *storeProposer) Propose(_ context.Context, c command.Command) error {
	data, err := command.Encode(c)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	dec, err := command.Decode(data)
	if err != nil {
		return fmt.Errorf("entry does not decode: %w", err)
	}
	if b, ok := dec.(*command.IngestBatch); ok {
		p.batches = append(p.batches, b)
	}
	p.index++
	if p.store == nil {
		return nil
	}
	switch r := p.store.Apply(&raft.Log{Index: p.index, Term: 1, Type: raft.LogCommand, Data: data}).(type) {
	case nil:
		return nil
	case error:
		return r
	default:
		return fmt.Errorf("Apply returned %T", r)
	}
}

// Batches returns the IngestBatch commands proposed so far.
func (p *storeProposer) Batches() []*command.IngestBatch {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*command.IngestBatch(nil), p.batches...)
}

// gatedProposer blocks every Propose until release is closed, after
// announcing it on entered. It lets a test hold batches in flight.
type gatedProposer struct {
	next    command.Proposer
	entered chan struct{}
	release chan struct{}
}

func (p *gatedProposer) Propose(ctx context.Context, c command.Command) error {
	p.entered <- struct{}{}
	select {
	case <-p.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return p.next.Propose(ctx, c)
}

// failingProposer refuses every command with err.
type failingProposer struct{ err error }

func (p failingProposer) Propose(context.Context, command.Command) error { return p.err }

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var t0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// env is an ingest service over a real store.
type env struct {
	svc   *ingest.Service
	store *storage.Store
	prop  *storeProposer
	clock *clock
	reg   *prometheus.Registry
}

func newEnv(t testing.TB, limits ingest.Limits) *env {
	t.Helper()
	st := storetest.MustOpenStore(t)
	p := &storeProposer{store: st}
	c := newClock(t0)
	reg := prometheus.NewRegistry()
	return &env{svc: ingest.New(p, limits, c.Now, reg), store: st, prop: p, clock: c, reg: reg}
}

func (e *env) ingest(t testing.TB, tenant, batchID, body string) (ingest.Result, error) {
	t.Helper()
	return e.svc.Ingest(context.Background(), ingest.Request{Tenant: tenant, Source: "json", BatchID: batchID, Body: strings.NewReader(body)})
}

func (e *env) mustIngest(t testing.TB, tenant, batchID, body string) ingest.Result {
	t.Helper()
	res, err := e.ingest(t, tenant, batchID, body)
	if err != nil {
		t.Fatalf("Ingest: %v", err)
	}
	return res
}

// docs returns every stored document of tenant, newest first.
func (e *env) docs(t testing.TB, tenant string) [][]byte {
	t.Helper()
	var out [][]byte
	req := appliance.EventSearch{Tenant: tenant, Limit: 1000}
	for {
		page, err := e.store.Search(context.Background(), req)
		if err != nil {
			t.Fatalf("search: %v", err)
		}
		out = append(out, page.Events...)
		if page.Next == (appliance.EventID{}) {
			return out
		}
		req.Cursor = page.Next
	}
}

func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", code)
	}
	if got := appliance.ErrorCode(err); got != code {
		t.Fatalf("error %q has code %q, want %q", err, got, code)
	}
}

// lines joins lines with "\n" and ends the body with one.
func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }
