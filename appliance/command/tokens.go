package command

// Commands of ingest-token management (types 56–63 are reserved for it).
const (
	TypeRevokeToken Type = 56
)

// RevokeToken deletes an API token of a tenant by the hash of its secret;
// from the moment it is applied the secret no longer authenticates.
// ENOTFOUND when the tenant has no such token.
type RevokeToken struct {
	Tenant string
	Hash   [32]byte
}

func (*RevokeToken) Type() Type { return TypeRevokeToken }
