package appliance

import (
	"context"
	"time"

	"github.com/minixdr/xdr/appliance/query"
)

// EventSearch asks for one page of a tenant's events.
type EventSearch struct {
	Tenant   string
	Expr     query.Expr // nil matches every event
	From, To time.Time  // zero: open bound; both inclusive
	Limit    int        // 0: the default page size
	Cursor   EventID    // zero: start at the newest; else strictly older than it
}

// EventPage is a page of event documents, newest first.
type EventPage struct {
	Events  [][]byte // stored JSON documents
	Next    EventID  // zero when there is no further page
	Indexed bool     // whether the plan used an index (for the UI and tests)
	Scanned int      // candidate events read
}

// EventReader reads stored events. Every method takes the tenant and never
// returns another tenant's data.
type EventReader interface {
	// Search returns a page of matching events (EINVALID for a bad request).
	Search(ctx context.Context, s EventSearch) (EventPage, error)
	// Get returns one event (ENOTFOUND if absent).
	Get(ctx context.Context, tenant string, id EventID) ([]byte, error)
}

// IdentityReader reads tenants, users, tokens and sessions.
type IdentityReader interface {
	TenantExists(ctx context.Context, tenant string) (bool, error)
	// UserByName: ENOTFOUND if there is no such user.
	UserByName(ctx context.Context, name string) (User, error)
	// TokenByHash: ENOTFOUND if there is no such token.
	TokenByHash(ctx context.Context, hash [32]byte) (Token, error)
	// SessionByHash returns the session and its user's role; ENOTFOUND if absent.
	SessionByHash(ctx context.Context, hash [32]byte) (Session, string, error)
	// Tokens lists a tenant's tokens (hashes only).
	Tokens(ctx context.Context, tenant string) ([]Token, error)
}
