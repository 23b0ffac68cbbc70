package detect

import (
	"archive/tar"
	"archive/zip"
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
	// maxZipEntries bounds a zip's central directory, which is read whole
	// before any file: other files besides the rules are allowed, not
	// millions of them.
	maxZipEntries = 4 * maxImportFiles
)

// ReadRuleFiles reads the Sigma rule files (*.yml, *.yaml) of a directory
// tree, a .tar.gz/.tgz or .zip archive or a single YAML file, by path
// relative to it. Other files (READMEs, licences) are left out.
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
	if strings.HasSuffix(lower, ".zip") {
		return ReadRuleZip(f, st.Size())
	}
	if !isRuleFile(p) {
		return nil, fmt.Errorf("%s is not a directory, .tar.gz, .zip or .yml file", p)
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
		name, err := archiveName(h.Name)
		if err != nil {
			return nil, err
		}
		if err := c.add(name, tr); err != nil {
			return nil, err
		}
	}
}

// ReadRuleZip reads the rule files of a zip archive of size bytes, with the
// limits of ReadRuleArchive: a file's and the total uncompressed size (as
// read, not as the archive claims), the number of files, and names that
// stay inside the archive.
func ReadRuleZip(r io.ReaderAt, size int64) (map[string][]byte, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // insecure names are refused below, by name
		return nil, fmt.Errorf("not a zip file: %w", err)
	}
	if len(zr.File) > maxZipEntries {
		return nil, fmt.Errorf("more than %d entries in the archive", maxZipEntries)
	}
	c := &collector{files: map[string][]byte{}}
	for _, f := range zr.File {
		if !f.Mode().IsRegular() || !isRuleFile(f.Name) {
			continue
		}
		name, err := archiveName(f.Name)
		if err != nil {
			return nil, err
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		err = c.add(name, rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
	}
	return c.files, nil
}

// archiveName is the slash path of an archive member relative to the
// archive; a name that would leave it (absolute, "..") is refused, though
// nothing is written to disk, because such an archive is forged or broken.
func archiveName(name string) (string, error) {
	clean := path.Clean(strings.ReplaceAll(name, `\`, "/"))
	if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("%s: the path leaves the archive", name)
	}
	return strings.TrimPrefix(clean, "./"), nil
}
