package detect_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minixdr/xdr/appliance/detect"
	"github.com/minixdr/xdr/appliance/sigma"
)

const goodRule = `title: Good
id: 00000000-0000-4000-8000-000000000001
status: test
level: high
logsource:
  product: cowrie
detection:
  selection:
    event.action: command-input
  condition: selection
`

const corrRule = `title: Many commands
id: 00000000-0000-4000-8000-000000000002
status: stable
correlation:
  type: event_count
  rules:
    - 00000000-0000-4000-8000-000000000001
  group-by:
    - source.ip
  timespan: 1m
  condition:
    gte: 3
level: medium
`

func TestCheck(t *testing.T) {
	files := map[string][]byte{
		"a/good.yml":     []byte(goodRule),
		"a/corr.yml":     []byte(corrRule),
		"b/bad-yaml.yml": []byte("title: [\n"),
		"b/no-id.yml":    []byte(strings.Replace(goodRule, "id: 00000000-0000-4000-8000-000000000001\n", "", 1)),
		"b/dup.yml":      []byte(goodRule),
		"b/aws.yml":      []byte(strings.Replace(strings.Replace(goodRule, "product: cowrie", "product: aws", 1), "0001", "0003", 1)),
		"b/dangling.yml": []byte(strings.Replace(strings.Replace(corrRule, "0002", "0004", 1), "000000000001", "000000000009", 1)),
		"c/two.yml":      []byte(strings.Replace(goodRule, "0001", "0005", 1) + "---\n" + strings.Replace(goodRule, "0001", "0006", 1)),
	}
	res := detect.Check(files, nil, nil)
	var ok []string
	for _, r := range res.Rules {
		ok = append(ok, r.ID[len(r.ID)-1:])
	}
	if strings.Join(ok, ",") != "2,1,5,6" {
		t.Errorf("rules kept: %v", ok)
	}
	want := map[string]string{
		"b/bad-yaml.yml": "document 1", "b/no-id.yml": "no id", "b/dup.yml": "duplicate rule id (also in a/good.yml)",
		"b/aws.yml": "no logsource mapping for product aws", "b/dangling.yml": "unknown rules",
	}
	if len(res.Failures) != len(want) {
		t.Errorf("failures: %+v", res.Failures)
	}
	for _, f := range res.Failures {
		if !strings.Contains(f.Reason, want[f.File]) || want[f.File] == "" {
			t.Errorf("failure %+v, want reason with %q", f, want[f.File])
		}
	}
	// A correlation may refer to a rule imported before.
	prev, _ := sigma.ParseRules([]byte(goodRule))
	res = detect.Check(map[string][]byte{"corr.yml": []byte(corrRule)}, prev, nil)
	if len(res.Rules) != 1 || len(res.Failures) != 0 {
		t.Errorf("correlation against an existing rule: %+v", res)
	}
	keep, err := detect.StatusFilter("stable")
	if err != nil {
		t.Fatal(err)
	}
	res = detect.Check(map[string][]byte{"corr.yml": []byte(corrRule), "good.yml": []byte(goodRule)}, nil, keep)
	if res.Skipped != 1 || len(res.Failures) != 1 || !strings.Contains(res.Failures[0].Reason, "unknown rules") {
		t.Errorf("status filter leaving out a referenced rule: %+v", res)
	}
	if _, err := detect.StatusFilter("stable,bogus"); err == nil {
		t.Error("bad status accepted")
	}
}

func TestParseOne(t *testing.T) {
	for _, tc := range []struct{ src, err string }{
		{goodRule, ""},
		{goodRule + "---\n" + goodRule, "want one rule, got 2"},
		{strings.Replace(goodRule, "00000000-0000-4000-8000-000000000001", "Bad ID!", 1), "rule id"},
		{strings.Replace(goodRule, "id: 00000000-0000-4000-8000-000000000001\n", "", 1), "no id"},
	} {
		r, err := detect.ParseOne([]byte(tc.src))
		if (tc.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("ParseOne: %v, want %q", err, tc.err)
		}
		if err == nil {
			info := detect.Info(r)
			if info.Kind != "detection" || info.Logsource != "product cowrie" || info.Attack == nil {
				t.Errorf("Info %+v", info)
			}
		}
	}
}

func TestReadRuleFiles(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"rules/a.yml": goodRule, "rules/deep/b.YAML": corrRule, "README.md": "# x", "LICENSE": "x"} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	files, err := detect.ReadRuleFiles(dir)
	if err != nil || len(files) != 2 || string(files["rules/deep/b.YAML"]) != corrRule {
		t.Fatalf("dir: %v %v", keys(files), err)
	}
	// The same as a .tar.gz, with the "./" prefix a release archive has.
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, body := range map[string]string{"./rules/a.yml": goodRule, "./README.md": "# x"} {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	tw.WriteHeader(&tar.Header{Name: "./rules/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.Close()
	zw.Close()
	archive := filepath.Join(dir, "pack.tar.gz")
	os.WriteFile(archive, buf.Bytes(), 0o600)
	files, err = detect.ReadRuleFiles(archive)
	if err != nil || len(files) != 1 || string(files["rules/a.yml"]) != goodRule {
		t.Fatalf("archive: %v %v", keys(files), err)
	}
	if _, err := detect.ReadRuleArchive(strings.NewReader("not gzip")); err == nil {
		t.Error("not gzip accepted")
	}
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o600)
	if _, err := detect.ReadRuleFiles(filepath.Join(dir, "notes.txt")); err == nil {
		t.Error("a .txt file accepted")
	}
	files, err = detect.ReadRuleFiles(filepath.Join(dir, "rules", "a.yml"))
	if err != nil || len(files) != 1 {
		t.Errorf("one file: %v %v", keys(files), err)
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
