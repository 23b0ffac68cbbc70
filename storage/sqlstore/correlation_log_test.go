package sqlstore_test

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/storage/sqlstore"
)

// TestCorrelationLogCountsSinceClear: over random appends (empty ones
// too) and clears of two tenants, split into random apply batches, every
// append returns the number of IDs appended to its tenant since the last
// clear, and the log reads back those IDs in order.
func TestCorrelationLogCountsSinceClear(t *testing.T) {
	for _, seedN := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("seed ", seedN), func(t *testing.T) {
			d := newDetectDB(t)
			rng := rand.New(rand.NewPCG(seedN, 7))
			tenants := []string{"acme", "default"}
			model := map[string][]appliance.EventID{}
			next := 0
			for batch := 0; batch < 40; batch++ {
				ops := rng.IntN(6)
				if err := d.state(func(st *sqlstore.DetectState) error {
					for range ops {
						tenant := tenants[rng.IntN(len(tenants))]
						if rng.IntN(8) == 0 {
							model[tenant] = nil
							if err := st.ClearCorrelationLog(tenant); err != nil {
								return err
							}
							continue
						}
						ids := make([]appliance.EventID, rng.IntN(5))
						for i := range ids {
							next++
							ids[i] = appliance.EventID{byte(next >> 8), byte(next)}
						}
						model[tenant] = append(model[tenant], ids...)
						n, err := st.AppendCorrelationLog(tenant, ids)
						if err != nil {
							return err
						}
						if n != len(model[tenant]) {
							t.Fatalf("batch %d: append of %d to %s returned %d, want %d", batch, len(ids), tenant, n, len(model[tenant]))
						}
					}
					for _, tenant := range tenants {
						got, err := st.CorrelationLog(tenant)
						if err != nil {
							return err
						}
						if !slices.Equal(got, model[tenant]) {
							t.Fatalf("batch %d: log of %s = %v, want %v", batch, tenant, got, model[tenant])
						}
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAppendCorrelationLog appends a batch of 16 IDs to a tenant's
// log that already holds rows rows: the cost should not depend on rows.
// The appends of one benchmark run in one transaction, as a batch's do.
func BenchmarkAppendCorrelationLog(b *testing.B) {
	const batch = 16
	ids := make([]appliance.EventID, batch)
	blob := make([]byte, 16*batch)
	for _, rows := range []int{1_000, 100_000} {
		b.Run(fmt.Sprint("rows=", rows), func(b *testing.B) {
			db := mustOpen(b, filepath.Join(b.TempDir(), "state.db"))
			var index uint64
			applyB := func(fn func(*sql.Tx) error) {
				index++
				if _, err := db.Apply(index, fn); err != nil {
					b.Fatal(err)
				}
			}
			applyB(func(tx *sql.Tx) error {
				if err := sqlstore.CreateTenant(tx, appliance.Tenant{Name: "acme", Created: t0}); err != nil {
					return err
				}
				for seq := 1; seq <= rows; seq++ {
					if _, err := tx.Exec(`INSERT INTO correlation_log (tenant, seq, events, total) VALUES ('acme', ?, ?, ?)`,
						seq, blob, seq*batch); err != nil {
						return err
					}
				}
				return nil
			})
			applyB(func(tx *sql.Tx) error {
				st := sqlstore.NewDetectState(tx, nil)
				defer st.Close()
				want := rows * batch
				for b.Loop() {
					want += batch
					n, err := st.AppendCorrelationLog("acme", ids)
					if err != nil || n != want {
						b.Fatalf("append: %d, %v; want %d", n, err, want)
					}
				}
				return nil
			})
		})
	}
}
