// Package sigmatest loads the shared Sigma test data
// (../shared/testdata/sigma, see its README) for the engine's tests and
// benchmarks and for the comparison benchmarks of bench/sigmacompare: the
// SigmaHQ rule archive, and the Windows attack events as our store holds
// them (run through the windows ingest parser).
package sigmatest

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/minixdr/xdr/appliance/ingest"
)

// Dir finds ../shared/testdata/sigma from the directory holding the
// nearest go.mod above the working directory whose parent has shared/.
func Dir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		cand := filepath.Join(dir, "..", "shared", "testdata", "sigma")
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(cand); err == nil {
				return cand, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no ../shared/testdata/sigma next to a go.mod above the working directory")
		}
		dir = parent
	}
}

// RuleFile is one .yml file of the rule archive.
type RuleFile struct {
	Path string // as rule_status.ndjson.gz names it: src/sigma/<path in the archive>
	Data []byte
}

// RuleFiles reads every .yml of sigma_rules.tar.gz.
func RuleFiles(dir string) ([]RuleFile, error) {
	f, err := os.Open(filepath.Join(dir, "sigma_rules.tar.gz"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	var out []RuleFile
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg || !strings.HasSuffix(h.Name, ".yml") {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		out = append(out, RuleFile{Path: "src/sigma/" + strings.TrimPrefix(h.Name, "./"), Data: data})
	}
}

// ReadNDJSON calls fn with every line of a gzipped NDJSON file of dir.
func ReadNDJSON(dir, name string, fn func(line []byte) error) error {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 16<<20)
	for n := 1; sc.Scan(); n++ {
		if err := fn(sc.Bytes()); err != nil {
			return fmt.Errorf("%s line %d: %w", name, n, err)
		}
	}
	return sc.Err()
}

// Events are the test events: Raw as in events_developer.ndjson.gz, Docs
// as our store keeps them (the windows parser's fields, id = the line's
// index, source, @timestamp, original: the keys ingest writes).
type Events struct {
	Raw, Docs [][]byte
}

// WindowsEvents reads events_developer.ndjson.gz.
func WindowsEvents(dir string) (*Events, error) {
	received := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	evs := &Events{}
	err := ReadNDJSON(dir, "events_developer.ndjson.gz", func(line []byte) error {
		p, err := ingest.ParseWindows(line, received)
		if err != nil {
			return fmt.Errorf("windows parser: %w", err)
		}
		b, err := StoredDoc("windows", strconv.Itoa(len(evs.Docs)), p, received)
		if err != nil {
			return err
		}
		evs.Raw = append(evs.Raw, append([]byte(nil), line...))
		evs.Docs = append(evs.Docs, b)
		return nil
	})
	return evs, err
}

// StoredDoc renders a parsed event as the store keeps it: its fields, id,
// source, @timestamp (received when the event has none) and original.
func StoredDoc(source, id string, p ingest.Parsed, received time.Time) ([]byte, error) {
	doc := make(map[string]any, len(p.Fields)+4)
	for k, v := range p.Fields {
		doc[k] = v
	}
	ts := p.Timestamp
	if ts.IsZero() {
		ts = received
	}
	doc["id"] = id
	doc["source"] = source
	doc["@timestamp"] = ts.Format(time.RFC3339Nano)
	doc["original"] = json.RawMessage(p.Original)
	return json.Marshal(doc)
}
