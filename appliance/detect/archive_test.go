package detect_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/minixdr/xdr/appliance/detect"
)

// member is one file of a test archive.
type member struct {
	name string
	body string
}

func zipOf(t testing.TB, members ...member) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range members {
		w, err := zw.Create(m.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(m.body)) //nolint:errcheck // bytes.Buffer
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func tarGzOf(t testing.TB, members ...member) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, m := range members {
		if err := tw.WriteHeader(&tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(m.body)) //nolint:errcheck // bytes.Buffer
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	return buf.Bytes()
}

// TestReadRuleArchives: zip and tar.gz packs are read with the same limits,
// and a bad one is refused with an error naming the member at fault.
func TestReadRuleArchives(t *testing.T) {
	big := strings.Repeat("#", 1<<20+1)
	// 70 files of 1 MB: over the 64 MB total, though each file is allowed
	// and the zip itself is small (they compress to almost nothing).
	var bomb []member
	for i := range 70 {
		bomb = append(bomb, member{name: "r" + strings.Repeat("x", i) + ".yml", body: big[:1<<20]})
	}
	for _, tc := range []struct {
		name    string
		members []member
		want    []string // rule files read
		err     string
	}{
		{name: "rules and other files", members: []member{{"sigma/rules/a.yml", goodRule}, {"sigma/README.md", "# x"}, {"./b.yaml", corrRule}},
			want: []string{"sigma/rules/a.yml", "b.yaml"}},
		{name: "parent directory", members: []member{{"../evil.yml", goodRule}}, err: "../evil.yml: the path leaves the archive"},
		{name: "deep parent directory", members: []member{{"rules/../../evil.yml", goodRule}}, err: "rules/../../evil.yml: the path leaves the archive"},
		{name: "absolute path", members: []member{{"/etc/evil.yml", goodRule}}, err: "/etc/evil.yml: the path leaves the archive"},
		{name: "backslashes", members: []member{{`..\evil.yml`, goodRule}}, err: `..\evil.yml: the path leaves the archive`},
		{name: "file too large", members: []member{{"rules/big.yml", big}}, err: "rules/big.yml: over 1048576 bytes"},
		{name: "total too large", members: bomb, err: "rule files total over 67108864 bytes"},
	} {
		for _, format := range []string{"zip", "tar.gz"} {
			t.Run(format+" "+tc.name, func(t *testing.T) {
				var files map[string][]byte
				var err error
				if format == "zip" {
					b := zipOf(t, tc.members...)
					files, err = detect.ReadRuleZip(bytes.NewReader(b), int64(len(b)))
				} else {
					files, err = detect.ReadRuleArchive(bytes.NewReader(tarGzOf(t, tc.members...)))
				}
				if tc.err != "" {
					if err == nil || !strings.Contains(err.Error(), tc.err) {
						t.Fatalf("error %v, want one containing %q", err, tc.err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(files) != len(tc.want) {
					t.Errorf("read %v, want %v", keys(files), tc.want)
				}
				for _, name := range tc.want {
					if files[name] == nil {
						t.Errorf("%s not read (got %v)", name, keys(files))
					}
				}
			})
		}
	}
	t.Run("not a zip", func(t *testing.T) {
		if _, err := detect.ReadRuleZip(strings.NewReader("PK\x03\x04 truncated"), 14); err == nil || !strings.Contains(err.Error(), "not a zip file") {
			t.Errorf("error %v, want \"not a zip file\"", err)
		}
	})
	t.Run("too many files", func(t *testing.T) {
		var many []member
		for i := range 20001 {
			many = append(many, member{name: "r" + strconv.Itoa(i) + ".yml", body: "x"})
		}
		b := zipOf(t, many...)
		if _, err := detect.ReadRuleZip(bytes.NewReader(b), int64(len(b))); err == nil || !strings.Contains(err.Error(), "more than 20000 rule files") {
			t.Errorf("error %v, want \"more than 20000 rule files\"", err)
		}
	})
	t.Run("corrupt member", func(t *testing.T) {
		b := zipOf(t, member{"rules/a.yml", goodRule})
		// Flip a byte of the compressed data: the member fails its checksum.
		i := bytes.Index(b, []byte("rules/a.yml")) + len("rules/a.yml") + 5
		b[i] ^= 0xff
		if _, err := detect.ReadRuleZip(bytes.NewReader(b), int64(len(b))); err == nil || !strings.Contains(err.Error(), "rules/a.yml") {
			t.Errorf("error %v, want one naming rules/a.yml", err)
		}
	})
}

// FuzzReadRuleZip: any bytes give rule files within the limits or an
// error, never a panic or a name outside the archive.
func FuzzReadRuleZip(f *testing.F) {
	f.Add(zipOf(f, member{"rules/a.yml", goodRule}, member{"README.md", "# x"}))
	f.Add(zipOf(f, member{"../evil.yml", goodRule}))
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	f.Fuzz(func(t *testing.T, b []byte) {
		files, err := detect.ReadRuleZip(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		for name := range files {
			if strings.HasPrefix(name, "/") || name == ".." || strings.HasPrefix(name, "../") {
				t.Errorf("name %q leaves the archive", name)
			}
		}
	})
}

// TestReadRuleFilesZip: the CLI's reader takes a .zip pack by its name.
func TestReadRuleFilesZip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pack.ZIP")
	if err := os.WriteFile(p, zipOf(t, member{"rules/a.yml", goodRule}, member{"LICENSE", "x"}), 0o600); err != nil {
		t.Fatal(err)
	}
	files, err := detect.ReadRuleFiles(p)
	if err != nil || len(files) != 1 || string(files["rules/a.yml"]) != goodRule {
		t.Fatalf("read %v: %v", keys(files), err)
	}
}
