package auth_test

import (
	"testing"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/auth"
	"github.com/minixdr/xdr/appliance/command"
)

func TestRevokeToken(t *testing.T) {
	e := bootstrapped(t)
	e.mustPropose(t, &command.CreateTenant{Tenant: appliance.Tenant{Name: "acme", Created: t0}})
	keep, err := e.svc.CreateToken(ctx, "default", "keep", appliance.ScopeIngest, "")
	if err != nil {
		t.Fatal(err)
	}
	gone, err := e.svc.CreateToken(ctx, "default", "gone", appliance.ScopeAPI, "")
	if err != nil {
		t.Fatal(err)
	}
	other, err := e.svc.CreateToken(ctx, "acme", "other", appliance.ScopeIngest, "")
	if err != nil {
		t.Fatal(err)
	}

	// Another tenant cannot revoke a token it does not own.
	wantCode(t, e.svc.RevokeToken(ctx, "acme", auth.HashSecret(gone)), appliance.ENOTFOUND)
	if _, err := e.svc.Authenticate(ctx, gone); err != nil {
		t.Fatalf("a failed cross-tenant revoke broke the token: %v", err)
	}

	if err := e.svc.RevokeToken(ctx, "default", auth.HashSecret(gone)); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Authenticate(ctx, gone)
	wantCode(t, err, appliance.EUNAUTHORIZED)
	for _, s := range []string{keep, other} {
		if _, err := e.svc.Authenticate(ctx, s); err != nil {
			t.Errorf("revoking one token broke another: %v", err)
		}
	}
	toks, err := e.svc.Tokens(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	if len(toks) != 1 || toks[0].Name != "keep" {
		t.Errorf("tokens after revoking %q: %+v", "gone", toks)
	}
	// A second revoke says the token is gone.
	wantCode(t, e.svc.RevokeToken(ctx, "default", auth.HashSecret(gone)), appliance.ENOTFOUND)
}
