package detect

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Limits of a rule import read from disk: a SigmaHQ release is about 4,000
// files and 15 MB.
const (
	maxRuleFile    = 1 << 20
	maxImportBytes = 64 << 20
	maxImportFiles = 20000
)

// ReadRuleFiles reads the Sigma rule files (*.yml, *.yaml) of a directory
// tree, a .tar.gz/.tgz archive or a single YAML file, by path relative to
// it. Other files (READMEs, licences) are left out.
func ReadRuleFiles(p string) (map[string][]byte, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return readRuleDir(os.DirFS(p))
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	lower := strings.ToLower(p)
	if strings.HasSuffix(lower, ".tar.gz") || strings.HasSuffix(lower, ".tgz") {
		return ReadRuleArchive(f)
	}
	if !isRuleFile(p) {
		return nil, fmt.Errorf("%s is not a directory, .tar.gz or .yml file", p)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxRuleFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxRuleFile {
		return nil, fmt.Errorf("%s: over %d bytes", p, maxRuleFile)
	}
	return map[string][]byte{filepath.Base(p): data}, nil
}

func isRuleFile(name string) bool {
	ext := strings.ToLower(path.Ext(name))
	return ext == ".yml" || ext == ".yaml"
}

type collector struct {
	files map[string][]byte
	total int
}

func (c *collector) add(name string, r io.Reader) error {
	if len(c.files) >= maxImportFiles {
		return fmt.Errorf("more than %d rule files", maxImportFiles)
	}
	data, err := io.ReadAll(io.LimitReader(r, maxRuleFile+1))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > maxRuleFile {
		return fmt.Errorf("%s: over %d bytes", name, maxRuleFile)
	}
	c.total += len(data)
	if c.total > maxImportBytes {
		return fmt.Errorf("rule files total over %d bytes", maxImportBytes)
	}
	c.files[name] = data
	return nil
}

func readRuleDir(fsys fs.FS) (map[string][]byte, error) {
	c := &collector{files: map[string][]byte{}}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !isRuleFile(name) {
			return err
		}
		f, err := fsys.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		return c.add(name, f)
	})
	return c.files, err
}

// ReadRuleArchive reads the rule files of a gzip-compressed tar archive.
func ReadRuleArchive(r io.Reader) (map[string][]byte, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("not a gzip file: %w", err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	c := &collector{files: map[string][]byte{}}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return c.files, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read archive: %w", err)
		}
		if h.Typeflag != tar.TypeReg || !isRuleFile(h.Name) {
			continue
		}
		if err := c.add(strings.TrimPrefix(path.Clean(h.Name), "./"), tr); err != nil {
			return nil, err
		}
	}
}
