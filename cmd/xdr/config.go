package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/minixdr/xdr/appliance"
)

// Config is every setting of `xdr serve`. Each comes, in rising precedence,
// from its default, the config file, an XDR_* environment variable, and a
// command-line flag.
type Config struct {
	DataDir     string `toml:"data_dir"`
	HTTP        string `toml:"http"`
	ClusterAddr string `toml:"cluster_addr"`
	// ClusterAdvertise is the address peers reach the cluster port at.
	ClusterAdvertise string   `toml:"cluster_advertise"`
	GossipAddr       string   `toml:"gossip_addr"`
	Join             []string `toml:"join"`
	JoinToken        string   `toml:"join_token"`
	SyslogUDP        string   `toml:"syslog_udp"`
	SyslogTCP        string   `toml:"syslog_tcp"`
	SyslogTLS        string   `toml:"syslog_tls"`
	// SyslogTenant owns what the syslog listeners receive.
	SyslogTenant string `toml:"syslog_tenant"`
	// SyslogListeners are more listeners, each with its tenant (file only).
	SyslogListeners []SyslogListener `toml:"syslog_listener"`
	TLSCert         string           `toml:"tls_cert"`
	TLSKey          string           `toml:"tls_key"`
	LogLevel        string           `toml:"log_level"`

	// Scheduled backups: off while BackupInterval is empty.
	BackupInterval   string `toml:"backup_interval"`
	BackupDir        string `toml:"backup_dir"`
	BackupRecipients string `toml:"backup_recipients"`
	BackupKeep       string `toml:"backup_keep"`
}

// option describes one setting: its flag (and, derived from it, its
// environment variable and file key) and where it lives in Config.
type option struct {
	flag  string
	usage string
	def   string
	field func(*Config) *string
}

var serveOptions = []option{
	{"data-dir", "directory for all state", "./data", func(c *Config) *string { return &c.DataDir }},
	{"http", "address of the web UI and API (HTTPS unless loopback)", "127.0.0.1:8080", func(c *Config) *string { return &c.HTTP }},
	{"cluster-addr", "address for Raft and node-to-node traffic", "127.0.0.1:8300", func(c *Config) *string { return &c.ClusterAddr }},
	{"cluster-advertise", "address peers reach --cluster-addr at (default: --cluster-addr)", "", func(c *Config) *string { return &c.ClusterAdvertise }},
	{"gossip-addr", "address for membership gossip (default: cluster port + 1)", "", func(c *Config) *string { return &c.GossipAddr }},
	{"join-token", "token from `xdr cluster token` on a member", "", func(c *Config) *string { return &c.JoinToken }},
	{"syslog-udp", "syslog over UDP listen address", "", func(c *Config) *string { return &c.SyslogUDP }},
	{"syslog-tcp", "syslog over TCP listen address", "", func(c *Config) *string { return &c.SyslogTCP }},
	{"syslog-tls", "syslog over TLS listen address (the HTTPS certificate)", "", func(c *Config) *string { return &c.SyslogTLS }},
	{"syslog-tenant", "tenant that owns the messages the syslog listeners receive", "default", func(c *Config) *string { return &c.SyslogTenant }},
	{"tls-cert", "PEM certificate for HTTPS (default: self-signed in the data dir)", "", func(c *Config) *string { return &c.TLSCert }},
	{"tls-key", "PEM key for --tls-cert", "", func(c *Config) *string { return &c.TLSKey }},
	{"log-level", "debug, info, warn or error", "info", func(c *Config) *string { return &c.LogLevel }},
	{"backup-interval", "make a scheduled backup every interval, e.g. 24h (empty: off)", "", func(c *Config) *string { return &c.BackupInterval }},
	{"backup-dir", "directory scheduled backups are written to", "", func(c *Config) *string { return &c.BackupDir }},
	{"backup-recipients", "comma-separated age public keys (age1…) scheduled backups are encrypted to", "", func(c *Config) *string { return &c.BackupRecipients }},
	{"backup-keep", "how many scheduled backups backup-dir keeps (0: all)", "7", func(c *Config) *string { return &c.BackupKeep }},
}

func envName(flagName string) string {
	return "XDR_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseArgs parses flags that may stand before or after positional
// arguments; it returns the positionals.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// loadServeConfig resolves the configuration of `xdr serve` from args, the
// environment and the config file.
func loadServeConfig(args []string, getenv func(string) string) (Config, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	configFile := fs.String("config", "", "TOML config file")
	flagVals := map[string]*string{}
	for _, o := range serveOptions {
		flagVals[o.flag] = fs.String(o.flag, "", o.usage+" (default "+strconv.Quote(o.def)+")")
	}
	join := fs.String("join", "", "comma-separated cluster addresses of existing members")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return Config{}, err
	}
	if len(pos) > 0 {
		return Config{}, fmt.Errorf("serve takes no arguments, got %q", pos[0])
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	var cfg Config
	for _, o := range serveOptions {
		*o.field(&cfg) = o.def
	}
	if *configFile == "" {
		*configFile = getenv("XDR_CONFIG")
	}
	var fileText string
	fromFile := map[string]bool{} // options whose value is the file's
	if *configFile != "" {
		md, text, err := readConfigFile(*configFile, &cfg)
		if err != nil {
			return Config{}, err
		}
		fileText = text
		for _, f := range optionFlags() {
			fromFile[f] = md.IsDefined(fileKey(f))
		}
	}
	for _, o := range serveOptions {
		if v := getenv(envName(o.flag)); v != "" {
			*o.field(&cfg) = v
			fromFile[o.flag] = false
		}
		if set[o.flag] {
			*o.field(&cfg) = *flagVals[o.flag]
			fromFile[o.flag] = false
		}
	}
	if v := getenv("XDR_JOIN"); v != "" {
		cfg.Join = splitList(v)
	}
	if set["join"] {
		cfg.Join = splitList(*join)
	}
	return cfg, annotateFileError(cfg.validate(), *configFile, fileText, fromFile)
}

// readConfigFile decodes the file into cfg and returns its metadata and
// text; errors name the file and, where known, the line and key.
func readConfigFile(path string, cfg *Config) (toml.MetaData, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return toml.MetaData{}, "", fmt.Errorf("config: %w", err)
	}
	text := string(b)
	md, err := toml.Decode(text, cfg)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			key := ""
			if perr.LastKey != "" {
				key = fmt.Sprintf(" (key %s)", perr.LastKey)
			}
			return md, "", fmt.Errorf("config %s: line %d%s: %s", path, perr.Position.Line, key, perr.Message)
		}
		return md, "", fmt.Errorf("config %s: %w", path, err)
	}
	if undecoded := md.Undecoded(); len(undecoded) > 0 {
		k := undecoded[0]
		if line := keyLine(text, k); line > 0 {
			return md, "", fmt.Errorf("config %s: line %d: unknown key %q", path, line, k.String())
		}
		return md, "", fmt.Errorf("config %s: unknown key %q", path, k.String())
	}
	return md, text, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (c *Config) validate() error {
	if c.DataDir == "" {
		return optErr("data-dir", "must not be empty")
	}
	for _, a := range []struct{ name, v string }{{"http", c.HTTP}, {"cluster-addr", c.ClusterAddr}, {"cluster-advertise", c.ClusterAdvertise}, {"gossip-addr", c.GossipAddr}} {
		if a.v == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a.v); err != nil {
			return optErr(a.name, "%q: want host:port", a.v)
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("tls-cert and tls-key go together")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return optErr("log-level", "%q: use debug, info, warn or error", c.LogLevel)
	}
	if len(c.Join) > 0 && c.JoinToken == "" {
		return optErr("join-token", "is required with --join (run `xdr cluster token` on a member)")
	}
	for _, a := range c.Join {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return optErr("join", "%q: want the host:port of a member's --cluster-addr", a)
		}
	}
	for _, l := range []struct{ name, v string }{{"syslog-udp", c.SyslogUDP}, {"syslog-tcp", c.SyslogTCP}, {"syslog-tls", c.SyslogTLS}} {
		if l.v == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(l.v); err != nil {
			return optErr(l.name, "%q: want host:port", l.v)
		}
	}
	if err := appliance.ValidName("syslog-tenant", c.SyslogTenant); err != nil {
		return &optionError{flag: "syslog-tenant", err: err}
	}
	if err := validateSyslogListeners(c.SyslogListeners); err != nil {
		return err
	}
	if _, err := c.backupSchedule(); err != nil {
		return err
	}
	return nil
}
