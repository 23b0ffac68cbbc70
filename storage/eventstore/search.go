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
	err := s.db.View(func(txn *badger.Txn) error {
		p := &planner{txn: txn, tenant: req.Tenant, lower: lower}
		it := p.plan(req.Expr)
		if it == nil {
			return s.scan(ctx, txn, req, lower, upper, limit, &res)
		}
		defer it.close()
		res.Indexed = true
		return s.fetch(ctx, txn, req, it, upper, limit, &res)
	})
	return res, err
}

// fetch walks an index iterator, reading and checking each candidate.
func (s *Store) fetch(ctx context.Context, txn *badger.Txn, req appliance.EventSearch, it idIter, upper appliance.EventID, limit int, res *appliance.EventPage) error {
	for ok := it.seek(upper); ok; ok = it.next() {
		if res.Scanned%1024 == 1023 && ctx.Err() != nil {
			return ctx.Err()
		}
		res.Scanned++
		id := it.id()
		item, err := txn.Get(eventKey(req.Tenant, id))
		if err != nil {
			return err // an index entry without its event is corruption
		}
		doc, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		if !matches(req.Expr, doc) {
			continue
		}
		if len(res.Events) == limit {
			res.Next = lastID(res)
			return nil
		}
		res.Events = append(res.Events, doc)
	}
	return nil
}

// scan walks the tenant's events newest first and checks each.
func (s *Store) scan(ctx context.Context, txn *badger.Txn, req appliance.EventSearch, lower, upper appliance.EventID, limit int, res *appliance.EventPage) error {
	prefix := tenantPrefix(prefixEvent, req.Tenant)
	it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: prefix, PrefetchValues: true, PrefetchSize: 64})
	defer it.Close()
	for it.Seek(append(bytes.Clone(prefix), upper[:]...)); it.Valid(); it.Next() {
		if res.Scanned%1024 == 1023 && ctx.Err() != nil {
			return ctx.Err()
		}
		id := idFromKey(it.Item().Key())
		if bytes.Compare(id[:], lower[:]) < 0 {
			return nil
		}
		res.Scanned++
		doc, err := it.Item().ValueCopy(nil)
		if err != nil {
			return err
		}
		if !matches(req.Expr, doc) {
			continue
		}
		if len(res.Events) == limit {
			res.Next = lastID(res)
			return nil
		}
		res.Events = append(res.Events, doc)
	}
	return nil
}

func lastID(res *appliance.EventPage) appliance.EventID {
	var head struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(res.Events[len(res.Events)-1], &head); err != nil {
		return appliance.EventID{}
	}
	id, _ := appliance.ParseEventID(head.ID)
	return id
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
