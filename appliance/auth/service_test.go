package auth_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/auth"
	"github.com/minixdr/xdr/appliance/command"
	"github.com/minixdr/xdr/storage"
	"github.com/minixdr/xdr/storage/storetest"
)

var t0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

const adminPassword = "Adm1n-initial-pass"

type env struct {
	svc   *auth.Service
	store *storage.Store
	dir   string
	prop  *storetest.Proposer
	clock *storetest.Clock
}

func newEnv(t testing.TB) *env {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "state")
	st := storetest.MustOpenStoreAt(t, dir)
	p := &storetest.Proposer{Store: st}
	c := storetest.NewClock(t0)
	svc, err := auth.New(p, st.SQL, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	return &env{svc: svc, store: st, dir: dir, prop: p, clock: c}
}

// bootstrapped is newEnv with tenant default and user admin.
func bootstrapped(t testing.TB) *env {
	t.Helper()
	e := newEnv(t)
	if created, err := e.svc.Bootstrap(context.Background(), adminPassword); err != nil || !created {
		t.Fatalf("Bootstrap = %v, %v", created, err)
	}
	return e
}

func (e *env) mustPropose(t testing.TB, c command.Command) {
	t.Helper()
	if err := e.prop.Propose(context.Background(), c); err != nil {
		t.Fatalf("propose %s: %v", c.Type(), err)
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

var ctx = context.Background()

func TestBootstrapCreatesTenantAndAdminOnce(t *testing.T) {
	e := newEnv(t)
	created, err := e.svc.Bootstrap(ctx, adminPassword)
	if err != nil || !created {
		t.Fatalf("first Bootstrap = %v, %v", created, err)
	}
	if ok, err := e.store.SQL.TenantExists(ctx, appliance.DefaultTenant); err != nil || !ok {
		t.Fatalf("tenant default: %v, %v", ok, err)
	}
	u, err := e.store.SQL.UserByName(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if u.Tenant != appliance.DefaultTenant || u.Role != appliance.RoleSuperAdmin || !u.Created.Equal(t0) {
		t.Fatalf("admin user %+v", u)
	}
	if u.PasswordHash == adminPassword || !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
		t.Fatalf("password stored as %q, want an argon2id hash", u.PasswordHash)
	}
	if ok, err := auth.VerifyPassword(u.PasswordHash, adminPassword); err != nil || !ok {
		t.Fatalf("stored hash does not verify: %v, %v", ok, err)
	}

	before := len(e.prop.Proposed())
	e.clock.Advance(time.Hour)
	created, err = e.svc.Bootstrap(ctx, "another password")
	if err != nil || created {
		t.Fatalf("second Bootstrap = %v, %v; want false, nil", created, err)
	}
	if n := len(e.prop.Proposed()) - before; n != 0 {
		t.Fatalf("second Bootstrap proposed %d commands", n)
	}
	if _, _, err := e.svc.Login(ctx, "admin", adminPassword); err != nil {
		t.Fatalf("the first password no longer works: %v", err)
	}
	_, _, err = e.svc.Login(ctx, "admin", "another password")
	wantCode(t, err, appliance.EUNAUTHORIZED)
}

func TestLoginOpensASessionThatAuthenticates(t *testing.T) {
	e := bootstrapped(t)
	secret, sess, err := e.svc.Login(ctx, "admin", adminPassword)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, auth.PrefixSession) {
		t.Fatalf("session secret %q lacks prefix %q", secret, auth.PrefixSession)
	}
	if sess.Hash != auth.HashSecret(secret) || sess.Tenant != appliance.DefaultTenant || sess.User != "admin" ||
		!sess.Created.Equal(t0) || !sess.Expires.Equal(t0.Add(auth.SessionTTL)) {
		t.Fatalf("session %+v", sess)
	}
	p, err := e.svc.Authenticate(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	want := appliance.Principal{Tenant: appliance.DefaultTenant, User: "admin", Role: appliance.RoleSuperAdmin, Scope: appliance.ScopeAPI, Via: "session"}
	if p != want {
		t.Fatalf("principal %+v, want %+v", p, want)
	}
	// A second login is a second session.
	other, _, err := e.svc.Login(ctx, "admin", adminPassword)
	if err != nil || other == secret {
		t.Fatalf("second login: %q, %v", other, err)
	}
	if _, err := e.svc.Authenticate(ctx, secret); err != nil {
		t.Fatalf("first session ended by the second login: %v", err)
	}
}

func TestLoginCarriesTheUsersTenantAndRole(t *testing.T) {
	e := bootstrapped(t)
	e.mustPropose(t, &command.CreateTenant{Tenant: appliance.Tenant{Name: "acme", Created: t0}})
	h, err := auth.HashPassword("alice-pass")
	if err != nil {
		t.Fatal(err)
	}
	e.mustPropose(t, &command.CreateUser{User: appliance.User{Tenant: "acme", Name: "alice", Role: appliance.RoleReadOnlyAnalyst, PasswordHash: h, Created: t0}})
	secret, _, err := e.svc.Login(ctx, "alice", "alice-pass")
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.svc.Authenticate(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	if p.Tenant != "acme" || p.User != "alice" || p.Role != appliance.RoleReadOnlyAnalyst || auth.CanAdminister(p) {
		t.Fatalf("principal %+v", p)
	}
}

func TestLoginFailuresLookAlike(t *testing.T) {
	e := bootstrapped(t)
	before := len(e.prop.Proposed())
	var msgs []string
	for _, c := range []struct{ user, pw string }{
		{"admin", "wrong"},
		{"admin", ""},
		{"admin", adminPassword + " "},
		{"Admin", adminPassword},
		{"nobody", adminPassword},
		{"", ""},
		{"admin' OR '1'='1", "x"},
	} {
		secret, sess, err := e.svc.Login(ctx, c.user, c.pw)
		wantCode(t, err, appliance.EUNAUTHORIZED)
		if secret != "" || sess != (appliance.Session{}) {
			t.Fatalf("failed login returned %q, %+v", secret, sess)
		}
		msgs = append(msgs, err.Error())
	}
	for _, m := range msgs {
		if m != msgs[0] {
			t.Fatalf("login failures differ: %q", msgs)
		}
	}
	if strings.Contains(msgs[0], "nobody") || strings.Contains(msgs[0], "not found") {
		t.Fatalf("message %q tells whether the user exists", msgs[0])
	}
	if n := len(e.prop.Proposed()) - before; n != 0 {
		t.Fatalf("failed logins proposed %d commands", n)
	}
}

func TestLoginWithMalformedStoredHash(t *testing.T) {
	for name, hash := range map[string]string{
		"not PHC": "garbage",
		"empty":   "",
		"zero passes": "$argon2id$v=19$m=64,t=0,p=1$MDEyMzQ1Njc4OWFiY2RlZg$" +
			"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	} {
		t.Run(name, func(t *testing.T) {
			e := bootstrapped(t)
			e.mustPropose(t, &command.CreateUser{User: appliance.User{Tenant: "default", Name: "broken", Role: appliance.RoleSOCAnalyst, PasswordHash: hash, Created: t0}})
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("Login panicked on stored hash %q: %v", hash, r)
					}
				}()
				_, _, err = e.svc.Login(ctx, "broken", "whatever")
			}()
			wantCode(t, err, appliance.EUNAUTHORIZED)
		})
	}
}

func TestSessionExpires(t *testing.T) {
	e := bootstrapped(t)
	secret, _, err := e.svc.Login(ctx, "admin", adminPassword)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(auth.SessionTTL - time.Nanosecond)
	if _, err := e.svc.Authenticate(ctx, secret); err != nil {
		t.Fatalf("1ns before expiry: %v", err)
	}
	e.clock.Advance(time.Nanosecond)
	_, err = e.svc.Authenticate(ctx, secret)
	wantCode(t, err, appliance.EUNAUTHORIZED)
	e.clock.Advance(365 * 24 * time.Hour)
	_, err = e.svc.Authenticate(ctx, secret)
	wantCode(t, err, appliance.EUNAUTHORIZED)
	// A new login works at the new time.
	fresh, _, err := e.svc.Login(ctx, "admin", adminPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Authenticate(ctx, fresh); err != nil {
		t.Fatalf("fresh session: %v", err)
	}
}

func TestLogout(t *testing.T) {
	e := bootstrapped(t)
	secret, _, err := e.svc.Login(ctx, "admin", adminPassword)
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := e.svc.Login(ctx, "admin", adminPassword)
	if err != nil {
		t.Fatal(err)
	}
	token, err := e.svc.CreateToken(ctx, appliance.DefaultTenant, "sensor", appliance.ScopeIngest, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Logout(ctx, secret); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Authenticate(ctx, secret)
	wantCode(t, err, appliance.EUNAUTHORIZED)
	if _, err := e.svc.Authenticate(ctx, other); err != nil {
		t.Fatalf("logout ended another session: %v", err)
	}
	// Logging out again, an unknown session, or something that is not a
	// session is a no-op.
	for _, s := range []string{secret, auth.PrefixSession + "unknown", "", "garbage", token} {
		if err := e.svc.Logout(ctx, s); err != nil {
			t.Fatalf("Logout(%q) = %v", s, err)
		}
	}
	if _, err := e.svc.Authenticate(ctx, token); err != nil {
		t.Fatalf("Logout with a token secret revoked the token: %v", err)
	}
}

func TestCreateToken(t *testing.T) {
	e := bootstrapped(t)
	e.mustPropose(t, &command.CreateTenant{Tenant: appliance.Tenant{Name: "acme", Created: t0}})
	cases := []struct {
		name                       string
		tenant, token, scope, role string
		wantCode                   string
		wantRole                   string
	}{
		{"ingest token", "default", "fw-01", appliance.ScopeIngest, "", "", ""},
		{"ingest token drops a role", "default", "fw-02", appliance.ScopeIngest, appliance.RoleSuperAdmin, "", ""},
		{"api token defaults to soc_analyst", "acme", "api-1", appliance.ScopeAPI, "", "", appliance.RoleSOCAnalyst},
		{"api token with a role", "acme", "api-2", appliance.ScopeAPI, appliance.RoleReadOnlyAnalyst, "", appliance.RoleReadOnlyAnalyst},
		{"api admin token", "default", "api-3", appliance.ScopeAPI, appliance.RoleSecurityAdmin, "", appliance.RoleSecurityAdmin},
		{"unknown scope", "default", "x1", "admin", "", appliance.EINVALID, ""},
		{"empty scope", "default", "x2", "", "", appliance.EINVALID, ""},
		{"scope in upper case", "default", "x3", "API", "", appliance.EINVALID, ""},
		{"name with a space", "default", "Bad Name", appliance.ScopeIngest, "", appliance.EINVALID, ""},
		{"empty name", "default", "", appliance.ScopeIngest, "", appliance.EINVALID, ""},
		{"name too long", "default", strings.Repeat("a", 64), appliance.ScopeIngest, "", appliance.EINVALID, ""},
		{"bad name and bad scope", "default", "-x", "nope", "", appliance.EINVALID, ""},
		{"unknown tenant", "nope", "x4", appliance.ScopeIngest, "", appliance.ENOTFOUND, ""},
		{"empty tenant", "", "x5", appliance.ScopeAPI, "", appliance.ENOTFOUND, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before, _ := e.store.SQL.Tokens(ctx, c.tenant)
			secret, err := e.svc.CreateToken(ctx, c.tenant, c.token, c.scope, c.role)
			if c.wantCode != "" {
				wantCode(t, err, c.wantCode)
				if secret != "" {
					t.Fatalf("secret %q returned with the error", secret)
				}
				if after, _ := e.store.SQL.Tokens(ctx, c.tenant); len(after) != len(before) {
					t.Fatalf("a refused token was stored: %+v", after)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(secret, auth.PrefixToken) {
				t.Fatalf("token %q lacks prefix %q", secret, auth.PrefixToken)
			}
			p, err := e.svc.Authenticate(ctx, secret)
			if err != nil {
				t.Fatal(err)
			}
			want := appliance.Principal{Tenant: c.tenant, Role: c.wantRole, Scope: c.scope, Via: "token:" + c.token}
			if p != want {
				t.Fatalf("principal %+v, want %+v", p, want)
			}
			tokens, err := e.store.SQL.Tokens(ctx, c.tenant)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, tok := range tokens {
				if tok.Name == c.token {
					found = true
					if tok.Hash != auth.HashSecret(secret) || tok.Scope != c.scope || tok.Role != c.wantRole || !tok.Created.Equal(t0) {
						t.Fatalf("stored token %+v", tok)
					}
				}
			}
			if !found {
				t.Fatalf("token %q not listed for tenant %q: %+v", c.token, c.tenant, tokens)
			}
		})
	}
}

// TestCreateTokenRefusesUnknownRoles: an api token acts with its role, and
// the appliance has five built-in roles (DESIGN.md); any other string is a
// mistake that should be refused, not stored.
func TestCreateTokenRefusesUnknownRoles(t *testing.T) {
	e := bootstrapped(t)
	for _, role := range []string{"root", "Super_Admin", "super_admin ", "admin"} {
		secret, err := e.svc.CreateToken(ctx, appliance.DefaultTenant, "t-"+strings.ToLower(strings.TrimSpace(strings.ReplaceAll(role, "_", "-"))), appliance.ScopeAPI, role)
		if err == nil {
			p, _ := e.svc.Authenticate(ctx, secret)
			t.Errorf("api token with role %q created; it authenticates as %+v", role, p)
			continue
		}
		wantCode(t, err, appliance.EINVALID)
	}
}

func TestAuthenticateRefusesGarbage(t *testing.T) {
	e := bootstrapped(t)
	token, err := e.svc.CreateToken(ctx, appliance.DefaultTenant, "sensor", appliance.ScopeIngest, "")
	if err != nil {
		t.Fatal(err)
	}
	session, _, err := e.svc.Login(ctx, "admin", adminPassword)
	if err != nil {
		t.Fatal(err)
	}
	unknownToken, _, _ := auth.NewSecret(auth.PrefixToken)
	unknownSession, _, _ := auth.NewSecret(auth.PrefixSession)
	var msgs []string
	for _, s := range []string{
		"", "garbage", auth.PrefixToken, auth.PrefixSession, unknownToken, unknownSession,
		"Bearer " + token, token + "x", token + " ", " " + token, strings.ToUpper(token),
		session[:len(session)-1], auth.PrefixToken + strings.TrimPrefix(session, auth.PrefixSession),
		auth.PrefixSession + strings.TrimPrefix(token, auth.PrefixToken), adminPassword,
	} {
		p, err := e.svc.Authenticate(ctx, s)
		if err == nil {
			t.Fatalf("Authenticate(%q) = %+v", s, p)
		}
		wantCode(t, err, appliance.EUNAUTHORIZED)
		if p != (appliance.Principal{}) {
			t.Fatalf("Authenticate(%q) returned %+v with its error", s, p)
		}
		msgs = append(msgs, err.Error())
	}
	for _, m := range msgs {
		if m != msgs[0] {
			t.Fatalf("failures differ: %q", msgs)
		}
	}
}

func TestTokensAreIsolatedByTenant(t *testing.T) {
	e := bootstrapped(t)
	for _, tenant := range []string{"alpha", "beta"} {
		e.mustPropose(t, &command.CreateTenant{Tenant: appliance.Tenant{Name: tenant, Created: t0}})
	}
	a, err := e.svc.CreateToken(ctx, "alpha", "same-name", appliance.ScopeAPI, "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.svc.CreateToken(ctx, "beta", "same-name", appliance.ScopeAPI, "")
	if err != nil {
		t.Fatal(err)
	}
	for secret, tenant := range map[string]string{a: "alpha", b: "beta"} {
		p, err := e.svc.Authenticate(ctx, secret)
		if err != nil || p.Tenant != tenant {
			t.Fatalf("token of %s authenticates as %+v, %v", tenant, p, err)
		}
	}
	if list, _ := e.store.SQL.Tokens(ctx, "alpha"); len(list) != 1 || list[0].Hash != auth.HashSecret(a) {
		t.Fatalf("alpha lists %+v", list)
	}
}

// TestSecretsAreNotStored checks invariant 9 on disk: neither the password
// nor any session or token secret appears in the state directory.
func TestSecretsAreNotStored(t *testing.T) {
	e := bootstrapped(t)
	session, _, err := e.svc.Login(ctx, "admin", adminPassword)
	if err != nil {
		t.Fatal(err)
	}
	token, err := e.svc.CreateToken(ctx, appliance.DefaultTenant, "sensor", appliance.ScopeAPI, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.SQL.Sync(); err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{"password": adminPassword, "session": session, "token": token,
		"session body": strings.TrimPrefix(session, auth.PrefixSession), "token body": strings.TrimPrefix(token, auth.PrefixToken)}
	files := 0
	err = filepath.WalkDir(e.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		for what, s := range secrets {
			if bytes.Contains(data, []byte(s)) {
				t.Errorf("%s found in plain text in %s", what, path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatal("no files in the state directory")
	}
}

func TestReaderFailuresAreNotMaskedAsBadCredentials(t *testing.T) {
	e := bootstrapped(t)
	token, err := e.svc.CreateToken(ctx, appliance.DefaultTenant, "sensor", appliance.ScopeIngest, "")
	if err != nil {
		t.Fatal(err)
	}
	session, _, err := e.svc.Login(ctx, "admin", adminPassword)
	if err != nil {
		t.Fatal(err)
	}
	e.store.SQL.Close() // the store's cleanup closes it again, harmlessly
	_, _, err = e.svc.Login(ctx, "admin", adminPassword)
	wantCode(t, err, appliance.EINTERNAL)
	_, err = e.svc.Authenticate(ctx, token)
	wantCode(t, err, appliance.EINTERNAL)
	_, err = e.svc.Authenticate(ctx, session)
	wantCode(t, err, appliance.EINTERNAL)
	_, err = e.svc.CreateToken(ctx, appliance.DefaultTenant, "other", appliance.ScopeIngest, "")
	wantCode(t, err, appliance.EINTERNAL)
	_, err = e.svc.Bootstrap(ctx, adminPassword)
	wantCode(t, err, appliance.EINTERNAL)
}

func TestCanAdminister(t *testing.T) {
	cases := []struct {
		scope, role string
		want        bool
	}{
		{appliance.ScopeAPI, appliance.RoleSuperAdmin, true},
		{appliance.ScopeAPI, appliance.RoleSecurityAdmin, true},
		{appliance.ScopeAPI, appliance.RoleSOCAnalyst, false},
		{appliance.ScopeAPI, appliance.RoleIncidentResponder, false},
		{appliance.ScopeAPI, appliance.RoleReadOnlyAnalyst, false},
		{appliance.ScopeAPI, "", false},
		{appliance.ScopeAPI, "Super_Admin", false},
		{appliance.ScopeAPI, "super_admin ", false},
		{appliance.ScopeIngest, appliance.RoleSuperAdmin, false},
		{appliance.ScopeIngest, appliance.RoleSecurityAdmin, false},
		{"", appliance.RoleSuperAdmin, false},
		{"API", appliance.RoleSuperAdmin, false},
	}
	for _, c := range cases {
		p := appliance.Principal{Tenant: "default", User: "u", Role: c.role, Scope: c.scope, Via: "session"}
		if got := auth.CanAdminister(p); got != c.want {
			t.Errorf("CanAdminister(scope %q, role %q) = %v, want %v", c.scope, c.role, got, c.want)
		}
	}
}

// flakyProposer refuses the first command of type fail, as a lost
// leadership would, and passes everything else to next.
type flakyProposer struct {
	next   command.Proposer
	fail   command.Type
	failed bool
}

func (p *flakyProposer) Propose(ctx context.Context, c command.Command) error {
	if c.Type() == p.fail && !p.failed {
		p.failed = true
		return appliance.ErrNotLeader
	}
	return p.next.Propose(ctx, c)
}

// TestCommitFailuresPropagate: when a command cannot be committed, the
// caller gets that error (never a secret for an unstored session or token),
// and a retry succeeds.
func TestCommitFailuresPropagate(t *testing.T) {
	for _, typ := range []command.Type{command.TypeCreateTenant, command.TypeCreateUser, command.TypeCreateSession, command.TypeCreateToken} {
		t.Run(typ.String(), func(t *testing.T) {
			base := newEnv(t)
			flaky := &flakyProposer{next: base.prop, fail: typ}
			svc, err := auth.New(flaky, base.store.SQL, base.clock.Now)
			if err != nil {
				t.Fatal(err)
			}
			var step func() error
			switch typ {
			case command.TypeCreateTenant, command.TypeCreateUser:
				step = func() error {
					created, err := svc.Bootstrap(ctx, adminPassword)
					if err == nil && !created {
						return fmt.Errorf("bootstrap after a failed attempt did not create the admin")
					}
					return err
				}
			case command.TypeCreateSession:
				svc.Bootstrap(ctx, adminPassword)
				step = func() error {
					secret, sess, err := svc.Login(ctx, "admin", adminPassword)
					if err != nil && (secret != "" || sess != (appliance.Session{})) {
						return fmt.Errorf("failed login returned %q", secret)
					}
					return err
				}
			case command.TypeCreateToken:
				svc.Bootstrap(ctx, adminPassword)
				step = func() error {
					secret, err := svc.CreateToken(ctx, appliance.DefaultTenant, "sensor", appliance.ScopeIngest, "")
					if err != nil && secret != "" {
						return fmt.Errorf("failed CreateToken returned %q", secret)
					}
					return err
				}
			}
			if err := step(); !errors.Is(err, appliance.ErrNotLeader) {
				t.Fatalf("first attempt: %v, want the commit error", err)
			}
			if err := step(); err != nil {
				t.Fatalf("retry: %v", err)
			}
		})
	}
}
