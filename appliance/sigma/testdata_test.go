package sigma

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance/ingest"
)

// The shared test data (../shared/testdata/sigma, README there): SigmaHQ
// rules, Windows attack events and the reference engine's matches.

func sigmaDataDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "testdata", "sigma")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// ruleFile is one .yml of the rules archive.
type ruleFile struct {
	path string // as in rule_status.ndjson.gz: src/sigma/<path in archive>
	data []byte
}

var (
	ruleFilesOnce sync.Once
	ruleFilesVal  []ruleFile
	ruleFilesErr  error
)

func loadRuleFiles(t testing.TB) []ruleFile {
	t.Helper()
	ruleFilesOnce.Do(func() {
		f, err := os.Open(filepath.Join(sigmaDataDir(t), "sigma_rules.tar.gz"))
		if err != nil {
			ruleFilesErr = err
			return
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			ruleFilesErr = err
			return
		}
		tr := tar.NewReader(zr)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				ruleFilesErr = err
				return
			}
			if h.Typeflag != tar.TypeReg || !strings.HasSuffix(h.Name, ".yml") {
				continue
			}
			data, err := io.ReadAll(tr)
			if err != nil {
				ruleFilesErr = err
				return
			}
			ruleFilesVal = append(ruleFilesVal, ruleFile{path: "src/sigma/" + strings.TrimPrefix(h.Name, "./"), data: data})
		}
	})
	if ruleFilesErr != nil {
		t.Fatal(ruleFilesErr)
	}
	return ruleFilesVal
}

// readNDJSON decodes every line of a gzipped NDJSON file into fn.
func readNDJSON(t testing.TB, name string, fn func(line []byte)) {
	t.Helper()
	f, err := os.Open(filepath.Join(sigmaDataDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		fn(sc.Bytes())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

var (
	eventsOnce sync.Once
	eventsVal  []*Event
	eventsDocs [][]byte
)

// loadEvents runs every test event through our windows ingest parser and
// builds the document the store would hold (the same keys as
// ingest.buildEvent: id, source, @timestamp, the fields, original).
func loadEvents(t testing.TB) ([]*Event, [][]byte) {
	t.Helper()
	eventsOnce.Do(func() {
		received := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		i := 0
		readNDJSON(t, "events_developer.ndjson.gz", func(line []byte) {
			p, err := ingest.ParseWindows(line, received)
			if err != nil {
				t.Fatalf("event %d: windows parser: %v", i, err)
			}
			doc := map[string]any{}
			for k, v := range p.Fields {
				doc[k] = v
			}
			doc["id"] = strconv.Itoa(i)
			doc["source"] = "windows"
			ts := p.Timestamp
			if ts.IsZero() {
				ts = received
			}
			doc["@timestamp"] = ts.Format(time.RFC3339Nano)
			doc["original"] = json.RawMessage(append([]byte(nil), p.Original...))
			b, err := json.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := NewEvent(b)
			if err != nil {
				t.Fatalf("event %d: NewEvent: %v", i, err)
			}
			eventsVal = append(eventsVal, ev)
			eventsDocs = append(eventsDocs, b)
			i++
		})
	})
	if len(eventsVal) == 0 {
		t.Fatal("no events loaded")
	}
	return eventsVal, eventsDocs
}
