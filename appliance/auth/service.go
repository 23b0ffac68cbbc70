// Package auth owns identity at its minimum: the bootstrap tenant and admin,
// argon2id password checks, login sessions, API tokens, and turning a
// presented secret into a Principal. Secrets are stored only as hashes and
// never logged.
package auth

import (
	"context"
	"strings"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/command"
)

// SessionTTL is how long a login lasts.
const SessionTTL = 12 * time.Hour

// Service implements authentication on the replicated state.
type Service struct {
	proposer command.Proposer
	reader   appliance.IdentityReader
	now      func() time.Time
	// dummyHash is verified against when a user does not exist, so a login
	// takes as long for an unknown user as for a wrong password.
	dummyHash string
}

// New returns the auth service.
func New(p command.Proposer, r appliance.IdentityReader, now func() time.Time) (*Service, error) {
	h, err := HashPassword("not a password")
	if err != nil {
		return nil, err
	}
	return &Service{proposer: p, reader: r, now: now, dummyHash: h}, nil
}

// Bootstrap creates tenant default and user admin with password, unless
// they exist. It is safe to run on every start of a leader.
func (s *Service) Bootstrap(ctx context.Context, password string) (created bool, err error) {
	if _, err := s.reader.UserByName(ctx, "admin"); err == nil {
		return false, nil
	} else if appliance.ErrorCode(err) != appliance.ENOTFOUND {
		return false, err
	}
	now := s.now().UTC()
	if err := s.proposer.Propose(ctx, &command.CreateTenant{Tenant: appliance.Tenant{Name: appliance.DefaultTenant, Created: now}}); err != nil {
		return false, err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return false, err
	}
	u := appliance.User{Tenant: appliance.DefaultTenant, Name: "admin", Role: appliance.RoleSuperAdmin, PasswordHash: hash, Created: now}
	if err := s.proposer.Propose(ctx, &command.CreateUser{User: u}); err != nil {
		return false, err
	}
	return true, nil
}

var errBadLogin = appliance.Errorf(appliance.EUNAUTHORIZED, "wrong user name or password")

// Login checks a password and opens a session; it returns the session secret.
func (s *Service) Login(ctx context.Context, username, password string) (string, appliance.Session, error) {
	u, err := s.reader.UserByName(ctx, username)
	if err != nil {
		if appliance.ErrorCode(err) != appliance.ENOTFOUND {
			return "", appliance.Session{}, err
		}
		VerifyPassword(s.dummyHash, password) //nolint:errcheck // timing only
		return "", appliance.Session{}, errBadLogin
	}
	ok, err := VerifyPassword(u.PasswordHash, password)
	if err != nil || !ok {
		return "", appliance.Session{}, errBadLogin
	}
	secret, hash, err := NewSecret(PrefixSession)
	if err != nil {
		return "", appliance.Session{}, err
	}
	now := s.now().UTC()
	sess := appliance.Session{Hash: hash, Tenant: u.Tenant, User: u.Name, Created: now, Expires: now.Add(SessionTTL)}
	if err := s.proposer.Propose(ctx, &command.CreateSession{Session: sess}); err != nil {
		return "", appliance.Session{}, err
	}
	return secret, sess, nil
}

// Logout ends the session of secret (a no-op for an unknown one).
func (s *Service) Logout(ctx context.Context, secret string) error {
	if !strings.HasPrefix(secret, PrefixSession) {
		return nil
	}
	return s.proposer.Propose(ctx, &command.DeleteSession{Hash: HashSecret(secret)})
}

// CreateToken makes an API token for tenant and returns its secret, shown
// once. An api-scoped token acts with role; an ingest token can only ingest.
func (s *Service) CreateToken(ctx context.Context, tenant, name, scope, role string) (string, error) {
	if err := appliance.ValidName("token", name); err != nil {
		return "", err
	}
	switch scope {
	case appliance.ScopeIngest:
		role = ""
	case appliance.ScopeAPI:
		switch role {
		case "":
			role = appliance.RoleSOCAnalyst
		case appliance.RoleSuperAdmin, appliance.RoleSecurityAdmin, appliance.RoleSOCAnalyst, appliance.RoleIncidentResponder, appliance.RoleReadOnlyAnalyst:
		default:
			return "", appliance.Errorf(appliance.EINVALID, "role %q is not a built-in role", role)
		}
	default:
		return "", appliance.Errorf(appliance.EINVALID, "scope %q: use %q or %q", scope, appliance.ScopeIngest, appliance.ScopeAPI)
	}
	if ok, err := s.reader.TenantExists(ctx, tenant); err != nil {
		return "", err
	} else if !ok {
		return "", appliance.Errorf(appliance.ENOTFOUND, "tenant %q does not exist", tenant)
	}
	secret, hash, err := NewSecret(PrefixToken)
	if err != nil {
		return "", err
	}
	t := appliance.Token{Tenant: tenant, Name: name, Scope: scope, Role: role, Hash: hash, Created: s.now().UTC()}
	if err := s.proposer.Propose(ctx, &command.CreateToken{Token: t}); err != nil {
		return "", err
	}
	return secret, nil
}

var errBadCredentials = appliance.Errorf(appliance.EUNAUTHORIZED, "missing, unknown or expired credentials")

// Authenticate turns a presented secret (API token or session) into the
// principal it acts as.
func (s *Service) Authenticate(ctx context.Context, secret string) (appliance.Principal, error) {
	switch {
	case strings.HasPrefix(secret, PrefixToken):
		t, err := s.reader.TokenByHash(ctx, HashSecret(secret))
		if err != nil {
			return appliance.Principal{}, notFoundAsUnauthorized(err)
		}
		return appliance.Principal{Tenant: t.Tenant, Role: t.Role, Scope: t.Scope, Via: "token:" + t.Name}, nil
	case strings.HasPrefix(secret, PrefixSession):
		sess, role, err := s.reader.SessionByHash(ctx, HashSecret(secret))
		if err != nil {
			return appliance.Principal{}, notFoundAsUnauthorized(err)
		}
		if !s.now().Before(sess.Expires) {
			return appliance.Principal{}, errBadCredentials
		}
		return appliance.Principal{Tenant: sess.Tenant, User: sess.User, Role: role, Scope: appliance.ScopeAPI, Via: "session"}, nil
	}
	return appliance.Principal{}, errBadCredentials
}

func notFoundAsUnauthorized(err error) error {
	if appliance.ErrorCode(err) == appliance.ENOTFOUND {
		return errBadCredentials
	}
	return err
}

// CanAdminister reports whether p may manage tokens and users of its tenant.
func CanAdminister(p appliance.Principal) bool {
	return p.Scope == appliance.ScopeAPI && (p.Role == appliance.RoleSuperAdmin || p.Role == appliance.RoleSecurityAdmin)
}
