package main

import (
	"reflect"
	"strings"
	"testing"
)

// TestSyslogListenerTables: [[syslog_listener]] tables add listeners with
// their own tenants to the three options'; bad tables are refused by number.
func TestSyslogListenerTables(t *testing.T) {
	t.Parallel()
	file := writeTOML(t, `
syslog_udp = "127.0.0.1:5514"
syslog_tenant = "ops"

[[syslog_listener]]
transport = "udp"
addr = "127.0.0.1:5515"
tenant = "acme"

[[syslog_listener]]
transport = "tls"
addr = "0.0.0.0:6515"
`)
	cfg, err := loadServeConfig([]string{"--config", file}, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := []SyslogListener{{"udp", "127.0.0.1:5514", ""}, {"udp", "127.0.0.1:5515", "acme"}, {"tls", "0.0.0.0:6515", ""}}
	if got := cfg.syslogListeners(); !reflect.DeepEqual(got, want) {
		t.Errorf("listeners %+v, want %+v", got, want)
	}
	if cfg.SyslogTenant != "ops" {
		t.Errorf("syslog tenant %q", cfg.SyslogTenant)
	}

	for name, c := range map[string]struct{ table, want string }{
		"transport": {"transport = \"sctp\"\naddr = \"127.0.0.1:1\"", `syslog_listener 1: transport "sctp": use udp, tcp or tls`},
		"addr":      {"transport = \"tcp\"\naddr = \"601\"", `syslog_listener 1: addr "601": want host:port`},
		"tenant":    {"transport = \"tcp\"\naddr = \"127.0.0.1:1\"\ntenant = \"Not A Name\"", `syslog_listener 1: tenant`},
		"unknown":   {"transport = \"tcp\"\naddr = \"127.0.0.1:1\"\nport = 1", `unknown key "syslog_listener.port"`},
	} {
		_, err := loadServeConfig([]string{"--config", writeTOML(t, "[[syslog_listener]]\n"+c.table+"\n")}, envOf(nil))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to say %q", name, err, c.want)
		}
	}
}
