package appliance

import (
	"regexp"
	"time"
)

// DefaultTenant is created at bootstrap.
const DefaultTenant = "default"

// Roles built into every appliance (DESIGN.md, identity and tenancy).
const (
	RoleSuperAdmin        = "super_admin"
	RoleSecurityAdmin     = "security_admin"
	RoleSOCAnalyst        = "soc_analyst"
	RoleIncidentResponder = "incident_responder"
	RoleReadOnlyAnalyst   = "read_only_analyst"
)

// Token scopes.
const (
	ScopeIngest = "ingest" // may only send events
	ScopeAPI    = "api"    // may use the API with the rights of its creator's tenant
)

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// ValidName checks a tenant or user name: lower-case letters, digits, '-' and
// '_', starting with a letter or digit, at most 63 characters. Names are part
// of storage keys, so the alphabet is deliberately small.
func ValidName(kind, name string) error {
	if !namePattern.MatchString(name) {
		return Errorf(EINVALID, "%s name %q: use 1-63 characters a-z, 0-9, '-' or '_', starting with a letter or digit", kind, name)
	}
	return nil
}

// Tenant is an organisation whose data is isolated from every other.
type Tenant struct {
	Name    string
	Created time.Time
}

// User is a person who logs in. PasswordHash is an argon2id PHC string.
type User struct {
	Tenant       string
	Name         string
	Role         string
	PasswordHash string
	Created      time.Time
}

// Token is an API token as stored: only the SHA-256 of the secret is kept.
type Token struct {
	Tenant  string
	Name    string
	Scope   string
	Role    string // the rights an api token acts with; empty for ingest tokens
	Hash    [32]byte
	Created time.Time
}

// Session is a browser or API login. Only the SHA-256 of its secret is kept.
type Session struct {
	Hash    [32]byte
	Tenant  string
	User    string
	Created time.Time
	Expires time.Time
}

// Principal is who a request acts as, after authentication.
type Principal struct {
	Tenant string
	User   string // empty for a token
	Role   string // the user's role; for an api token, the role it was granted
	Scope  string // ScopeIngest or ScopeAPI for tokens; ScopeAPI for sessions
	Via    string // "session" or "token", for the audit trail
}
