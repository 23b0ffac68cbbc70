package main

// Helpers of the browser tests: Debian's Chromium driven with chromedp
// against a real `xdr serve`. Every page the tests visit goes through
// checkPage: a screenshot under test-artifacts/browser/, axe-core's WCAG 2.x
// A/AA rules (0 serious or critical violations, in light and dark mode), and
// no request to any host but the appliance.

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// chromiumPath is Debian's Chromium; scripts/test.sh installs it.
const chromiumPath = "/usr/bin/chromium"

// browserTimeout bounds one whole browser test: one takes 20 s alone, and
// several run at once on a loaded 2-core machine.
const browserTimeout = 6 * time.Minute

// axeTags are the rule sets run on every page.
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"}

type browser struct {
	t    *testing.T
	ctx  context.Context
	base string // http://host:port of the appliance
	host string
	axe  string // axe.min.js
	dir  string // screenshots

	mu       sync.Mutex
	requests []string // every URL the page asked for
	errors   []string // uncaught exceptions and console errors
}

// newBrowser starts a fresh headless Chromium (its own profile) for n.
func newBrowser(t *testing.T, n *node) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("Chromium is not installed at %s (scripts/test.sh installs Debian's chromium): %v", chromiumPath, err)
	}
	axe, err := os.ReadFile(filepath.Join("testdata", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatalf("read axe-core: %v", err)
	}
	dir := filepath.Join(repoRoot(t), "test-artifacts", "browser")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancelTimeout := context.WithTimeout(context.Background(), browserTimeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless, chromedp.NoSandbox, chromedp.NoFirstRun,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 900),
	)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc(); cancelTimeout() })
	b := &browser{t: t, ctx: bctx, base: "http://" + n.http, host: n.http, axe: string(axe), dir: dir}
	if err := chromedp.Do(bctx); err != nil { // start the browser and open the tab
		t.Fatalf("start Chromium: %v", err)
	}
	if err := chromedp.Listen(bctx, b.record); err != nil {
		t.Fatalf("listen to the tab: %v", err)
	}
	return b
}

// record runs on the tab's event loop: it only appends.
func (b *browser) record(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch e := ev.(type) {
	case *network.EventRequestWillBeSent:
		b.requests = append(b.requests, e.Request.URL)
	case *runtime.EventExceptionThrown:
		b.errors = append(b.errors, "exception: "+e.ExceptionDetails.Text)
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError {
			b.errors = append(b.errors, "console.error")
		}
	}
}

// repoRoot is the directory holding go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// do runs steps and fails the test on an error.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// open navigates to path and returns the HTTP status of the page.
func (b *browser) open(path string) int64 {
	b.t.Helper()
	resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(b.base+path))
	if err != nil {
		b.t.Fatalf("open %s: %v", path, err)
	}
	return resp.Status
}

// submit clicks sel (a submit button or link) and waits for the page it
// loads; it returns the final response's status.
func (b *browser) submit(sel string) int64 {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		b.t.Fatalf("click %s: %v", sel, err)
	}
	return resp.Status
}

// follow clicks the link sel and requires the page it loads to be under
// prefix.
func (b *browser) follow(sel, prefix string) {
	b.t.Helper()
	b.submit(sel)
	if p := b.path(); !strings.HasPrefix(p, prefix) {
		b.t.Fatalf("the link %s went to %s, want a page under %s", sel, p, prefix)
	}
}

// fill clears the field sel and types v into it.
func (b *browser) fill(sel, v string) {
	b.t.Helper()
	b.do("fill "+sel, chromedp.Clear(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), v))
}

// path is the current page's path and query.
func (b *browser) path() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatalf("location: %v", err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		b.t.Fatalf("location %q: %v", loc, err)
	}
	return u.RequestURI()
}

// text is the visible text of the first element matching sel.
func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// eval evaluates a JavaScript expression into T.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %.60q: %v", expr, err)
	}
	return v
}

// wantText fails unless the text of sel contains want.
func (b *browser) wantText(sel, want string) {
	b.t.Helper()
	if got := b.text(sel); !strings.Contains(got, want) {
		b.t.Errorf("%s on %s shows %q, want it to contain %q", sel, b.path(), got, want)
	}
}

// axeViolation is one failed axe rule.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

const axeRun = `axe.run(document, {runOnly: {type: 'tag', values: %s}, resultTypes: ['violations']}).then(r =>
  r.violations.map(v => ({id: v.id, impact: v.impact || '', help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))})))`

// checkPage screenshots the page as name, runs axe in light and dark mode
// and checks that every request so far went to the appliance.
func (b *browser) checkPage(name string) {
	b.t.Helper()
	b.screenshot(name)
	for _, scheme := range []string{"light", "dark"} {
		b.emulateColorScheme(scheme)
		b.axeCheck(name + " (" + scheme + ")")
	}
	b.emulateColorScheme("")
	b.checkRequests()
	b.mu.Lock()
	errs := b.errors
	b.errors = nil
	b.mu.Unlock()
	for _, e := range errs {
		b.t.Errorf("%s: the page reported a script error: %s", name, e)
	}
}

func (b *browser) screenshot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// emulateColorScheme sets prefers-color-scheme ("" resets it).
func (b *browser) emulateColorScheme(v string) {
	b.t.Helper()
	params := emulation.SetEmulatedMediaParams{}
	if v != "" {
		params.Features = []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: v}}
	}
	if _, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, params); err != nil {
		b.t.Fatalf("emulate prefers-color-scheme %q: %v", v, err)
	}
}

// axeViolations injects axe-core into the page (once) and runs it.
func (b *browser) axeViolations() []axeViolation {
	b.t.Helper()
	if !eval[bool](b, "typeof axe === 'object'") {
		if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[*runtime.RemoteObject](b.axe)); err != nil {
			b.t.Fatalf("inject axe-core: %v", err)
		}
	}
	tags := `['` + strings.Join(axeTags, `','`) + `']`
	return eval[[]axeViolation](b, fmt.Sprintf(axeRun, tags))
}

func (b *browser) axeCheck(name string) {
	b.t.Helper()
	for _, v := range b.axeViolations() {
		msg := fmt.Sprintf("%s: axe %s (%s): %s at %v", name, v.ID, v.Impact, v.Help, v.Nodes)
		if v.Impact == "serious" || v.Impact == "critical" {
			b.t.Error(msg)
		} else {
			b.t.Log(msg)
		}
	}
}

// checkRequests fails on any request so far to another host than the
// appliance: the UI must work offline and leak nothing.
func (b *browser) checkRequests() {
	b.t.Helper()
	b.mu.Lock()
	reqs := b.requests
	b.mu.Unlock()
	for _, r := range reqs {
		u, err := url.Parse(r)
		if err != nil {
			b.t.Errorf("request to an unparsable URL %q", r)
			continue
		}
		if u.Scheme == "data" || u.Scheme == "about" {
			continue
		}
		if u.Host != b.host {
			b.t.Errorf("the page requested %s: only %s may be asked", r, b.host)
		}
	}
}

// login signs in through the form as admin.
func (b *browser) login(n *node) {
	b.t.Helper()
	b.open("/login")
	b.fill("#username", "admin")
	b.fill("#password", n.adminPassword())
	if st := b.submit("form[action='/login'] button[type=submit]"); st != 200 {
		b.t.Fatalf("sign in: status %d", st)
	}
}

// checkKeyboard checks the first Tab stop is the skip link, that it is
// visible when focused, and that following it moves focus to <main>.
func (b *browser) checkKeyboard() {
	b.t.Helper()
	b.do("focus the page", chromedp.Evaluate[chromedp.Void]("document.activeElement && document.activeElement.blur()"),
		chromedp.KeyEvent(kb.Tab))
	if cls := eval[string](b, "document.activeElement.className"); cls != "skip-link" {
		b.t.Errorf("%s: the first Tab stop has class %q, want the skip link", b.path(), cls)
	}
	// The link slides in (a short transition): poll until it is on screen.
	var top float64
	if !waitFor(pageTimeout, func() bool {
		top = eval[float64](b, "document.activeElement.getBoundingClientRect().top")
		return top >= 0
	}) {
		b.t.Errorf("%s: the focused skip link is off screen (top %v)", b.path(), top)
	}
	if outline := eval[string](b, "getComputedStyle(document.activeElement).outlineStyle"); outline == "none" {
		b.t.Errorf("%s: the focused skip link has no visible focus outline", b.path())
	}
	b.do("follow the skip link", chromedp.KeyEvent(kb.Enter))
	if id := eval[string](b, "document.activeElement.id"); id != "main" {
		b.t.Errorf("%s: after the skip link focus is on #%s, want #main", b.path(), id)
	}
}

// checkNarrow renders the page 375 px wide (a phone), screenshots it in
// light and dark mode and checks nothing but scroll regions is wider than
// the screen.
func (b *browser) checkNarrow(name string) {
	b.t.Helper()
	b.do("narrow viewport", chromedp.EmulateViewport(375, 812))
	defer b.do("wide viewport", chromedp.EmulateViewport(1280, 900))
	b.screenshot(name + "-375px")
	if w := eval[float64](b, "document.documentElement.scrollWidth"); w > 375 {
		// Name the widest elements that are not inside a scroll region.
		wide := eval[[]string](b, `[...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > 376 && !e.closest('.table-wrap, pre'))
  .slice(-5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + e.className : '') + ' ' + Math.round(e.getBoundingClientRect().right))`)
		b.t.Errorf("%s at 375 px: the page is %v px wide and scrolls sideways; widest: %v", name, w, wide)
	}
	b.emulateColorScheme("dark")
	defer b.emulateColorScheme("")
	b.screenshot(name + "-375px-dark")
}

// waitVisible waits up to timeout for sel to be visible, across the page
// loads of a job page that reloads itself when its job ends.
func (b *browser) waitVisible(sel string, timeout time.Duration) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		b.t.Fatalf("%s: %s did not show within %v: %v", b.path(), sel, timeout, err)
	}
}

// importPack uploads the file at path with the rules page's import form
// and requires the browser to land on the import's job page.
func (b *browser) importPack(path string) {
	b.t.Helper()
	b.open("/rules")
	b.do("choose the pack", chromedp.SetUploadFiles(chromedp.CSS("#pack"), []string{path}))
	b.submit("form[action='/rules/import'] button[type=submit]")
	if p := b.path(); !strings.HasPrefix(p, "/jobs/") {
		b.t.Fatalf("importing %s went to %s, want its job page", filepath.Base(path), p)
	}
}

// fetch downloads href in the page (with its session) and returns the body.
func (b *browser) fetch(href string) []byte {
	b.t.Helper()
	const js = `fetch(%q, {credentials: 'same-origin'}).then(r => { if (!r.ok) throw new Error('status ' + r.status); return r.arrayBuffer(); })
  .then(buf => { let s = ''; new Uint8Array(buf).forEach(c => s += String.fromCharCode(c)); return btoa(s); })`
	body, err := base64.StdEncoding.DecodeString(eval[string](b, fmt.Sprintf(js, href)))
	if err != nil {
		b.t.Fatalf("fetch %s: %v", href, err)
	}
	return body
}

// pageTimeout bounds a wait for a page to change by itself: a second's
// poll of a job, a transition, on a loaded machine.
const pageTimeout = 30 * time.Second

// waitFor polls cond until it holds (true) or timeout has passed.
func waitFor(timeout time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// poll waits up to pageTimeout for cond.
func (b *browser) poll(what string, cond func() bool) {
	b.t.Helper()
	if !waitFor(pageTimeout, cond) {
		b.t.Fatalf("%s: not within %v", what, pageTimeout)
	}
}

// holdJobPolls makes every job page loaded from now on hold its status
// polls (static/job.js) from before its own script runs: window.heldPolls
// collects the polls asked for ({u, o, res, rej}: fetch's arguments and
// its promise's resolvers), window.letPollsGo() sends them and the next
// ones to the appliance. The returned func stops that for pages loaded
// after it; a page already loaded holds its polls until letPollsGo.
func (b *browser) holdJobPolls() (release func()) {
	b.t.Helper()
	const js = `if (location.pathname.startsWith('/jobs/')) {
  window.realFetch = window.fetch;
  window.heldPolls = [];
  window.fetch = (u, o) => String(u).endsWith('/status') ? new Promise((res, rej) => window.heldPolls.push({u, o, res, rej})) : window.realFetch(u, o);
  window.letPollsGo = () => {
    window.fetch = window.realFetch;
    window.heldPolls.splice(0).forEach(p => window.realFetch(p.u, p.o).then(p.res, p.rej));
  };
}`
	added, err := chromedp.Call(b.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: js})
	if err != nil {
		b.t.Fatalf("hold the job pages' polls: %v", err)
	}
	return func() {
		b.t.Helper()
		params := page.RemoveScriptToEvaluateOnNewDocumentParams{Identifier: added.Identifier}
		if _, err := chromedp.Call(b.ctx, page.RemoveScriptToEvaluateOnNewDocument, params); err != nil {
			b.t.Fatalf("stop holding the job pages' polls: %v", err)
		}
	}
}

// importReport is the title of a rule import's report.
var importReport = regexp.MustCompile(`^Import: ([\d,]+) imported, ([\d,]+) skipped, ([\d,]+) refused$`)

// wantImportReport requires the report of an import of files rule files
// to account for each of them, and returns how many were imported.
func (b *browser) wantImportReport(files int) (imported int) {
	b.t.Helper()
	title := strings.TrimSpace(b.text("#report-title"))
	m := importReport.FindStringSubmatch(title)
	if m == nil {
		b.t.Fatalf("the import report's title is %q, want %q", title, importReport)
	}
	var n [3]int
	for i := range n {
		v, err := strconv.Atoi(strings.ReplaceAll(m[i+1], ",", ""))
		if err != nil {
			b.t.Fatalf("the import report's title %q: %v", title, err)
		}
		n[i] = v
	}
	if n[0]+n[1]+n[2] != files || n[0] == 0 {
		b.t.Errorf("the import report says %q of %d rule files: want some imported and every file counted once", title, files)
	}
	b.t.Logf("rule import of %d files: %s", files, title)
	return n[0]
}

// ruleCount is the number of rules the rules page says there are.
func (b *browser) ruleCount() int {
	b.t.Helper()
	caption := b.text("#rules-caption")
	n, _, ok := strings.Cut(caption, " rules")
	v, err := strconv.Atoi(strings.ReplaceAll(n, ",", ""))
	if !ok || err != nil {
		b.t.Fatalf("the rules page's caption %q does not start with the number of rules", caption)
	}
	return v
}

// openUntil opens path again until cond holds, for up to timeout: for what
// the appliance does in the background, which a page shows once done.
func (b *browser) openUntil(path, what string, timeout time.Duration, cond func() bool) {
	b.t.Helper()
	if !waitFor(timeout, func() bool { b.open(path); return cond() }) {
		b.t.Fatalf("%s: %s not within %v", path, what, timeout)
	}
}
