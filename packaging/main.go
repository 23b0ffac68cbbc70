package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "packaging:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: packaging build|check-sbom [FLAGS]")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	switch args[0] {
	case "build":
		var r release
		var epoch string
		fs.StringVar(&r.repo, "repo", "..", "repository root (docs, go.mod)")
		fs.StringVar(&r.build, "build", "", "directory with linux_ARCH/xdr binaries and xdr.toml")
		fs.StringVar(&r.dist, "dist", "", "output directory")
		fs.StringVar(&r.version, "version", "", "semantic version, e.g. 1.2.3 or 0.0.0-dev.5+gabc1234")
		fs.StringVar(&r.commit, "commit", "", "git commit")
		fs.StringVar(&epoch, "epoch", os.Getenv("SOURCE_DATE_EPOCH"), "build time, seconds since 1970 (the commit time)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if r.build == "" || r.dist == "" || r.version == "" || r.commit == "" || epoch == "" {
			return fmt.Errorf("build: -build, -dist, -version, -commit and -epoch (or SOURCE_DATE_EPOCH) are required")
		}
		sec, err := strconv.ParseInt(epoch, 10, 64)
		if err != nil {
			return fmt.Errorf("build: epoch %q: %w", epoch, err)
		}
		r.mtime = time.Unix(sec, 0).UTC()
		return r.make()
	case "check-sbom":
		sbom := fs.String("sbom", "", "CycloneDX JSON file")
		binary := fs.String("binary", "", "the binary it describes")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *sbom == "" || *binary == "" {
			return fmt.Errorf("check-sbom: -sbom and -binary are required")
		}
		b, err := os.ReadFile(*sbom)
		if err != nil {
			return err
		}
		return checkSBOM(b, *binary)
	}
	return fmt.Errorf("unknown command %q (build, check-sbom)", args[0])
}
