package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestBrowserBackupsPage: the backups page passes the page checks (axe in
// light and dark mode, no foreign requests) with a successful schedule and
// with a failing one, whose failure is an alert.
func TestBrowserBackupsPage(t *testing.T) {
	t.Parallel()
	_, recipient := ageKeys(t)
	dir := filepath.Join(t.TempDir(), "backups")
	n := startNodeWith(t, []string{"--backup-interval", "1s", "--backup-dir", dir, "--backup-recipients", recipient})
	b := newBrowser(t, n)
	b.login(n) // a change, so a backup follows within a second or two
	deadline := time.Now().Add(30 * time.Second)
	for entries, _ := os.ReadDir(dir); len(entries) == 0; entries, _ = os.ReadDir(dir) {
		if time.Now().After(deadline) {
			t.Fatal("no scheduled backup")
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.open("/backups")
	b.wantText("h1", "Backups")
	b.wantText("#last-h + dl", "xdr-backup-")
	b.checkPage("backups")

	// The backup volume disappears; the next change's backup fails.
	if err := os.Rename(dir, dir+".gone"); err != nil {
		t.Fatal(err)
	}
	n.createToken("sensor", "ingest")
	for {
		b.open("/backups")
		if eval[bool](b, `document.querySelector("[role=alert]") !== null`) {
			break
		}
		if time.Now().After(deadline.Add(30 * time.Second)) {
			t.Fatal("no failure alert on the backups page")
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.wantText("[role=alert]", "The last scheduled backup failed")
	b.checkPage("backups-failing")
}
