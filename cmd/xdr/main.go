// Command xdr is the Mini-XDR appliance: `xdr serve` runs a node, and the
// other subcommands administer a running node over its local admin socket.
// This package parses the command line and wires the packages together;
// it holds no logic of its own.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"
)

// Set at build time with -ldflags "-X main.version=... -X main.commit=... -X main.buildDate=...".
var (
	version   = "dev"
	commit    = "unknown"
	buildDate = "unknown"
)

const usage = `usage: xdr COMMAND [FLAGS]

commands:
  serve          run a node (see xdr serve -h)
  cluster        token | status | remove: manage the cluster (see xdr cluster)
  token create   create an API token on the node of --data-dir
  rules import   import Sigma rules (file, directory or .tar.gz) into the node of --data-dir
  intel import   import threat intel (STIX, MISP, CSV or a list) into the node of --data-dir
  backup         create | verify: encrypted backups (see xdr backup)
  restore        restore a backup into a new data dir
  config example print a config file with every option and its default
  version        print version information
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "xdr:", err)
		os.Exit(1)
	}
}

// run executes one command; tests call it directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("no command given")
	}
	switch args[0] {
	case "serve":
		getenv, err := withSecretFiles(getenv)
		if err != nil {
			return err
		}
		cfg, err := loadServeConfig(args[1:], getenv)
		if err != nil {
			return err
		}
		return serve(ctx, cfg, stderr, getenv)
	case "cluster":
		return clusterCommand(ctx, args[1:], stdout, getenv)
	case "backup":
		return backupCommand(ctx, args[1:], stdout, getenv)
	case "restore":
		return restoreCommand(args[1:], stdout, stderr)
	case "token":
		if len(args) < 2 || args[1] != "create" {
			return fmt.Errorf("usage: xdr token create --tenant T --name N [--scope ingest|api] [--data-dir DIR]")
		}
		return tokenCreate(ctx, args[2:], stdout, getenv)
	case "rules":
		return rulesCommand(ctx, args[1:], stdout, getenv)
	case "intel":
		return intelCommand(ctx, args[1:], stdout, getenv)
	case "config":
		if len(args) < 2 || args[1] != "example" {
			return fmt.Errorf("usage: xdr config example [SERVE FLAGS]")
		}
		return configExample(args[2:], stdout)
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "xdr %s (commit %s, built %s, %s)\n", version, commit, buildDate, runtime.Version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
