package ui

import (
	"context"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/auth"
	"github.com/minixdr/xdr/ui/pages"
)

// tokenAdmin is what the tokens page needs of the auth service beyond
// Authenticator.
type tokenAdmin interface {
	Tokens(ctx context.Context, tenant string) ([]appliance.Token, error)
	RevokeToken(ctx context.Context, tenant string, hash [32]byte) error
}

// tokensPerPage is the tokens list's page size.
const tokensPerPage = 50

// tokenRoles are the roles an api token may be given from the page.
var tokenRoles = []string{appliance.RoleReadOnlyAnalyst, appliance.RoleSOCAnalyst, appliance.RoleIncidentResponder,
	appliance.RoleSecurityAdmin, appliance.RoleSuperAdmin}

// tokensAllowed fails unless the signed-in user may manage tokens and the
// auth service can list and revoke them.
func (s *Server) tokensAllowed(r *http.Request) (tokenAdmin, error) {
	if !auth.CanAdminister(principalOf(r.Context())) {
		return nil, appliance.Errorf(appliance.EFORBIDDEN, "Managing tokens needs the super_admin or security_admin role.")
	}
	ta, ok := s.d.Auth.(tokenAdmin)
	if !ok {
		return nil, appliance.Errorf(appliance.EUNAVAILABLE, "Token management is not available on this node.")
	}
	return ta, nil
}

func (s *Server) tokensPage(w http.ResponseWriter, r *http.Request) {
	vm := pages.TokensVM{Form: pages.TokenForm{Scope: appliance.ScopeIngest, Role: appliance.RoleSOCAnalyst}}
	if name := r.URL.Query().Get("revoked"); name != "" {
		vm.Notice = "Token " + name + " was revoked: it no longer authenticates."
	}
	s.showTokens(w, r, http.StatusOK, vm)
}

// showTokens renders the tokens page around vm (its notice, error, form and
// new token), listing the tenant's tokens.
func (s *Server) showTokens(w http.ResponseWriter, r *http.Request, status int, vm pages.TokensVM) {
	chrome := chromeOf(r, "tokens")
	ta, err := s.tokensAllowed(r)
	if err != nil {
		s.renderError(w, r, chrome, statusOf(appliance.ErrorCode(err)), appliance.ErrorMessage(err))
		return
	}
	vm.Chrome, vm.Roles = chrome, tokenRoles
	toks, err := ta.Tokens(r.Context(), principalOf(r.Context()).Tenant)
	if err != nil {
		s.d.Log.Error("list tokens", "err", err)
		s.renderError(w, r, chrome, statusOf(appliance.ErrorCode(err)), appliance.ErrorMessage(err))
		return
	}
	pg := pageOf(len(toks), tokensPerPage, r.URL.Query().Get("page"), func(p int) string {
		return "/tokens?" + url.Values{"page": {strconv.Itoa(p)}}.Encode()
	})
	vm.Total, vm.Page, vm.PrevURL, vm.NextURL = pages.Thousands(len(toks)), pg.label, pg.prev, pg.next
	for _, t := range toks[pg.lo:pg.hi] {
		id := hex.EncodeToString(t.Hash[:])
		vm.Tokens = append(vm.Tokens, pages.TokenRow{Name: t.Name, Scope: t.Scope, Role: t.Role,
			Created: t.Created.UTC().Format("2006-01-02 15:04 UTC"), ID: id, Short: id[:12]})
	}
	s.render(w, r, status, pages.Tokens(vm))
}

func (s *Server) tokenCreate(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	form := pages.TokenForm{Name: r.PostFormValue("name"), Scope: r.PostFormValue("scope"), Role: r.PostFormValue("role")}
	vm := pages.TokensVM{Form: form}
	if _, err := s.tokensAllowed(r); err != nil {
		s.renderError(w, r, chromeOf(r, "tokens"), statusOf(appliance.ErrorCode(err)), appliance.ErrorMessage(err))
		return
	}
	var secret string
	var err error
	if form.Role == appliance.RoleSuperAdmin && form.Scope == appliance.ScopeAPI && p.Role != appliance.RoleSuperAdmin {
		err = appliance.Errorf(appliance.EFORBIDDEN, "Only a super_admin may grant super_admin.")
	} else {
		secret, err = s.d.Auth.CreateToken(r.Context(), p.Tenant, form.Name, form.Scope, form.Role)
	}
	if err != nil {
		vm.Error = appliance.ErrorMessage(err)
		s.showTokens(w, r, statusOf(appliance.ErrorCode(err)), vm)
		return
	}
	vm.Form = pages.TokenForm{Scope: form.Scope, Role: form.Role}
	vm.NewToken = &pages.NewToken{Name: form.Name, Secret: secret, Scope: form.Scope, Curl: ingestCurl(r, "$TOKEN")}
	s.showTokens(w, r, http.StatusCreated, vm)
}

func (s *Server) tokenRevoke(w http.ResponseWriter, r *http.Request) {
	ta, err := s.tokensAllowed(r)
	if err != nil {
		s.renderError(w, r, chromeOf(r, "tokens"), statusOf(appliance.ErrorCode(err)), appliance.ErrorMessage(err))
		return
	}
	var hash [32]byte
	if b, herr := hex.DecodeString(r.PostFormValue("token")); herr != nil || len(b) != len(hash) {
		err = appliance.Errorf(appliance.EINVALID, "The form named no token to revoke. Reload the page and try again.")
	} else {
		copy(hash[:], b)
		err = ta.RevokeToken(r.Context(), principalOf(r.Context()).Tenant, hash)
	}
	if err != nil {
		s.showTokens(w, r, statusOf(appliance.ErrorCode(err)), pages.TokensVM{Error: appliance.ErrorMessage(err),
			Form: pages.TokenForm{Scope: appliance.ScopeIngest, Role: appliance.RoleSOCAnalyst}})
		return
	}
	http.Redirect(w, r, "/tokens?"+url.Values{"revoked": {r.PostFormValue("name")}}.Encode(), http.StatusSeeOther)
}
