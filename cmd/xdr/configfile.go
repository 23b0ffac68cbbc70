package main

// The config file's side of the options table: where a key stands in the
// file (for errors naming its line), secrets read from *_FILE variables, and
// `xdr config example`, the commented file the packages install.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// optionFlags names every option of xdr serve: the table's and --join (a
// list, so outside the table of string options).
func optionFlags() []string {
	flags := []string{}
	for _, o := range serveOptions {
		flags = append(flags, o.flag)
	}
	if !slices.Contains(flags, "join") {
		flags = append(flags, "join")
	}
	return flags
}

// fileKey is an option's key in the config file.
func fileKey(flagName string) string { return strings.ReplaceAll(flagName, "-", "_") }

// optionError is a bad value of one option (its message names the option);
// loadServeConfig adds the file and line when the value came from the file.
type optionError struct {
	flag string
	err  error
}

func (e *optionError) Error() string { return e.err.Error() }
func (e *optionError) Unwrap() error { return e.err }

func optErr(flagName, format string, args ...any) error {
	return &optionError{flag: flagName, err: fmt.Errorf(flagName+" "+format, args...)}
}

// keyLine returns the line (from 1) where key is set in the TOML text, or 0.
// It follows [table] headers and dotted keys, which covers the flat files
// this command reads; the decoder has already checked the syntax.
func keyLine(text string, key toml.Key) int {
	want := key.String()
	table := ""
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") {
			table = strings.Trim(line, "[] \t")
			if table == want {
				return i + 1
			}
			continue
		}
		k, _, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		k = strings.Trim(strings.TrimSpace(k), `"'`)
		if table != "" {
			k = table + "." + k
		}
		if k == want {
			return i + 1
		}
	}
	return 0
}

// secretVars may instead be given as NAME_FILE, the path of a file holding
// the value (a systemd credential, a mounted secret), so that the secret
// stays out of the environment and the process list.
var secretVars = []string{"XDR_ADMIN_PASSWORD", envName("join-token")}

// withSecretFiles returns getenv with each NAME_FILE of secretVars read in
// as NAME (one trailing newline removed).
func withSecretFiles(getenv func(string) string) (func(string) string, error) {
	read := map[string]string{}
	for _, name := range secretVars {
		path := getenv(name + "_FILE")
		if path == "" {
			continue
		}
		if getenv(name) != "" {
			return nil, fmt.Errorf("both %s and %s_FILE are set: use one", name, name)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s_FILE: %w", name, err)
		}
		v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		if v == "" {
			return nil, fmt.Errorf("%s_FILE: %s is empty", name, path)
		}
		read[name] = v
	}
	return func(k string) string {
		if v, ok := read[k]; ok {
			return v
		}
		return getenv(k)
	}, nil
}

// configExample writes a config file holding every option: those given as
// flags set, the others commented out with their defaults. The packages
// install `xdr config example --data-dir /var/lib/xdr` as /etc/xdr/xdr.toml.
func configExample(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("config example", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	vals := map[string]*string{}
	for _, o := range serveOptions {
		vals[o.flag] = fs.String(o.flag, "", o.usage)
	}
	join := fs.String("join", "", "")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("config example: %w (it takes the flags of xdr serve)", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("config example takes no arguments, got %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	var b strings.Builder
	b.WriteString(`# Mini-XDR configuration, read by "xdr serve --config FILE".
# Every setting is listed with its default; uncomment a line to change it.
# A flag on the command line overrides this file, and so does the setting's
# XDR_* environment variable. Secrets may come from files instead: see
# XDR_ADMIN_PASSWORD_FILE and XDR_JOIN_TOKEN_FILE in docs/cli.md.
`)
	line := func(flagName, usage, def, value string, isSet bool) {
		fmt.Fprintf(&b, "\n# %s\n# (flag --%s, environment %s)\n", usage, flagName, envName(flagName))
		if isSet {
			fmt.Fprintf(&b, "# default: %s = %s\n%s = %s\n", fileKey(flagName), def, fileKey(flagName), value)
			return
		}
		fmt.Fprintf(&b, "# %s = %s\n", fileKey(flagName), def)
	}
	for _, o := range serveOptions {
		line(o.flag, o.usage, strconv.Quote(o.def), strconv.Quote(*vals[o.flag]), set[o.flag])
	}
	line("join", "cluster addresses of existing members, to join their cluster", "[]", tomlList(splitList(*join)), set["join"])
	// Tables come last: every key after a table header belongs to it.
	b.WriteString(`
# More syslog listeners, each for its own tenant (config file only; one
# table per listener, after all the settings above):
# [[syslog_listener]]
#   transport = "udp"      # udp, tcp or tls (tls uses the HTTPS certificate)
#   addr = "0.0.0.0:5514"
#   tenant = "default"     # default: syslog_tenant
`)
	_, err := io.WriteString(w, b.String())
	return err
}

func tomlList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// annotateFileError adds the config file and line to a bad value that came
// from the file.
func annotateFileError(err error, path, text string, fromFile map[string]bool) error {
	var oe *optionError
	if path == "" || !errors.As(err, &oe) || !fromFile[oe.flag] {
		return err
	}
	key := fileKey(oe.flag)
	if line := keyLine(text, toml.Key{key}); line > 0 {
		return fmt.Errorf("config %s: line %d: %s: %w", path, line, key, err)
	}
	return fmt.Errorf("config %s: %s: %w", path, key, err)
}
