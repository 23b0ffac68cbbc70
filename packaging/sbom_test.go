package main

import (
	"bytes"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The SBOM of this test binary: right shape, every module, reproducible;
// and checkSBOM catches what a broken generator would write.
func TestSBOM(t *testing.T) {
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	mods := modulesOf(bi)
	if len(mods) < 10 {
		t.Fatalf("only %d modules in the test binary", len(mods))
	}
	built := time.Unix(1700000000, 0)
	sbom, err := makeSBOM(mods, bin, bi.GoVersion, "1.2.3", ".", built)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkSBOM(sbom, bin); err != nil {
		t.Fatalf("%v\n%s", err, sbom)
	}
	again, err := makeSBOM(mods, bin, bi.GoVersion, "1.2.3", ".", built)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sbom, again) {
		t.Errorf("two SBOMs of the same input differ")
	}
	var bom cdxBOM
	if err := json.Unmarshal(sbom, &bom); err != nil {
		t.Fatal(err)
	}
	if bom.Metadata.Timestamp != "2023-11-14T22:13:20Z" {
		t.Errorf("timestamp %s, want the build time", bom.Metadata.Timestamp)
	}
	// nfpm requires chglog directly: the graph's edge must be there.
	nfpmRef := ""
	for _, c := range bom.Components {
		if c.Name == "github.com/goreleaser/nfpm/v2" {
			nfpmRef = c.BOMRef
		}
	}
	found := false
	for _, d := range bom.Dependencies {
		if d.Ref == nfpmRef {
			for _, to := range d.DependsOn {
				found = found || strings.Contains(to, "github.com/goreleaser/chglog@")
			}
		}
	}
	if !found {
		t.Errorf("no dependency edge from nfpm (%s) to chglog", nfpmRef)
	}

	for _, c := range []struct {
		name   string
		change func(*cdxBOM)
		want   string
	}{
		{"module missing", dropComponent, "missing"},
		{"dangling dependency", func(b *cdxBOM) { b.Dependencies[0].DependsOn = append(b.Dependencies[0].DependsOn, "pkg:golang/x@v1") }, "unknown ref"},
		{"duplicate ref", func(b *cdxBOM) { b.Components = append(b.Components, b.Components[1]) }, "twice"},
		{"bad purl", func(b *cdxBOM) { b.Components[1].PURL = "golang/x" }, "purl"},
		{"no serial", func(b *cdxBOM) { b.SerialNumber = "" }, "serialNumber"},
		{"wrong spec", func(b *cdxBOM) { b.SpecVersion = "1.2" }, "1.5"},
	} {
		var b cdxBOM
		if err := json.Unmarshal(sbom, &b); err != nil {
			t.Fatal(err)
		}
		c.change(&b)
		data, _ := json.Marshal(b)
		if err := checkSBOM(data, bin); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: checkSBOM gave %v, want an error mentioning %q", c.name, err, c.want)
		}
	}
	if err := checkSBOM([]byte(`{"bomFormat":"CycloneDX","extra":1}`), bin); err == nil {
		t.Errorf("an unknown field passed")
	}
}

// dropComponent removes the last component and every mention of it.
func dropComponent(b *cdxBOM) {
	gone := b.Components[len(b.Components)-1].BOMRef
	b.Components = b.Components[:len(b.Components)-1]
	var deps []cdxDependency
	for _, d := range b.Dependencies {
		if d.Ref == gone {
			continue
		}
		d.DependsOn = slices.DeleteFunc(d.DependsOn, func(r string) bool { return r == gone })
		deps = append(deps, d)
	}
	b.Dependencies = deps
}

func TestWriteSums(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{"b.deb": "bee", "a.rpm": "a"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := writeSums(dir, []string{"b.deb", "a.rpm"}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	// sha256sum(1) of "a" and "bee", sorted by name.
	want := "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb  a.rpm\n" +
		fmt.Sprintf("%x  b.deb\n", sha256.Sum256([]byte("bee")))
	if string(got) != want {
		t.Errorf("SHA256SUMS:\n%s\nwant\n%s", got, want)
	}
}

func TestChangelogVersion(t *testing.T) {
	for _, c := range []struct{ version, want string }{
		{"1.2.3", "semver: 1.2.3-1\n"},
		{"1.2.3-rc1", "semver: 1.2.3~rc1-1\n"},
		{"0.0.0+dev.5.gabc", "semver: 0.0.0+dev.5.gabc-1\n"},
	} {
		r := release{version: c.version, commit: "0123456789abcdef", mtime: time.Unix(0, 0)}
		b, err := r.changelog()
		if err != nil || !strings.Contains(string(b), c.want) {
			t.Errorf("%s: %v\n%s", c.version, err, b)
		}
	}
	r := release{version: "1\"2", commit: "x"}
	if _, err := r.changelog(); err == nil {
		t.Errorf("a quote in the version was accepted")
	}
}
