package ui_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance/detect"
	"github.com/minixdr/xdr/internal/ziptest"
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
