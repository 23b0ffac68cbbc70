package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/minixdr/xdr/appliance/detect"
	"github.com/minixdr/xdr/appliance/intel"
)

const rulesUsage = "usage: xdr rules import FILE_OR_DIR [--tenant T] [--status stable,test] [--disabled] [--data-dir DIR]"

// rulesCommand is `xdr rules import`: it reads the rule files here and
// sends them to the node of --data-dir, which checks and stores them.
func rulesCommand(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	if len(args) < 1 || args[0] != "import" {
		return fmt.Errorf(rulesUsage)
	}
	fs := flag.NewFlagSet("rules import", flag.ContinueOnError)
	tenant := fs.String("tenant", "default", "tenant the rules belong to")
	status := fs.String("status", "", "import only rules of these statuses (comma-separated: stable,test,experimental,…)")
	disabled := fs.Bool("disabled", false, "import the rules disabled")
	dataDir := fs.String("data-dir", orDefault(getenv("XDR_DATA_DIR"), "./data"), "data dir of the local node")
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf(rulesUsage)
	}
	files, err := detect.ReadRuleFiles(pos[0])
	if err != nil {
		return fmt.Errorf("read rules: %w", err)
	}
	if len(files) == 0 {
		return fmt.Errorf("no .yml or .yaml files in %s", pos[0])
	}
	var rep detect.ImportReport
	body := map[string]any{"tenant": *tenant, "status": *status, "disabled": *disabled, "files": files}
	if err := adminCall(ctx, *dataDir, "/admin/rules/import", body, &rep); err != nil {
		return err
	}
	for _, f := range rep.Failed {
		if f.Rule != "" {
			fmt.Fprintf(stdout, "failed: %s: rule %s: %s\n", f.File, f.Rule, f.Reason)
		} else {
			fmt.Fprintf(stdout, "failed: %s: %s\n", f.File, f.Reason)
		}
	}
	fmt.Fprintf(stdout, "imported %d rules from %d files; %d failed; %d left out by --status\n", rep.Imported, len(files), len(rep.Failed), rep.Skipped)
	if rep.Imported == 0 && len(rep.Failed) > 0 {
		return fmt.Errorf("no rule imported")
	}
	return nil
}

const intelUsage = "usage: xdr intel import FILE [--format stix|misp|csv|list] [--all] [--source NAME] [--replace] [--expires DURATION] [--severity S] [--tenant T] [--data-dir DIR]"

// intelCommand is `xdr intel import`.
func intelCommand(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	if len(args) < 1 || args[0] != "import" {
		return fmt.Errorf(intelUsage)
	}
	fs := flag.NewFlagSet("intel import", flag.ContinueOnError)
	tenant := fs.String("tenant", "default", "tenant the indicators belong to")
	format := fs.String("format", "", "stix, misp, csv or list (default: detected from the content)")
	all := fs.Bool("all", false, "MISP: also match attributes whose to_ids flag is false")
	source := fs.String("source", "", "name of the feed, shown in alerts (default: the format)")
	replace := fs.Bool("replace", false, "remove the source's indicators that this file no longer lists")
	expires := fs.String("expires", "", "expire the indicators this long after the import, e.g. 720h (default: their own expiry, or never)")
	severity := fs.String("severity", "", "severity of the alerts they raise (default high)")
	dataDir := fs.String("data-dir", orDefault(getenv("XDR_DATA_DIR"), "./data"), "data dir of the local node")
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf(intelUsage)
	}
	data, err := os.ReadFile(pos[0])
	if err != nil {
		return fmt.Errorf("read intel: %w", err)
	}
	var rep intel.Report
	body := map[string]any{"tenant": *tenant, "format": *format, "all": *all, "source": *source, "replace": *replace,
		"expires": *expires, "severity": *severity, "data": data}
	if err := adminCall(ctx, *dataDir, "/admin/intel/import", body, &rep); err != nil {
		return err
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(stdout, "malformed: %s: %s\n", p.Where, p.Reason)
	}
	reasons := make([]string, 0, len(rep.Skipped))
	for reason := range rep.Skipped {
		reasons = append(reasons, reason)
	}
	sort.Strings(reasons)
	for _, reason := range reasons {
		fmt.Fprintf(stdout, "skipped %d: %s\n", rep.Skipped[reason], reason)
	}
	fmt.Fprintf(stdout, "imported %d indicators (%s) from %d read; %d malformed\n", rep.Imported, byTypeText(rep.ByType), rep.Read, rep.Malformed)
	return nil
}

func byTypeText(m map[intel.Type]int) string {
	var s string
	for _, t := range intel.Types {
		if m[t] > 0 {
			if s != "" {
				s += ", "
			}
			s += fmt.Sprintf("%s %d", t, m[t])
		}
	}
	if s == "" {
		return "none"
	}
	return s
}
