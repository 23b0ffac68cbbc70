package eventstore

import (
	"bytes"
	"context"
	"time"

	"github.com/dgraph-io/badger/v4"
	json "github.com/goccy/go-json"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/query"
)

// Search limits.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
	// maxPrefixIDs caps the IDs a prefix term may collect before the planner
	// gives up on the index and scans instead.
	maxPrefixIDs = 200_000
)

// Search returns events of one tenant matching the request, newest first.
// Indexed terms drive the scan where the query allows (an AND intersects its
// indexed terms, an OR of indexed terms unions them); every candidate is then
// checked against the whole query, so the index only ever narrows.
func (s *Store) Search(ctx context.Context, req appliance.EventSearch) (appliance.EventPage, error) {
	return s.search(ctx, req, true)
}

// search is Search that may be told not to use the indexes (tests compare
// the planner with the plain scan).
func (s *Store) search(ctx context.Context, req appliance.EventSearch, useIndex bool) (appliance.EventPage, error) {
	limit := req.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	if limit > MaxLimit {
		limit = MaxLimit
	}
	lower, upper := bounds(req.From, req.To)
	if req.Cursor != (appliance.EventID{}) {
		c, ok := before(req.Cursor)
		if !ok {
			return appliance.EventPage{}, nil
		}
		if bytes.Compare(c[:], upper[:]) < 0 {
			upper = c
		}
	}
	var res appliance.EventPage
	err := s.viewRollups(func(rv rollupView) error {
		txn := rv.txn
		pg := &page{ctx: ctx, expr: req.Expr, limit: limit, res: &res}
		p := &planner{txn: txn, rv: rv, tenant: req.Tenant, lower: lower, upper: upper}
		var it idIter
		if useIndex {
			it = p.plan(req.Expr)
		}
		if it == nil {
			return s.scan(txn, req.Tenant, lower, upper, pg)
		}
		defer it.close()
		res.Indexed = true
		return s.fetch(txn, req.Tenant, it, upper, pg)
	})
	return res, err
}

// page collects the matching candidates of a search into one page.
type page struct {
	ctx   context.Context
	expr  query.Expr
	limit int
	res   *appliance.EventPage
	last  appliance.EventID // of the last event on the page
}

// offer checks one candidate, newest first; it reports whether the page is
// complete (the candidate matched and would begin the next page).
func (p *page) offer(id appliance.EventID, doc []byte) (full bool, err error) {
	if p.res.Scanned%1024 == 1023 && p.ctx.Err() != nil {
		return false, p.ctx.Err()
	}
	p.res.Scanned++
	if !matches(p.expr, doc) {
		return false, nil
	}
	if len(p.res.Events) == p.limit {
		p.res.Next = p.last
		return true, nil
	}
	p.res.Events = append(p.res.Events, doc)
	p.last = id
	return false, nil
}

// fetch walks an index iterator, reading and checking each candidate.
func (s *Store) fetch(txn *badger.Txn, tenant string, it idIter, upper appliance.EventID, pg *page) error {
	for ok := it.seek(upper); ok; ok = it.next() {
		id := it.id()
		item, err := txn.Get(eventKey(tenant, id))
		if err != nil {
			return err // an index entry without its event is corruption
		}
		doc, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		if full, err := pg.offer(id, doc); full || err != nil {
			return err
		}
	}
	return nil
}

// scan walks the tenant's events newest first and checks each.
func (s *Store) scan(txn *badger.Txn, tenant string, lower, upper appliance.EventID, pg *page) error {
	prefix := tenantPrefix(prefixEvent, tenant)
	it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: prefix, PrefetchValues: true, PrefetchSize: 64})
	defer it.Close()
	for it.Seek(append(bytes.Clone(prefix), upper[:]...)); it.Valid(); it.Next() {
		id := idFromKey(it.Item().Key())
		if bytes.Compare(id[:], lower[:]) < 0 {
			return nil
		}
		doc, err := it.Item().ValueCopy(nil)
		if err != nil {
			return err
		}
		if full, err := pg.offer(id, doc); full || err != nil {
			return err
		}
	}
	return nil
}

func matches(e query.Expr, doc []byte) bool {
	if e == nil {
		return true
	}
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		return false
	}
	return query.Match(e, query.DocFields(m, doc))
}

// bounds turns a time range into an inclusive ID range.
func bounds(from, to time.Time) (lower, upper appliance.EventID) {
	for i := range upper {
		upper[i] = 0xff
	}
	if !from.IsZero() {
		lower = appliance.NewEventID(from, 0)
	}
	if !to.IsZero() {
		upper = appliance.NewEventID(to, ^uint64(0))
	}
	return lower, upper
}

// before returns the largest ID smaller than id.
func before(id appliance.EventID) (appliance.EventID, bool) {
	for i := len(id) - 1; i >= 0; i-- {
		if id[i] > 0 {
			id[i]--
			for j := i + 1; j < len(id); j++ {
				id[j] = 0xff
			}
			return id, true
		}
	}
	return id, false
}
