package ui_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance/command"
	"github.com/minixdr/xdr/appliance/detect"
	"github.com/minixdr/xdr/internal/ziptest"
	"github.com/minixdr/xdr/storage/storetest"
	"github.com/minixdr/xdr/ui"
)

// runJob follows the 303 of a form that started a job and polls the job's
// page until the job has ended; it returns that page.
func (e *env) runJob(c *http.Client, started resp) resp {
	e.t.Helper()
	loc := started.header.Get("Location")
	if started.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/jobs/") {
		e.t.Fatalf("starting the job: %d Location %q\n%s", started.status, loc, started.body)
	}
	for deadline := time.Now().Add(time.Minute); ; {
		r := e.get(c, loc)
		if r.status != http.StatusOK {
			e.t.Fatalf("GET %s: %d\n%s", loc, r.status, r.body)
		}
		if !strings.Contains(r.body, ": running · Mini-XDR</title>") {
			return r
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s still runs after a minute:\n%s", loc, r.body)
		}
		time.Sleep(20 * time.Millisecond) // polling, as the page's script does
	}
}

// uploadPack posts files as the rule import form's "pack" field.
func (e *env) uploadPack(c *http.Client, csrf string, files map[string][]byte) resp {
	e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if csrf != "" {
		mw.WriteField("csrf", csrf) //nolint:errcheck // bytes.Buffer
	}
	for name, content := range files {
		fw, _ := mw.CreateFormFile("pack", name)
		fw.Write(content) //nolint:errcheck // bytes.Buffer
	}
	mw.Close()
	return send(e.t, c, e.newRequest("POST", "/rules/import", &body, "Content-Type", mw.FormDataContentType()))
}

func tarGz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body)) //nolint:errcheck // bytes.Buffer
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

// TestPagesRuleImportJob: a .zip pack is imported through a job whose page
// shows the per-rule report, only to the session that started it; bad
// packs are refused on the rules page with an error naming the file.
func TestPagesRuleImportJob(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	b := e.browser()
	e.mustSignIn(b)
	csrf, _ := hiddenField(e.get(b, "/rules").body, "csrf")

	started := e.uploadPack(b, csrf, map[string][]byte{"pack.zip": ziptest.Zip(t, map[string]string{
		"sigma/rules/good.yml": goodRule, "sigma/rules/broken.yml": "title: broken\ndetection: [\n", "sigma/README.md": "# not a rule"})})
	done := e.runJob(b, started)
	wantContains(t, "import report", done.body, "<title>Rule pack import: done", "Import: 1 imported, 0 skipped, 1 refused",
		`<td class="path">pack.zip/sigma/rules/broken.yml</td>`, `href="/rules"`)
	wantNotContains(t, "import report", done.body, "README", "<progress")
	status := e.get(b, started.header.Get("Location")+"/status")
	if m := status.json(t); status.status != http.StatusOK || m["running"] != false {
		t.Errorf("status: %d %s", status.status, status.body)
	}
	wantContains(t, "rules", e.get(b, "/rules?q=uploads").body, "Test rule for uploads")

	t.Run("another session cannot see the job", func(t *testing.T) {
		other := e.browser()
		e.mustSignIn(other) // the same user, another session
		for _, p := range []string{"", "/status", "/download"} {
			if r := e.get(other, started.header.Get("Location")+p); r.status != http.StatusNotFound {
				t.Errorf("GET job%s from another session: %d, want 404", p, r.status)
			}
		}
		if r := e.get(other, "/jobs/nope"); r.status != http.StatusNotFound || !strings.Contains(r.body, "There is no such operation") {
			t.Errorf("unknown job: %d\n%s", r.status, r.body)
		}
	})

	t.Run("bad packs", func(t *testing.T) {
		big := strings.Repeat("#", 1<<20+1)
		for _, tc := range []struct {
			name  string
			files map[string][]byte
			want  string
		}{
			{"not a zip", map[string][]byte{"rules.zip": []byte("PK\x03\x04 not really")}, "rules.zip: not a zip file"},
			{"not a tar.gz", map[string][]byte{"rules.tar.gz": []byte("plain text")}, "rules.tar.gz: not a gzip file"},
			{"zip traversal", map[string][]byte{"evil.zip": ziptest.Zip(t, map[string]string{"../../etc/cron.d/x.yml": goodRule})},
				"evil.zip: ../../etc/cron.d/x.yml: the path leaves the archive"},
			{"tar.gz traversal", map[string][]byte{"evil.tgz": tarGz(t, map[string]string{"/etc/x.yml": goodRule})},
				"evil.tgz: /etc/x.yml: the path leaves the archive"},
			{"rule file too large", map[string][]byte{"big.zip": ziptest.Zip(t, map[string]string{"rules/huge.yml": big})},
				"big.zip: rules/huge.yml: over 1048576 bytes"},
			{"no rule files", map[string][]byte{"docs.zip": ziptest.Zip(t, map[string]string{"README.md": "x"})}, "Choose one or more .yml files"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := e.uploadPack(b, csrf, tc.files)
				if r.status != http.StatusBadRequest {
					t.Fatalf("status %d, want 400\n%s", r.status, r.body)
				}
				wantContains(t, "rules page", r.body, `role="alert" id="rules-error"`, strings.ReplaceAll(tc.want, "\"", "&#34;"))
			})
		}
	})

	t.Run("analysts cannot import", func(t *testing.T) {
		if r := e.uploadPack(b, "", map[string][]byte{"a.yml": []byte(goodRule)}); r.status != http.StatusForbidden {
			t.Errorf("without csrf: %d, want 403", r.status)
		}
	})
}

// TestPagesRulesPaginate: the rules list is served a page at a time, with
// the filter kept across pages.
func TestPagesRulesPaginate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	b := e.browser()
	e.mustSignIn(b)
	csrf, _ := hiddenField(e.get(b, "/rules").body, "csrf")
	pack := map[string]string{}
	for i := range 60 {
		id := fmt.Sprintf("0b7c8f2e-1d2a-4c3b-9e8f-7a6b5c4d%04d", i)
		pack[fmt.Sprintf("r%d.yml", i)] = strings.Replace(strings.Replace(goodRule, "0b7c8f2e-1d2a-4c3b-9e8f-7a6b5c4d3e2f", id, 1),
			"Test rule for uploads", fmt.Sprintf("Paged rule %d", i), 1)
	}
	e.runJob(b, e.uploadPack(b, csrf, map[string][]byte{"pack.tar.gz": tarGz(t, pack)}))
	first := e.get(b, "/rules?q=paged")
	wantContains(t, "first page", first.body, "60 rules, page 1 of 2")
	if n := strings.Count(first.body, ">Paged rule "); n != 50 {
		t.Errorf("first page shows %d rules, want 50", n)
	}
	next, ok := linkHref(first.body, "a", `rel="next"`)
	if !ok {
		t.Fatalf("no next link:\n%s", first.body)
	}
	second := e.get(b, next)
	wantContains(t, "second page", second.body, "60 rules, page 2 of 2", `rel="prev"`)
	if n := strings.Count(second.body, ">Paged rule "); n != 10 {
		t.Errorf("second page shows %d rules, want 10", n)
	}
	if u, _ := url.Parse(next); u.Query().Get("q") != "paged" {
		t.Errorf("the next link %s drops the filter", next)
	}
	// Past the end is the last page; the title filter ignores case.
	last := e.get(b, "/rules?q=PAGED&page=99")
	wantContains(t, "past the end", last.body, "60 rules, page 2 of 2")
	if n := strings.Count(last.body, ">Paged rule "); n != 10 {
		t.Errorf("the page past the end shows %d rules, want the last page's 10", n)
	}
	// Unfiltered, the built-in rules (no rows until changed) merge in by
	// ID: every rule once, in order, over the pages.
	var ids []string
	for p := 1; p <= 2; p++ {
		for _, m := range ruleLink.FindAllStringSubmatch(e.get(b, fmt.Sprintf("/rules?page=%d", p)).body, -1) {
			ids = append(ids, m[1])
		}
	}
	if want := 60 + len(detect.Builtin()); len(ids) != want || !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != want {
		t.Errorf("the two pages list %d rules, want %d, each once by ID: %v", len(ids), want, ids)
	}
}

// ruleLink finds the rule IDs the rules list links to.
var ruleLink = regexp.MustCompile(`<a href="/rules/([^"/?]+)">`)

// TestPagesJobResultBound: the evidence zips kept for download stay under
// the node's bound: a new one drops the oldest, whose page says so and
// offers to run the export again; an export over the bound alone fails
// with a message naming the bound.
func TestPagesJobResultBound(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	b := e.browser()
	_, incURL := e.honeypotIncident(t, b)
	csrf, _ := hiddenField(e.get(b, incURL).body, "csrf")
	// export runs an evidence export through the job's form, as posted to
	// action, and returns the job's URL and its page once it ended.
	export := func(action, csrf string) (string, resp) {
		t.Helper()
		started := e.form(b, action, url.Values{"csrf": {csrf}})
		return started.header.Get("Location"), e.runJob(b, started)
	}
	download := func(page resp) resp {
		t.Helper()
		dl, ok := linkHref(page.body, "a", `id="job-download"`)
		if !ok {
			t.Fatalf("no download link:\n%s", page.body)
		}
		return e.get(b, dl)
	}

	firstURL, first := export(incURL+"/evidence", csrf)
	size := len(download(first).body)
	e.ui.SetResultLimit(size + size/2) // room for one zip, not two
	_, second := export(incURL+"/evidence", csrf)
	wantContains(t, "second export", second.body, "<title>Evidence export: done", `id="job-download"`)

	dropped := e.get(b, firstURL)
	if dropped.status != http.StatusOK {
		t.Fatalf("the dropped job's page: %d\n%s", dropped.status, dropped.body)
	}
	wantContains(t, "the dropped job's page", dropped.body, "<title>Evidence export: done", `id="job-dropped"`, "is no longer kept",
		fmt.Sprintf("at most %d bytes of results", size+size/2), `action="`+incURL+`/evidence"`, `id="job-again"`)
	wantNotContains(t, "the dropped job's page", dropped.body, `id="job-download"`)
	if r := e.get(b, firstURL+"/download"); r.status != http.StatusNotFound || !strings.Contains(r.body, "is no longer kept") {
		t.Errorf("the dropped download: %d\n%s", r.status, r.body)
	}
	if r := download(second); r.status != http.StatusOK || len(r.body) != size {
		t.Errorf("the kept download: %d, %d bytes, want %d", r.status, len(r.body), size)
	}
	// The page's form runs the export again.
	againCSRF, _ := hiddenField(dropped.body, "csrf")
	_, again := export(incURL+"/evidence", againCSRF)
	wantContains(t, "the export run again", again.body, "<title>Evidence export: done", "1 event file(s)")

	e.ui.SetResultLimit(size / 2)
	_, over := export(incURL+"/evidence", csrf)
	want := fmt.Sprintf("The download would be larger than %d bytes, the most the appliance holds for downloads at once, so it was not made.", size/2)
	wantContains(t, "an export over the bound", over.body, "<title>Evidence export: failed", want)
	wantNotContains(t, "an export over the bound", over.body, `id="job-download"`)
	if r := e.get(b, incURL+"/evidence.zip"); r.status != http.StatusRequestEntityTooLarge || !strings.Contains(r.body, want) {
		t.Errorf("GET evidence.zip over the bound: %d\n%s", r.status, r.body)
	}
}

// gatedProposer holds an import's second batch of rules until the
// import's context ends, so that the import is cut mid-way with one batch
// committed.
type gatedProposer struct {
	command.Proposer
	batches atomic.Int32
	second  chan struct{} // closed when the second batch is proposed
}

func (g *gatedProposer) Propose(ctx context.Context, c command.Command) error {
	if _, ok := c.(*command.PutRules); ok && g.batches.Add(1) == 2 {
		close(g.second)
		<-ctx.Done()
	}
	return g.Proposer.Propose(ctx, c)
}

// TestPagesRuleImportStoppedByShutdown: a rule import running when the
// node shuts down is cancelled between two batches; StopJobs returns once
// it has, the committed batch stays whole, the job's page says it was
// stopped and reports what was stored, and no job starts after.
func TestPagesRuleImportStoppedByShutdown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	gate := &gatedProposer{Proposer: e.node, second: make(chan struct{})}
	e.ui = ui.New(ui.Deps{Auth: e.auth, Events: e.store, Node: e.node, Cluster: e.node, State: e.store,
		Detect: detect.NewService(gate, e.store, time.Now), Log: storetest.Discard})
	e.srv = httptest.NewServer(e.ui.Handler())
	t.Cleanup(e.srv.Close)
	b := e.browser()
	e.mustSignIn(b)
	csrf, _ := hiddenField(e.get(b, "/rules").body, "csrf")
	// 120 rules of 10 KB: three batches of at most 512 KB.
	const rules = 120
	pack := map[string]string{}
	for i := range rules {
		pack[fmt.Sprintf("r%d.yml", i)] = strings.Replace(strings.Replace(goodRule, "0b7c8f2e-1d2a-4c3b-9e8f-7a6b5c4d3e2f",
			fmt.Sprintf("0b7c8f2e-1d2a-4c3b-9e8f-7a6b5c4d%04d", i), 1),
			"title: Test rule for uploads\n", fmt.Sprintf("title: Batch rule %d\ndescription: %s\n", i, strings.Repeat("x", 10<<10)), 1)
	}
	started := e.uploadPack(b, csrf, map[string][]byte{"pack.tar.gz": tarGz(t, pack)})
	loc := started.header.Get("Location")
	if started.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/jobs/") {
		t.Fatalf("starting the import: %d Location %q\n%s", started.status, loc, started.body)
	}
	select {
	case <-gate.second:
	case <-time.After(time.Minute):
		t.Fatal("the import never reached its second batch")
	}
	e.ui.StopJobs(context.Background())

	page := e.get(b, loc)
	wantContains(t, "the stopped import", page.body, "<title>Rule pack import: failed",
		"The appliance shut down while this operation ran, so it was stopped.")
	m := regexp.MustCompile(`Import: (\d+) imported`).FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("the page reports no import:\n%s", page.body)
	}
	imported, _ := strconv.Atoi(m[1])
	srcs, err := e.store.RuleSources(context.Background(), "default")
	if err != nil {
		t.Fatal(err)
	}
	if imported == 0 || imported >= rules || len(srcs) != imported {
		t.Errorf("the page reports %d rules imported, the store holds %d, want one whole batch of the %d", imported, len(srcs), rules)
	}
	if r := e.uploadPack(b, csrf, map[string][]byte{"a.yml": []byte(goodRule)}); r.status != http.StatusServiceUnavailable ||
		!strings.Contains(r.body, "The appliance is shutting down") {
		t.Errorf("an import after StopJobs: %d\n%s", r.status, r.body)
	}
}
