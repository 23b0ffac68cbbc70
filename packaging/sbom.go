package main

import (
	"bytes"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// module is one Go module compiled into a binary.
type module struct {
	path, version, sum string
}

func (m module) purl() string { return "pkg:golang/" + m.path + "@" + m.version }

// modulesOf lists the binary's modules (replacements resolved), sorted.
func modulesOf(bi *buildinfo.BuildInfo) []module {
	var mods []module
	for _, d := range bi.Deps {
		if d.Replace != nil {
			d = d.Replace
		}
		mods = append(mods, module{d.Path, d.Version, d.Sum})
	}
	slices.SortFunc(mods, func(a, b module) int { return strings.Compare(a.path, b.path) })
	return mods
}

func goVersionOf(bin string) (string, error) {
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		return "", err
	}
	return bi.GoVersion, nil
}

// CycloneDX 1.5 JSON, the parts this SBOM uses.
type cdxBOM struct {
	BOMFormat    string          `json:"bomFormat"`
	SpecVersion  string          `json:"specVersion"`
	SerialNumber string          `json:"serialNumber"`
	Version      int             `json:"version"`
	Metadata     cdxMetadata     `json:"metadata"`
	Components   []cdxComponent  `json:"components"`
	Dependencies []cdxDependency `json:"dependencies"`
}

type cdxMetadata struct {
	Timestamp string       `json:"timestamp"`
	Tools     cdxTools     `json:"tools"`
	Component cdxComponent `json:"component"`
}

type cdxTools struct {
	Components []cdxComponent `json:"components"`
}

type cdxComponent struct {
	Type       string        `json:"type"`
	BOMRef     string        `json:"bom-ref,omitempty"`
	Name       string        `json:"name"`
	Version    string        `json:"version,omitempty"`
	PURL       string        `json:"purl,omitempty"`
	Properties []cdxProperty `json:"properties,omitempty"`
}

type cdxProperty struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type cdxDependency struct {
	Ref       string   `json:"ref"`
	DependsOn []string `json:"dependsOn"`
}

const mainModule = "github.com/minixdr/xdr"

// makeSBOM describes the modules compiled into the binary and, from `go mod
// graph` in repo, which of them requires which. The serial number is derived
// from the content and the timestamp is the build time, so the file is
// reproducible.
func makeSBOM(mods []module, bin, goVersion, version, repo string, built time.Time) ([]byte, error) {
	mainRef := "pkg:golang/" + mainModule + "@v" + version
	stdlib := cdxComponent{Type: "library", BOMRef: "pkg:golang/stdlib@" + goVersion, Name: "stdlib", Version: goVersion, PURL: "pkg:golang/stdlib@" + goVersion}
	bom := cdxBOM{
		BOMFormat: "CycloneDX", SpecVersion: "1.5", Version: 1,
		Metadata: cdxMetadata{
			Timestamp: built.UTC().Format(time.RFC3339),
			Tools:     cdxTools{Components: []cdxComponent{{Type: "application", Name: "xdr-packaging", Version: version}}},
			Component: cdxComponent{Type: "application", BOMRef: mainRef, Name: mainModule, Version: "v" + version, PURL: mainRef,
				Properties: []cdxProperty{{"cdx:gomod:binary:name", "xdr"}, {"cdx:gomod:build:env:GOOS", "linux"}}},
		},
		Components: []cdxComponent{stdlib},
	}
	selected := map[string]string{mainModule: mainRef} // path@version -> bom-ref
	for _, m := range mods {
		c := cdxComponent{Type: "library", BOMRef: m.purl(), Name: m.path, Version: m.version, PURL: m.purl()}
		if m.sum != "" {
			c.Properties = []cdxProperty{{"cdx:gomod:module:checksum", m.sum}}
		}
		bom.Components = append(bom.Components, c)
		selected[m.path+"@"+m.version] = m.purl()
	}

	cmd := exec.Command("go", "mod", "graph")
	cmd.Dir = repo
	cmd.Stderr = os.Stderr
	graph, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go mod graph: %w", err)
	}
	edges := map[string][]string{mainRef: {stdlib.BOMRef}}
	for _, line := range strings.Split(strings.TrimSpace(string(graph)), "\n") {
		from, to, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		f, okF := selected[from]
		t, okT := selected[to]
		if okF && okT && !slices.Contains(edges[f], t) {
			edges[f] = append(edges[f], t)
		}
	}
	refs := []string{mainRef}
	for _, c := range bom.Components {
		refs = append(refs, c.BOMRef)
	}
	for _, r := range refs {
		deps := edges[r]
		if deps == nil {
			deps = []string{}
		}
		slices.Sort(deps)
		bom.Dependencies = append(bom.Dependencies, cdxDependency{Ref: r, DependsOn: deps})
	}

	bom.SerialNumber = "urn:uuid:00000000-0000-0000-0000-000000000000"
	body, err := json.Marshal(bom)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	sum[6] = sum[6]&0x0f | 0x80 // UUID version 8: custom, here a content hash
	sum[8] = sum[8]&0x3f | 0x80
	bom.SerialNumber = fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
	return json.MarshalIndent(bom, "", "  ")
}

// checkSBOM checks the shape of a CycloneDX SBOM and that it lists exactly
// the modules compiled into bin.
func checkSBOM(data []byte, bin string) error {
	var bom cdxBOM
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&bom); err != nil {
		return fmt.Errorf("sbom: %w", err)
	}
	if bom.BOMFormat != "CycloneDX" || bom.SpecVersion != "1.5" || bom.Version < 1 {
		return fmt.Errorf("sbom: bomFormat %q specVersion %q version %d, want CycloneDX 1.5", bom.BOMFormat, bom.SpecVersion, bom.Version)
	}
	if !strings.HasPrefix(bom.SerialNumber, "urn:uuid:") || len(bom.SerialNumber) != len("urn:uuid:")+36 {
		return fmt.Errorf("sbom: serialNumber %q is not a urn:uuid", bom.SerialNumber)
	}
	if _, err := time.Parse(time.RFC3339, bom.Metadata.Timestamp); err != nil {
		return fmt.Errorf("sbom: metadata.timestamp: %w", err)
	}
	refs := map[string]bool{}
	all := append([]cdxComponent{bom.Metadata.Component}, bom.Components...)
	for _, c := range all {
		if c.Type == "" || c.Name == "" || c.BOMRef == "" || !strings.HasPrefix(c.PURL, "pkg:golang/") || !strings.HasSuffix(c.PURL, "@"+c.Version) {
			return fmt.Errorf("sbom: component %+v lacks type, name, bom-ref or a purl pkg:golang/NAME@VERSION", c)
		}
		if refs[c.BOMRef] {
			return fmt.Errorf("sbom: bom-ref %s twice", c.BOMRef)
		}
		refs[c.BOMRef] = true
	}
	seen := map[string]bool{}
	for _, d := range bom.Dependencies {
		if !refs[d.Ref] {
			return fmt.Errorf("sbom: dependency of unknown ref %s", d.Ref)
		}
		seen[d.Ref] = true
		for _, t := range d.DependsOn {
			if !refs[t] {
				return fmt.Errorf("sbom: %s depends on unknown ref %s", d.Ref, t)
			}
		}
	}
	if len(seen) != len(refs) {
		return fmt.Errorf("sbom: %d components but dependencies for %d", len(refs), len(seen))
	}
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		return err
	}
	for _, m := range modulesOf(bi) {
		if !refs[m.purl()] {
			return fmt.Errorf("sbom: module %s@%s of %s is missing", m.path, m.version, bin)
		}
	}
	if want := len(modulesOf(bi)) + 2; len(refs) != want { // + the main module and stdlib
		return fmt.Errorf("sbom: %d components, the binary has %d modules", len(refs), want)
	}
	if !refs["pkg:golang/stdlib@"+bi.GoVersion] {
		return fmt.Errorf("sbom: stdlib %s is missing", bi.GoVersion)
	}
	return nil
}
