package ui_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/minixdr/xdr/storage/storetest"
	"github.com/minixdr/xdr/ui"
	"github.com/minixdr/xdr/ui/pages"
)

// fakeBackups streams data, then fails with err (if set).
type fakeBackups struct {
	data   string
	err    error
	status pages.BackupStatus
}

func (f *fakeBackups) WriteBackup(_ context.Context, w io.Writer) error {
	if _, err := io.WriteString(w, f.data); err != nil {
		return err
	}
	return f.err
}

func (f *fakeBackups) Status(context.Context) (pages.BackupStatus, error) {
	return f.status, f.err
}

// withBackups serves e's services again with b as the backup service.
func withBackups(e *env, b ui.Backups) *env {
	c := *e
	c.ui = ui.New(ui.Deps{Auth: e.auth, Events: e.store, Node: e.node, Backups: b,
		Metrics: promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{}), Log: storetest.Discard})
	c.srv = httptest.NewServer(c.ui.Handler())
	e.t.Cleanup(c.srv.Close)
	c.client = c.srv.Client()
	return &c
}

func TestBackupsPage(t *testing.T) {
	at := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
	fb := &fakeBackups{status: pages.BackupStatus{
		Configured: true, Interval: time.Hour, Dir: "/var/backups/xdr", Keep: 7, Recipients: 2, Next: at.Add(time.Hour), Leader: true,
		LastSuccess: at, File: "xdr-backup-20261122T070000Z.age", Size: 3 << 20, Duration: 1500 * time.Millisecond, RaftIndex: 42, Successes: 5,
		LastFailure: at.Add(-time.Hour), LastError: "write /var/backups/xdr: no space left on device", Failures: 1, Failing: true,
	}}
	e := withBackups(newEnv(t, false), fb)
	c := e.browser()
	e.mustSignIn(c)
	p := e.get(c, "/backups")
	if p.status != http.StatusOK {
		t.Fatalf("GET /backups: %d\n%s", p.status, p.body)
	}
	wantContains(t, "backups page", p.body, `role="alert"`, "The last scheduled backup failed", "no space left on device",
		"xdr-backup-20261122T070000Z.age", "3.0 MiB", "1.5s", "2026-11-22 08:00:00 UTC", "/var/backups/xdr", "7 newest files", "leader", `aria-current="page"`)

	fb.status = pages.BackupStatus{}
	p = e.get(c, "/backups")
	wantContains(t, "backups page, no schedule", p.body, "Scheduled backups are off", "never")
	wantNotContains(t, "backups page, no schedule", p.body, `role="alert"`)

	fb.err = errors.New("disk I/O error")
	p = e.get(c, "/backups")
	if p.status != http.StatusInternalServerError || !strings.Contains(p.body, "could not be read") {
		t.Fatalf("status failure: %d\n%s", p.status, p.body)
	}

	// Signed out: to the login page.
	if r := e.get(e.browser(), "/backups"); r.status != http.StatusSeeOther {
		t.Fatalf("signed out: %d", r.status)
	}
}

func TestAdminBackup(t *testing.T) {
	base := newEnv(t, false)
	get := func(b ui.Backups) (*http.Response, string, error) {
		t.Helper()
		admin := httptest.NewServer(withBackups(base, b).ui.AdminHandler())
		t.Cleanup(admin.Close)
		res, err := http.Get(admin.URL + "/admin/backup")
		if err != nil {
			return nil, "", err
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		return res, string(body), err
	}
	res, body, err := get(&fakeBackups{data: "container bytes"})
	if err != nil || res.StatusCode != http.StatusOK || body != "container bytes" {
		t.Fatalf("backup: %d %q %v", res.StatusCode, body, err)
	}
	// Failing before any byte: an error answer.
	res, body, err = get(&fakeBackups{err: errors.New("open read view: disk I/O error")})
	if err != nil || res.StatusCode != http.StatusInternalServerError || !strings.Contains(body, "error") {
		t.Fatalf("failed backup: %v %q %v", res, body, err)
	}
	// Failing midway: the stream breaks instead of ending cleanly.
	_, _, err = get(&fakeBackups{data: strings.Repeat("x", 1<<16), err: errors.New("disk I/O error")})
	if err == nil {
		t.Fatal("a backup that failed midway read as complete")
	}
	// No backup service.
	res, _, err = get(nil)
	if err != nil || res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("no backup service: %d", res.StatusCode)
	}
}
