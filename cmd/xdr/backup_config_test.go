package main

import (
	"strings"
	"testing"
	"time"
)

func TestBackupScheduleOptions(t *testing.T) {
	const key = "age1c5ww49a80qefdmfrr503p8fht9tz92jqhs3tkmz6fkfuwgt9n9fqy57qaz"
	cases := []struct {
		name                        string
		interval, dir, recips, keep string
		want                        string // error substring; "" for success
		wantInterval                time.Duration
		wantRecipients, wantKeep    int
	}{
		{name: "off", keep: "7"},
		{name: "daily", interval: "24h", dir: "/var/backups/xdr", recips: key, keep: "7", wantInterval: 24 * time.Hour, wantRecipients: 1, wantKeep: 7},
		{name: "escrow", interval: "1h", dir: "d", recips: key + ", " + key, keep: "0", wantInterval: time.Hour, wantRecipients: 2},
		{name: "bad interval", interval: "daily", dir: "d", recips: key, keep: "7", want: `backup-interval "daily"`},
		{name: "too short", interval: "10ms", dir: "d", recips: key, keep: "7", want: "at least 1s"},
		{name: "no dir", interval: "1h", recips: key, keep: "7", want: "backup-dir must be set"},
		{name: "no recipient", interval: "1h", dir: "d", keep: "7", want: "backup-recipients no recipient"},
		{name: "bad recipient", interval: "1h", dir: "d", recips: "age1nope", keep: "7", want: `backup-recipients recipient "age1nope"`},
		{name: "bad keep", interval: "1h", dir: "d", recips: key, keep: "-1", want: `backup-keep "-1"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := Config{BackupInterval: c.interval, BackupDir: c.dir, BackupRecipients: c.recips, BackupKeep: c.keep}
			s, err := cfg.backupSchedule()
			if c.want != "" {
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("error %v, want %q", err, c.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Interval != c.wantInterval || len(s.Recipients) != c.wantRecipients || s.Keep != c.wantKeep {
				t.Fatalf("schedule %+v", s)
			}
		})
	}
}
