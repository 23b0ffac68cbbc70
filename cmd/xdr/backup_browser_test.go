package main

import (
	"os"
	"path/filepath"
	"strings"
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
	// The page, not the directory, says when the backup is done: the
	// directory holds the file while it is written.
	b.openUntil("/backups", "the scheduled backup", backupTimeout, func() bool {
		return strings.Contains(eval[string](b, `(d => d ? d.textContent : '')(document.querySelector("#last-h + dl"))`), "xdr-backup-")
	})
	b.wantText("h1", "Backups")
	b.wantText("#last-h + dl", "xdr-backup-")
	b.checkPage("backups")
	if entries, err := os.ReadDir(dir); err != nil || len(entries) == 0 {
		t.Fatalf("the page shows a backup, the backup dir holds %d files (%v)", len(entries), err)
	}

	// The backup volume disappears; the next change's backup fails.
	if err := os.Rename(dir, dir+".gone"); err != nil {
		t.Fatal(err)
	}
	n.createToken("sensor", "ingest")
	b.openUntil("/backups", "the failure alert", backupTimeout, func() bool {
		return eval[bool](b, `document.querySelector("[role=alert]") !== null`)
	})
	b.wantText("[role=alert]", "The last scheduled backup failed")
	b.checkPage("backups-failing")
}

// backupTimeout bounds the wait for a scheduled backup (every second in the
// test) on a loaded machine.
const backupTimeout = time.Minute
