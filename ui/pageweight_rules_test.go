package ui_test

import (
	"os"
	"testing"
	"time"

	"github.com/minixdr/xdr/internal/shareddata"
)

// TestPageWeightRulePack: with a SigmaHQ release imported (3,754 files,
// hundreds of refusals), the rules list, the import's page and the pages
// that show rules stay under the budget, a page at a time.
func TestPageWeightRulePack(t *testing.T) {
	t.Parallel()
	pack, err := os.ReadFile(shareddata.Path(t, "testdata", "sigma", "sigma_rules.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, false)
	b := e.browser()
	e.mustSignIn(b)
	csrf, _ := hiddenField(e.get(b, "/rules").body, "csrf")
	started := e.uploadPack(b, csrf, map[string][]byte{"sigma_rules.tar.gz": pack})
	job := started.header.Get("Location")
	done := e.runJob(b, started)
	wantContains(t, "import", done.body, "Rules not imported, page 1 of")
	e.ingest(e.token("default", "sensor", "ingest", ""), eventLine(time.Now(), "root", "Failed password"))
	for _, p := range []string{"/rules", "/rules?page=60", "/rules?level=high", job, job + "?page=6", "/attack", "/alerts", "/incidents"} {
		e.checkWeight(b, p)
	}
}
