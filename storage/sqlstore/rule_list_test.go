package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/detect"
	"github.com/minixdr/xdr/storage/sqlstore"
)

// listRules lists every stored rule of a tenant.
func listRules(db *sqlstore.DB, tenant string) ([]detect.RuleInfo, error) {
	rules, _, err := db.RuleList(context.Background(), appliance.RuleQuery{Tenant: tenant}, nil, false)
	return rules, err
}

// ruleTitles are the generated rules' titles: cases, non-ASCII letters
// that SQLite's lower() leaves alone (Ü, and İ and the Kelvin sign, which
// Go lower-cases to ASCII), LIKE's wildcards and a quote.
var ruleTitles = []string{"SSH brute force", "ssh login", "Übergang über Grenzen", "İstanbul login", "\u212Aerberos ticket",
	"kerberos ticket", "100% CPU", "under_score", "it's quoted", "Process creation"}

// listedRule is what the comparison sees of a listed rule.
func listedRule(r detect.RuleInfo) string {
	return fmt.Sprintf("%s %q %s %s %s enabled=%v builtin=%v %s %v %v %q %q", r.ID, r.Title, r.Status, r.Level, r.Kind, r.Enabled, r.Builtin,
		r.Updated.Format(time.RFC3339Nano), r.Attack, r.Tactics, r.Description, r.Logsource)
}

// TestRuleListMatchesFilter: the SQL listing, with the built-in rules
// merged in, equals the straightforward one (every rule, filtered and
// sorted in Go, then cut) for filter combinations and page edges, and
// stays within the tenant.
func TestRuleListMatchesFilter(t *testing.T) {
	ctx := context.Background()
	d := newDetectDB(t)
	statuses, levels := []string{"stable", "test", "experimental"}, []string{"low", "medium", "high"}
	// Built-in rules with IDs among the stored ones, before and after them
	// all; the first two have rows (their state changed).
	var builtin []detect.RuleInfo
	for _, id := range []string{"r010b", "r055b", "a-first", "r020b", "r021b", "zz-last"} {
		builtin = append(builtin, detect.RuleInfo{ID: id, Title: "Built-in " + strings.ToUpper(id), Status: "stable", Level: "high",
			Kind: "detection", Attack: []string{"T1110"}, Tactics: []string{}, Enabled: true, Builtin: true})
	}
	slices.SortFunc(builtin, func(a, b detect.RuleInfo) int { return strings.Compare(a.ID, b.ID) })
	all := map[string]detect.RuleInfo{}
	for _, info := range builtin {
		all[info.ID] = info
	}
	if err := d.apply(func(tx *sql.Tx) error {
		for i := range 120 {
			info := detect.RuleInfo{ID: fmt.Sprintf("r%03d", i), Title: fmt.Sprintf("%s %d", ruleTitles[i%len(ruleTitles)], i),
				Status: statuses[i%len(statuses)], Level: levels[(i/3)%len(levels)], Kind: "detection",
				Attack: []string{fmt.Sprintf("T%04d", 1000+i)}, Tactics: []string{"credential-access"}, Enabled: i%4 != 0,
				Description: fmt.Sprintf("Rule %d: \"quoted\", <tag> & é\u2028\nsecond line", i), Logsource: "product linux, service sshd"}
			updated := t0.Add(time.Duration(i) * time.Minute)
			if err := sqlstore.PutRule(tx, "acme", info, []byte("title: x"), updated.UnixNano()); err != nil {
				return err
			}
			info.Updated = updated
			all[info.ID] = info
			// Another tenant's rules, all matching "ssh", must not show.
			other := detect.RuleInfo{ID: fmt.Sprintf("r%03dx", i), Title: "SSH other", Status: info.Status, Level: info.Level}
			if err := sqlstore.PutRule(tx, "default", other, nil, 0); err != nil {
				return err
			}
		}
		for _, info := range builtin[:2] {
			info.Enabled = false
			if err := sqlstore.PutRule(tx, "acme", info, nil, t0.UnixNano()); err != nil {
				return err
			}
			info.Updated = t0
			all[info.ID] = info
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var sorted []detect.RuleInfo
	for _, info := range all {
		sorted = append(sorted, info)
	}
	slices.SortFunc(sorted, func(a, b detect.RuleInfo) int { return strings.Compare(a.ID, b.ID) })

	yes, no := true, false
	queries := 0
	for _, status := range []string{"", "stable", "test", "nope"} {
		for _, level := range []string{"", "high", "low"} {
			for _, enabled := range []*bool{nil, &yes, &no} {
				for _, title := range []string{"", "SSH", "ü", "i", "K", "%", "_", "'", "built-in r0", "zzz"} {
					f := appliance.RuleQuery{Tenant: "acme", Status: status, Level: level, Enabled: enabled, Title: title}
					var want []string
					for _, r := range sorted {
						if (status == "" || r.Status == status) && (level == "" || r.Level == level) && (enabled == nil || r.Enabled == *enabled) &&
							strings.Contains(strings.ToLower(r.Title), strings.ToLower(title)) {
							want = append(want, listedRule(r))
						}
					}
					n := len(want)
					for _, page := range [][2]int{{0, 0}, {0, 1}, {0, 7}, {1, 7}, {3, 2}, {5, 50}, {n / 2, 7}, {max(n-1, 0), 7},
						{n, 1}, {n + 3, 0}, {max(n-7, 0), 0}, {max(n-3, 0), 5}} {
						q := f
						q.Offset, q.Limit = page[0], page[1]
						got, total, err := d.db.RuleList(ctx, q, builtin, true)
						queries++
						if err != nil {
							t.Fatalf("RuleList(%+v): %v", q, err)
						}
						lo, hi := min(q.Offset, n), n
						if q.Limit > 0 {
							hi = min(q.Offset+q.Limit, n)
						}
						var gotRows []string
						for _, r := range got {
							gotRows = append(gotRows, listedRule(r))
						}
						if total != n || !slices.Equal(gotRows, want[lo:hi]) {
							t.Fatalf("RuleList(status %q level %q enabled %v title %q offset %d limit %d):\n%d %s\nwant %d %s",
								status, level, fmtBool(enabled), title, q.Offset, q.Limit, total, strings.Join(gotRows, "\n"), n, strings.Join(want[lo:hi], "\n"))
						}
					}
				}
			}
		}
	}
	t.Logf("%d listings compared", queries)
}

func fmtBool(b *bool) string {
	if b == nil {
		return "any"
	}
	return fmt.Sprint(*b)
}

// TestRuleListRefusesNegativePage: a negative offset or limit is the
// caller's error, named.
func TestRuleListRefusesNegativePage(t *testing.T) {
	d := newDetectDB(t)
	for _, q := range []appliance.RuleQuery{{Tenant: "acme", Offset: -1}, {Tenant: "acme", Limit: -5}} {
		if _, _, err := d.db.RuleList(context.Background(), q, nil, true); appliance.ErrorCode(err) != appliance.EINVALID ||
			!strings.Contains(err.Error(), "offset") {
			t.Errorf("RuleList(%+v): %v, want EINVALID naming the offset and limit", q, err)
		}
	}
}
