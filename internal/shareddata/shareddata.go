// Package shareddata finds the project's shared folder (../shared beside
// the repository: real test data from outside the project and reference
// data) for tests. When that folder is absent, as in a bare clone, the
// test is skipped with a message saying so; CI has it.
package shareddata

import (
	"os"
	"path/filepath"
	"testing"
)

// Root returns the shared folder, or skips tb when there is none.
func Root(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "..", "shared")); err == nil {
				return filepath.Join(dir, "..", "shared")
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Skip("the shared data folder (../shared beside the repository) is absent: this test needs its real data")
			return ""
		}
		dir = parent
	}
}

// Path returns a path under the shared folder, skipping tb when that
// folder is absent. A missing file inside a present folder is left to the
// caller to report: it is a real failure.
func Path(tb testing.TB, parts ...string) string {
	tb.Helper()
	return filepath.Join(append([]string{Root(tb)}, parts...)...)
}
