package main

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// Errors about the file name the file, the line and the key.
func TestConfigFileErrorsNameKeyAndLine(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, text string
		env        map[string]string
		want       []string
		notWant    string
	}{
		{"unknown key", "http = \"127.0.0.1:1\"\n\n# note\nbogus_key = 1\n", nil, []string{"line 4", `"bogus_key"`}, ""},
		{"unknown table", "log_level = \"info\"\n[server]\nport = 1\n", nil, []string{"line 2", `"server"`}, ""},
		{"bad value", "http = \"127.0.0.1:1\"\nlog_level = \"loud\"\n", nil, []string{"line 2", "log_level", `"loud"`}, ""},
		{"bad address", "\n\nsyslog_tcp = \"nowhere\"\n", nil, []string{"line 3", "syslog_tcp", "host:port"}, ""},
		{"bad tenant", "syslog_tenant = \"Not Valid\"\n", nil, []string{"line 1", "syslog_tenant"}, ""},
		{"wrong type", "log_level = \"info\"\nhttp = 8080\n", nil, []string{"line 2", "http"}, ""},
		{"syntax", "log_level = \"info\"\nhttp = \n", nil, []string{"line 2"}, ""},
		// A bad value from the environment is not blamed on the file.
		{"bad value from env", "http = \"127.0.0.1:1\"\n", map[string]string{"XDR_LOG_LEVEL": "loud"}, []string{"log-level", `"loud"`}, "line"},
	} {
		path := writeTOML(t, c.text)
		_, err := loadServeConfig([]string{"--config", path}, envOf(c.env))
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		msg := err.Error()
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: error %q does not mention %q", c.name, msg, w)
			}
		}
		if c.notWant != "" && strings.Contains(msg, c.notWant) {
			t.Errorf("%s: error %q mentions %q", c.name, msg, c.notWant)
		}
		if strings.Contains(msg, "\n") {
			t.Errorf("%s: error %q is not one line", c.name, msg)
		}
	}
}

func TestKeyLine(t *testing.T) {
	t.Parallel()
	text := "# comment = 1\na = 1\n  b=2\n\"c\" = 3\n[t]\nd = 4\n[t.u]\ne = 5\n"
	for _, c := range []struct {
		key  toml.Key
		want int
	}{
		{toml.Key{"a"}, 2}, {toml.Key{"b"}, 3}, {toml.Key{"c"}, 4}, {toml.Key{"t", "d"}, 6},
		{toml.Key{"t", "u", "e"}, 8}, {toml.Key{"t", "u"}, 7}, {toml.Key{"comment"}, 0}, {toml.Key{"d"}, 0}, {toml.Key{"zz"}, 0},
	} {
		if got := keyLine(text, c.key); got != c.want {
			t.Errorf("keyLine(%q) = %d, want %d", c.key, got, c.want)
		}
	}
}

func TestSecretFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pw := write("pw", "s3cret pass\n")
	tok := write("tok", "jointoken\r\n")
	empty := write("empty", "\n")

	getenv, err := withSecretFiles(envOf(map[string]string{"XDR_ADMIN_PASSWORD_FILE": pw, "XDR_JOIN_TOKEN_FILE": tok, "XDR_HTTP": "x"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := getenv("XDR_ADMIN_PASSWORD"); got != "s3cret pass" {
		t.Errorf("XDR_ADMIN_PASSWORD from file = %q", got)
	}
	if got := getenv("XDR_JOIN_TOKEN"); got != "jointoken" {
		t.Errorf("XDR_JOIN_TOKEN from file = %q", got)
	}
	if got := getenv("XDR_HTTP"); got != "x" {
		t.Errorf("other variables pass through: XDR_HTTP = %q", got)
	}

	for _, c := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"both", map[string]string{"XDR_ADMIN_PASSWORD": "a", "XDR_ADMIN_PASSWORD_FILE": pw}, "XDR_ADMIN_PASSWORD_FILE"},
		{"missing file", map[string]string{"XDR_JOIN_TOKEN_FILE": filepath.Join(dir, "nope")}, "XDR_JOIN_TOKEN_FILE"},
		{"empty file", map[string]string{"XDR_ADMIN_PASSWORD_FILE": empty}, "empty"},
	} {
		if _, err := withSecretFiles(envOf(c.env)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
}

// The real binary takes the first admin password from XDR_ADMIN_PASSWORD_FILE.
func TestAdminPasswordFile(t *testing.T) {
	t.Parallel()
	pw := filepath.Join(t.TempDir(), "admin-password")
	if err := os.WriteFile(pw, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	n := startNode(t, "XDR_ADMIN_PASSWORD_FILE="+pw)
	if code, _ := n.login("admin", "correct horse battery staple"); code != http.StatusOK {
		t.Fatalf("login with the password from the file: %d", code)
	}
	if _, err := os.Stat(filepath.Join(n.dir, "initial-admin-password")); !os.IsNotExist(err) {
		t.Errorf("a password was generated although one was given: %v", err)
	}
}

var settingLine = regexp.MustCompile(`(?m)^# ([a-z_]+ = .*)$`)

// The example holds every option with its default: uncommenting its
// settings gives exactly the defaults, and no option of the table is missing.
func TestConfigExample(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.Context(), []string{"config", "example"}, &out, &out, envOf(nil)); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, f := range optionFlags() {
		if !regexp.MustCompile(`(?m)^# ` + fileKey(f) + ` = `).MatchString(text) {
			t.Errorf("option %s (key %s) is missing from the example", f, fileKey(f))
		}
	}
	uncommented := settingLine.ReplaceAllString(text, "$1")
	var fromExample Config
	md, err := toml.Decode(uncommented, &fromExample)
	if err != nil {
		t.Fatalf("the uncommented example does not parse: %v\n%s", err, uncommented)
	}
	if u := md.Undecoded(); len(u) > 0 {
		t.Errorf("the example has keys xdr serve does not know: %v", u)
	}
	if n := len(md.Keys()); n != len(optionFlags()) {
		t.Errorf("the example sets %d keys, want %d (every option once)", n, len(optionFlags()))
	}
	defaults, err := loadServeConfig(nil, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(fromExample.Join) == 0 {
		fromExample.Join = nil // join = [] is no join
	}
	if !configEqual(fromExample, defaults) {
		t.Errorf("the example's values are not the defaults:\n got %+v\nwant %+v", fromExample, defaults)
	}

	// The commented table is a valid listener.
	table := regexp.MustCompile(`(?m)^# (\[\[syslog_listener\]\]|  .*)$`).ReplaceAllString(uncommented, "$1")
	var withTable Config
	if _, err := toml.Decode(table, &withTable); err != nil || len(withTable.SyslogListeners) != 1 {
		t.Fatalf("the example's [[syslog_listener]] table: %+v, %v", withTable.SyslogListeners, err)
	}
	if err := withTable.validate(); err != nil {
		t.Errorf("the example's [[syslog_listener]] table: %v", err)
	}

	// As the packages install it: data_dir set, the rest commented; it loads.
	out.Reset()
	if err := run(t.Context(), []string{"config", "example", "--data-dir", "/var/lib/xdr", "--join", "10.0.0.1:8300, 10.0.0.2:8300"}, &out, &out, envOf(nil)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "\ndata_dir = \"/var/lib/xdr\"\n") || !strings.Contains(out.String(), "\njoin = [\"10.0.0.1:8300\", \"10.0.0.2:8300\"]\n") {
		t.Errorf("flags given are not set in the example:\n%s", out.String())
	}
	var packaged Config
	if _, err := toml.Decode(out.String(), &packaged); err != nil || packaged.DataDir != "/var/lib/xdr" || len(packaged.Join) != 2 {
		t.Errorf("packaged example: %+v, %v", packaged, err)
	}

	for _, args := range [][]string{{"config"}, {"config", "example", "extra"}, {"config", "example", "--nope"}} {
		if err := run(t.Context(), args, &out, &out, envOf(nil)); err == nil {
			t.Errorf("xdr %q accepted", args)
		}
	}
}
