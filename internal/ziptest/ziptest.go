// Package ziptest builds zip archives for tests and checks the evidence
// zips of the analyst UI against their SHA-256 manifest, for the ui tests
// and the browser tests alike.
package ziptest

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
)

// Zip is a zip archive of files (name → content).
func Zip(tb testing.TB, files map[string]string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		w, err := zw.Create(name)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := w.Write([]byte(files[name])); err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// CheckEvidence opens an evidence zip and fails tb unless every line of
// its MANIFEST.sha256 (but comments) names a file of the zip with that
// SHA-256, every other file is listed, and it holds incident.json and at
// least one event with its original. It returns the files.
func CheckEvidence(tb testing.TB, body []byte) map[string][]byte {
	tb.Helper()
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		tb.Fatalf("the evidence is not a zip: %v", err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			tb.Fatal(err)
		}
		files[f.Name], err = io.ReadAll(rc)
		rc.Close()
		if err != nil {
			tb.Fatalf("%s: %v", f.Name, err)
		}
	}
	listed, events := 0, 0
	for _, line := range strings.Split(strings.TrimSpace(string(files["MANIFEST.sha256"])), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		sum, name, ok := strings.Cut(line, "  ")
		got := sha256.Sum256(files[name])
		if !ok || files[name] == nil || hex.EncodeToString(got[:]) != sum {
			tb.Errorf("evidence: the manifest line %q does not match the file", line)
		}
		listed++
		if strings.HasPrefix(name, "events/") {
			events++
			if !bytes.Contains(files[name], []byte(`"original":`)) {
				tb.Errorf("evidence: %s lacks the original event", name)
			}
		}
	}
	if listed != len(files)-1 || files["incident.json"] == nil || events == 0 {
		tb.Errorf("evidence: the manifest lists %d of the %d other files, %d events: %v", listed, len(files)-1, events, slices.Sorted(maps.Keys(files)))
	}
	return files
}
