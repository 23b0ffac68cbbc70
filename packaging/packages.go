package main

import (
	"bytes"
	"crypto/sha256"
	"debug/buildinfo"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
	"github.com/goreleaser/nfpm/v2/files"
	_ "github.com/goreleaser/nfpm/v2/rpm" // registers the rpm packager
)

// scripts holds the maintainer scripts and Debian metadata files.
//
//go:embed deb rpm
var scripts embed.FS

// arches are the Go architectures released; nfpm maps them to deb/rpm names.
var arches = []string{"amd64", "arm64"}

// docs go to /usr/share/doc/xdr.
var docs = []string{"README.md", "docs/operations.md", "docs/cli.md", "docs/api.md", "docs/ingest.md"}

type release struct {
	repo, build, dist string
	version, commit   string
	mtime             time.Time
}

func (r *release) make() error {
	if err := os.MkdirAll(r.dist, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "xdr-packaging-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	bins := map[string]string{}
	var mods []module
	for i, arch := range arches {
		bins[arch] = filepath.Join(r.build, "linux_"+arch, "xdr")
		bi, err := buildinfo.ReadFile(bins[arch])
		if err != nil {
			return fmt.Errorf("binary for %s: %w", arch, err)
		}
		m := modulesOf(bi)
		if i > 0 && !slices.Equal(m, mods) {
			return fmt.Errorf("the %s and %s binaries contain different modules", arches[0], arch)
		}
		mods = m
	}
	goVersion, err := goVersionOf(bins[arches[0]])
	if err != nil {
		return err
	}

	// Generated documents: the same for every package.
	gen := map[string][]byte{}
	if gen["third-party-licenses.txt"], err = thirdPartyLicenses(r.repo, mods); err != nil {
		return err
	}
	if gen["changelog.yml"], err = r.changelog(); err != nil {
		return err
	}
	for name, b := range gen {
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
			return err
		}
	}
	if err := fs.WalkDir(scripts, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := scripts.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(tmp, filepath.Dir(p)), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(tmp, p), b, 0o644)
	}); err != nil {
		return err
	}

	var outputs []string
	for _, arch := range arches {
		for _, format := range []string{"deb", "rpm"} {
			name, err := r.pack(format, arch, bins[arch], tmp)
			if err != nil {
				return fmt.Errorf("%s %s: %w", format, arch, err)
			}
			outputs = append(outputs, name)
		}
	}
	sbom, err := makeSBOM(mods, bins[arches[0]], goVersion, r.version, r.repo, r.mtime)
	if err != nil {
		return err
	}
	sbomName := "xdr_" + r.version + ".cdx.json"
	if err := os.WriteFile(filepath.Join(r.dist, sbomName), sbom, 0o644); err != nil {
		return err
	}
	outputs = append(outputs, sbomName)
	return writeSums(r.dist, outputs)
}

// pack writes one package into r.dist and returns its file name.
func (r *release) pack(format, arch, bin, tmp string) (string, error) {
	owned := func(mode os.FileMode, group string) *files.ContentFileInfo {
		return &files.ContentFileInfo{Owner: "root", Group: group, Mode: mode}
	}
	contents := files.Contents{
		{Source: bin, Destination: "/usr/bin/xdr", FileInfo: owned(0o755, "root")},
		// The service reads it as group xdr; it may hold a join token.
		{Source: filepath.Join(r.build, "xdr.toml"), Destination: "/etc/xdr/xdr.toml", Type: files.TypeConfigNoReplace, FileInfo: owned(0o640, "xdr")},
		{Source: filepath.Join(r.repo, "systemd", "xdr.service"), Destination: "/usr/lib/systemd/system/xdr.service", FileInfo: owned(0o644, "root")},
		{Source: filepath.Join(tmp, "third-party-licenses.txt"), Destination: "/usr/share/doc/xdr/third-party-licenses.txt", FileInfo: owned(0o644, "root")},
	}
	for _, d := range docs {
		contents = append(contents, &files.Content{Source: filepath.Join(r.repo, d), Destination: "/usr/share/doc/xdr/" + filepath.Base(d), FileInfo: owned(0o644, "root")})
	}
	info := &nfpm.Info{
		Name:        "xdr",
		Arch:        arch,
		Platform:    "linux",
		Version:     r.version,
		Release:     "1",
		Section:     "net",
		Priority:    "optional",
		Maintainer:  "Mini-XDR maintainers <packaging@minixdr.invalid>",
		Vendor:      "Mini-XDR",
		Homepage:    "https://github.com/minixdr/xdr",
		License:     "Proprietary",
		Description: "Mini-XDR security appliance\nCollects security events from endpoints, sensors and log shippers, detects\nthreats and lets analysts investigate them, on one node or a small cluster.",
		Changelog:   filepath.Join(tmp, "changelog.yml"),
		MTime:       r.mtime,
	}
	switch format {
	case "deb":
		contents = append(contents,
			&files.Content{Source: filepath.Join(tmp, "deb", "copyright"), Destination: "/usr/share/doc/xdr/copyright", FileInfo: owned(0o644, "root")},
			&files.Content{Source: filepath.Join(tmp, "deb", "lintian-overrides"), Destination: "/usr/share/lintian/overrides/xdr", FileInfo: owned(0o644, "root")},
		)
		info.Scripts = nfpm.Scripts{
			PreInstall: filepath.Join(tmp, "deb", "preinst"), PostInstall: filepath.Join(tmp, "deb", "postinst"),
			PreRemove: filepath.Join(tmp, "deb", "prerm"), PostRemove: filepath.Join(tmp, "deb", "postrm"),
		}
		info.Depends = []string{"passwd"}
	case "rpm":
		contents = append(contents,
			&files.Content{Source: filepath.Join(tmp, "deb", "copyright"), Destination: "/usr/share/licenses/xdr/copyright", FileInfo: owned(0o644, "root")},
		)
		info.Scripts = nfpm.Scripts{
			PreInstall: filepath.Join(tmp, "rpm", "pre.sh"), PostInstall: filepath.Join(tmp, "rpm", "post.sh"),
			PreRemove: filepath.Join(tmp, "rpm", "preun.sh"), PostRemove: filepath.Join(tmp, "rpm", "postun.sh"),
		}
		info.RPM = nfpm.RPM{
			Summary: "Mini-XDR security appliance", Group: "System Environment/Daemons",
			BuildHost: "xdr-release", Packager: info.Maintainer, Compression: "gzip",
		}
		info.Depends = []string{"shadow-utils"}
	}
	info.Contents = contents
	info = nfpm.WithDefaults(info)
	if err := nfpm.Validate(info); err != nil {
		return "", err
	}
	p, err := nfpm.Get(format)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := p.Package(info, &buf); err != nil {
		return "", err
	}
	name := p.ConventionalFileName(info)
	return name, os.WriteFile(filepath.Join(r.dist, name), buf.Bytes(), 0o644)
}

// changelog is nfpm's changelog (chglog YAML) for this one version; nfpm
// renders it as changelog.Debian.gz and the rpm %changelog.
func (r *release) changelog() ([]byte, error) {
	if strings.ContainsAny(r.version+r.commit, "\"\n\\") {
		return nil, fmt.Errorf("version %q or commit %q has characters a changelog cannot hold", r.version, r.commit)
	}
	// The entry's version is the package's: dpkg spells a semver
	// pre-release with "~", and the package revision is 1.
	pkgVersion := strings.Replace(r.version, "-", "~", 1) + "-1"
	return fmt.Appendf(nil, `- semver: %s
  date: %s
  packager: Mini-XDR maintainers <packaging@minixdr.invalid>
  deb:
    urgency: medium
    distributions: [stable]
  changes:
    - commit: %s
      note: "Release %s, built from commit %.12s."
`, pkgVersion, r.mtime.Format(time.RFC3339), r.commit, r.version, r.commit), nil
}

// writeSums writes SHA256SUMS in the format of sha256sum(1), sorted by name.
func writeSums(dist string, names []string) error {
	slices.Sort(names)
	var b strings.Builder
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(dist, n))
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		fmt.Fprintf(&b, "%s  %s\n", hex.EncodeToString(sum[:]), n)
	}
	return os.WriteFile(filepath.Join(dist, "SHA256SUMS"), []byte(b.String()), 0o644)
}
