package ingest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/command"
	"github.com/minixdr/xdr/appliance/ingest"
	"github.com/minixdr/xdr/storage"
	"github.com/minixdr/xdr/storage/storetest"
)

// batches returns the IngestBatch commands p was given.
func batches(p *storetest.Proposer) []*command.IngestBatch {
	var out []*command.IngestBatch
	for _, c := range p.Proposed() {
		if b, ok := c.(*command.IngestBatch); ok {
			out = append(out, b)
		}
	}
	return out
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

var t0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// env is an ingest service over a real store.
type env struct {
	svc   *ingest.Service
	store *storage.Store
	prop  *storetest.Proposer
	clock *storetest.Clock
	reg   *prometheus.Registry
}

func newEnv(t testing.TB, limits ingest.Limits) *env {
	t.Helper()
	st := storetest.MustOpenStore(t)
	p := &storetest.Proposer{Store: st}
	c := storetest.NewClock(t0)
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
