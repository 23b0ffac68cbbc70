package main

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func writeTOML(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "xdr.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadServeConfigDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := loadServeConfig(nil, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{DataDir: "./data", HTTP: "127.0.0.1:8080", ClusterAddr: "127.0.0.1:8300", LogLevel: "info", SyslogTenant: "default", BackupKeep: "7"}
	if !configEqual(cfg, want) {
		t.Errorf("defaults: got %+v, want %+v", cfg, want)
	}
}

func configEqual(a, b Config) bool { return reflect.DeepEqual(a, b) }

// Flag over environment over file over default, setting by setting.
func TestLoadServeConfigPrecedence(t *testing.T) {
	t.Parallel()
	file := writeTOML(t, `
data_dir = "/from/file"
http = "127.0.0.1:1111"
cluster_addr = "127.0.0.1:2222"
gossip_addr = "127.0.0.1:2223"
log_level = "warn"
`)
	env := map[string]string{
		"XDR_HTTP":         "127.0.0.1:3333",
		"XDR_CLUSTER_ADDR": "127.0.0.1:4444",
		"XDR_LOG_LEVEL":    "",    // empty: not set
		"XDR_UNRELATED":    "zzz", // ignored
	}
	for _, how := range []string{"--config flag", "XDR_CONFIG"} {
		args := []string{"--cluster-addr", "127.0.0.1:5555"}
		e := map[string]string{}
		for k, v := range env {
			e[k] = v
		}
		if how == "XDR_CONFIG" {
			e["XDR_CONFIG"] = file
		} else {
			args = append([]string{"--config", file}, args...)
			e["XDR_CONFIG"] = "/nonexistent/ignored-when-the-flag-is-given.toml"
		}
		cfg, err := loadServeConfig(args, envOf(e))
		if err != nil {
			t.Fatalf("%s: %v", how, err)
		}
		want := Config{DataDir: "/from/file", HTTP: "127.0.0.1:3333", ClusterAddr: "127.0.0.1:5555",
			GossipAddr: "127.0.0.1:2223", LogLevel: "warn", SyslogTenant: "default", BackupKeep: "7"}
		if !configEqual(cfg, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", how, cfg, want)
		}
	}

	// A flag given explicitly wins even over the environment of the same setting.
	cfg, err := loadServeConfig([]string{"--log-level=debug", "--data-dir", "/from/flag"},
		envOf(map[string]string{"XDR_LOG_LEVEL": "error", "XDR_DATA_DIR": "/from/env", "XDR_CONFIG": file}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.LogLevel != "debug" || cfg.DataDir != "/from/flag" {
		t.Errorf("flag vs env: log level %q, data dir %q; want debug and /from/flag", cfg.LogLevel, cfg.DataDir)
	}
	cfg, err = loadServeConfig(nil, envOf(map[string]string{"XDR_LOG_LEVEL": "error", "XDR_CONFIG": file}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.LogLevel != "error" || cfg.DataDir != "/from/file" {
		t.Errorf("env vs file: log level %q, data dir %q; want error and /from/file", cfg.LogLevel, cfg.DataDir)
	}
}

func TestLoadServeConfigErrors(t *testing.T) {
	t.Parallel()
	unknown := writeTOML(t, "http = \"127.0.0.1:1\"\nbogus_key = 1\n")
	badSyntax := writeTOML(t, "http = \n")
	for _, c := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown key in the file", []string{"--config", unknown}, nil, "bogus_key"},
		{"file syntax error", []string{"--config", badSyntax}, nil, "line 1"},
		{"missing file", []string{"--config", "/nonexistent/xdr.toml"}, nil, "/nonexistent/xdr.toml"},
		{"bad log level flag", []string{"--log-level", "nope"}, nil, "log-level"},
		{"bad log level env", nil, map[string]string{"XDR_LOG_LEVEL": "nope"}, "log-level"},
		{"bad http address", []string{"--http", "localhost"}, nil, "http"},
		{"positional after flags", []string{"--http", "127.0.0.1:1", "extra"}, nil, "extra"},
		{"positional before flags", []string{"extra", "--http", "127.0.0.1:1"}, nil, "extra"},
		{"unknown flag", []string{"--no-such-flag"}, nil, "no-such-flag"},
	} {
		_, err := loadServeConfig(c.args, envOf(c.env))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %q is not one line", c.name, err)
		}
	}
}

func TestParseArgs(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args    []string
		pos     []string
		dataDir string
		verbose bool
	}{
		{nil, nil, "", false},
		{[]string{"pack.tar.gz", "--data-dir", "d"}, []string{"pack.tar.gz"}, "d", false},
		{[]string{"--data-dir", "d", "pack.tar.gz"}, []string{"pack.tar.gz"}, "d", false},
		{[]string{"a", "--v", "b", "--data-dir=d", "c"}, []string{"a", "b", "c"}, "d", true},
		{[]string{"a", "--", "--data-dir", "d"}, []string{"a", "--data-dir", "d"}, "", false},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		dataDir := fs.String("data-dir", "", "")
		verbose := fs.Bool("v", false, "")
		pos, err := parseArgs(fs, c.args)
		if err != nil {
			t.Errorf("%q: %v", c.args, err)
			continue
		}
		if !slices.Equal(pos, c.pos) || *dataDir != c.dataDir || *verbose != c.verbose {
			t.Errorf("%q: positionals %q, data-dir %q, v %v; want %q, %q, %v", c.args, pos, *dataDir, *verbose, c.pos, c.dataDir, c.verbose)
		}
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(new(strings.Builder))
	if _, err := parseArgs(fs, []string{"a", "--nope"}); err == nil {
		t.Errorf("an unknown flag after a positional was accepted")
	}
}
