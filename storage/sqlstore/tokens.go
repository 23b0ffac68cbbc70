package sqlstore

import (
	"database/sql"

	"github.com/minixdr/xdr/appliance"
)

// RevokeToken deletes a tenant's token by hash; ENOTFOUND when the tenant
// has no token with that hash (another tenant's token is not touched).
func RevokeToken(tx *sql.Tx, tenant string, hash [32]byte) error {
	res, err := tx.Exec(`DELETE FROM tokens WHERE hash = ? AND tenant = ?`, hash[:], tenant)
	if err != nil {
		return wrap(err, "revoke token")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrap(err, "revoke token")
	}
	if n == 0 {
		return appliance.Errorf(appliance.ENOTFOUND, "tenant %q has no such token (already revoked?)", tenant)
	}
	return nil
}
