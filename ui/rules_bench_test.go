package ui_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/command"
	"github.com/minixdr/xdr/appliance/detect"
	"github.com/minixdr/xdr/internal/shareddata"
	"github.com/minixdr/xdr/storage/storetest"
	"github.com/minixdr/xdr/ui"
)

// BenchmarkRulePages: the rules list and GET /api/v1/rules with a SigmaHQ
// release imported (~3,200 rules; docs/performance.md):
//
//	go test ./ui -run '^$' -bench BenchmarkRulePages -benchtime 100x
//
// Each view reports its p50 and p95 server time; the target is p95 < 100 ms.
func BenchmarkRulePages(b *testing.B) {
	pack, err := os.ReadFile(shareddata.Path(b, "testdata", "sigma", "sigma_rules.tar.gz"))
	if err != nil {
		b.Fatal(err)
	}
	files, err := detect.ReadRuleArchive(bytes.NewReader(pack))
	if err != nil {
		b.Fatal(err)
	}
	store := storetest.MustOpenStore(b)
	(&storetest.Log{TB: b, Store: store}).MustApply(&command.CreateTenant{Tenant: appliance.Tenant{Name: "default", Created: benchNow}})
	now := func() time.Time { return benchNow }
	svc := detect.NewService(&storetest.Proposer{Store: store}, store, now)
	start := time.Now()
	rep, err := svc.ImportRules(context.Background(), "default", files, detect.ImportOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("imported %d rules (%d refused) in %v", rep.Imported, len(rep.Failed), time.Since(start).Round(time.Millisecond))
	mid, total, err := store.RuleList(context.Background(), appliance.RuleQuery{Tenant: "default", Offset: 2000, Limit: 1})
	if err != nil || len(mid) != 1 {
		b.Fatalf("rule 2,000 of %d: %v", total, err)
	}
	h := ui.New(ui.Deps{Auth: &fakeAuth{}, Events: store, Node: fakeNode{true}, Metrics: http.NotFoundHandler(),
		Detect: svc, Log: storetest.Discard, Now: now}).Handler()
	for _, p := range []string{
		"/rules", "/rules?page=40", "/rules?q=powershell", "/rules?level=high", "/rules?q=e&level=medium&status=test&enabled=true&page=3",
		"/rules/" + mid[0].ID, "/api/v1/rules", "/api/v1/rules?level=critical", "/attack",
	} {
		b.Run(p, func(b *testing.B) { benchServerTime(b, h, p) })
	}
}
