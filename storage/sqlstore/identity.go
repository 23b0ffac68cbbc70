package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/minixdr/xdr/appliance"
)

// CreateTenant inserts a tenant unless it exists (idempotent); EINVALID for
// a name appliance.ValidName refuses. Tenant names are part of every storage
// key, followed by a NUL: a name with a NUL in it would have keys under
// another tenant's prefix.
func CreateTenant(tx *sql.Tx, t appliance.Tenant) error {
	if err := appliance.ValidName("tenant", t.Name); err != nil {
		return err
	}
	_, err := tx.Exec(`INSERT INTO tenants (name, created) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, t.Name, t.Created.UnixNano())
	return wrap(err, "create tenant %q", t.Name)
}

// CreateUser inserts a user; ECONFLICT if the name is taken, ENOTFOUND if the
// tenant does not exist.
func CreateUser(tx *sql.Tx, u appliance.User) error {
	if err := requireTenant(tx, u.Tenant); err != nil {
		return err
	}
	_, err := tx.Exec(`INSERT INTO users (name, tenant, role, password_hash, created) VALUES (?, ?, ?, ?, ?)`,
		u.Name, u.Tenant, u.Role, u.PasswordHash, u.Created.UnixNano())
	if isUniqueViolation(err) {
		return appliance.Errorf(appliance.ECONFLICT, "user %q already exists", u.Name)
	}
	return wrap(err, "create user %q", u.Name)
}

// CreateToken stores a token hash.
func CreateToken(tx *sql.Tx, t appliance.Token) error {
	if err := requireTenant(tx, t.Tenant); err != nil {
		return err
	}
	_, err := tx.Exec(`INSERT INTO tokens (hash, tenant, name, scope, role, created) VALUES (?, ?, ?, ?, ?, ?)`,
		t.Hash[:], t.Tenant, t.Name, t.Scope, t.Role, t.Created.UnixNano())
	if isUniqueViolation(err) {
		return appliance.Errorf(appliance.ECONFLICT, "token already exists")
	}
	return wrap(err, "create token %q", t.Name)
}

// CreateSession stores a session hash; ECONFLICT if it exists, ENOTFOUND if
// the tenant does not.
func CreateSession(tx *sql.Tx, s appliance.Session) error {
	if err := requireTenant(tx, s.Tenant); err != nil {
		return err
	}
	_, err := tx.Exec(`INSERT INTO sessions (hash, tenant, user_name, created, expires) VALUES (?, ?, ?, ?, ?)`,
		s.Hash[:], s.Tenant, s.User, s.Created.UnixNano(), s.Expires.UnixNano())
	if isUniqueViolation(err) {
		// A domain error, not an infrastructure one: the same command
		// committed twice must not stop the state machine on every node.
		return appliance.Errorf(appliance.ECONFLICT, "session already exists")
	}
	return wrap(err, "create session")
}

// DeleteSession removes one session, or with before > 0 every session that
// expired before that time.
func DeleteSession(tx *sql.Tx, hash [32]byte, before int64) error {
	if before > 0 {
		_, err := tx.Exec(`DELETE FROM sessions WHERE expires < ?`, before)
		return wrap(err, "delete expired sessions")
	}
	_, err := tx.Exec(`DELETE FROM sessions WHERE hash = ?`, hash[:])
	return wrap(err, "delete session")
}

func requireTenant(tx *sql.Tx, tenant string) error {
	var one int
	err := tx.QueryRow(`SELECT 1 FROM tenants WHERE name = ?`, tenant).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return appliance.Errorf(appliance.ENOTFOUND, "tenant %q does not exist", tenant)
	}
	return wrap(err, "look up tenant %q", tenant)
}

// TenantExists reports whether a tenant exists.
func (db *DB) TenantExists(ctx context.Context, tenant string) (bool, error) {
	var one int
	err := db.read.QueryRowContext(ctx, `SELECT 1 FROM tenants WHERE name = ?`, tenant).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, wrap(err, "look up tenant %q", tenant)
}

// UserByName returns a user; ENOTFOUND if there is none.
func (db *DB) UserByName(ctx context.Context, name string) (appliance.User, error) {
	var u appliance.User
	var created int64
	err := db.read.QueryRowContext(ctx, `SELECT name, tenant, role, password_hash, created FROM users WHERE name = ?`, name).
		Scan(&u.Name, &u.Tenant, &u.Role, &u.PasswordHash, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return u, appliance.Errorf(appliance.ENOTFOUND, "user %q not found", name)
	}
	u.Created = time.Unix(0, created).UTC()
	return u, wrap(err, "look up user %q", name)
}

// TokenByHash returns the token with that hash; ENOTFOUND if there is none.
func (db *DB) TokenByHash(ctx context.Context, hash [32]byte) (appliance.Token, error) {
	t := appliance.Token{Hash: hash}
	var created int64
	err := db.read.QueryRowContext(ctx, `SELECT tenant, name, scope, role, created FROM tokens WHERE hash = ?`, hash[:]).
		Scan(&t.Tenant, &t.Name, &t.Scope, &t.Role, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return t, appliance.Errorf(appliance.ENOTFOUND, "token not found")
	}
	t.Created = time.Unix(0, created).UTC()
	return t, wrap(err, "look up token")
}

// SessionByHash returns the session with that hash and its user's role;
// ENOTFOUND if there is none.
func (db *DB) SessionByHash(ctx context.Context, hash [32]byte) (appliance.Session, string, error) {
	s := appliance.Session{Hash: hash}
	var created, expires int64
	var role string
	err := db.read.QueryRowContext(ctx, `SELECT s.tenant, s.user_name, s.created, s.expires, u.role
		FROM sessions s JOIN users u ON u.name = s.user_name AND u.tenant = s.tenant WHERE s.hash = ?`, hash[:]).
		Scan(&s.Tenant, &s.User, &created, &expires, &role)
	if errors.Is(err, sql.ErrNoRows) {
		return s, "", appliance.Errorf(appliance.ENOTFOUND, "session not found")
	}
	s.Created, s.Expires = time.Unix(0, created).UTC(), time.Unix(0, expires).UTC()
	return s, role, wrap(err, "look up session")
}

// Tokens lists a tenant's tokens (never their secrets).
func (db *DB) Tokens(ctx context.Context, tenant string) ([]appliance.Token, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT hash, name, scope, role, created FROM tokens WHERE tenant = ? ORDER BY name`, tenant)
	if err != nil {
		return nil, wrap(err, "list tokens")
	}
	defer rows.Close()
	var out []appliance.Token
	for rows.Next() {
		t := appliance.Token{Tenant: tenant}
		var hash []byte
		var created int64
		if err := rows.Scan(&hash, &t.Name, &t.Scope, &t.Role, &created); err != nil {
			return nil, wrap(err, "list tokens")
		}
		copy(t.Hash[:], hash)
		t.Created = time.Unix(0, created).UTC()
		out = append(out, t)
	}
	return out, wrap(rows.Err(), "list tokens")
}

func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

func isUniqueViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}
