package auth

import (
	"context"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/command"
)

// Tokens lists a tenant's tokens, hashes only.
func (s *Service) Tokens(ctx context.Context, tenant string) ([]appliance.Token, error) {
	return s.reader.Tokens(ctx, tenant)
}

// RevokeToken deletes a tenant's token by the hash of its secret. Once it
// returns, Authenticate refuses the secret on this node, and on every other
// node once it has applied the command.
func (s *Service) RevokeToken(ctx context.Context, tenant string, hash [32]byte) error {
	return s.proposer.Propose(ctx, &command.RevokeToken{Tenant: tenant, Hash: hash})
}
