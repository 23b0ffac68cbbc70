package sigma

import (
	"fmt"
	"sync"
	"testing"

	"github.com/minixdr/xdr/appliance/sigma/sigmatest"

	"github.com/minixdr/xdr/internal/shareddata"
)

// The shared test data, loaded once per test binary.
var testData struct {
	once   sync.Once
	err    error
	dir    string
	files  []sigmatest.RuleFile
	events []*Event
	docs   [][]byte
}

func loadTestData(t testing.TB) {
	t.Helper()
	shareddata.Root(t) // skips when the shared folder is absent
	testData.once.Do(func() {
		d := &testData
		if d.dir, d.err = sigmatest.Dir(); d.err != nil {
			return
		}
		if d.files, d.err = sigmatest.RuleFiles(d.dir); d.err != nil {
			return
		}
		evs, err := sigmatest.WindowsEvents(d.dir)
		if d.err = err; err != nil {
			return
		}
		d.docs = evs.Docs
		for i, doc := range evs.Docs {
			ev, err := NewEvent(doc)
			if err != nil {
				d.err = fmt.Errorf("event %d: %w", i, err)
				return
			}
			d.events = append(d.events, ev)
		}
	})
	if testData.err != nil {
		t.Fatal(testData.err)
	}
}

func loadRuleFiles(t testing.TB) []sigmatest.RuleFile {
	loadTestData(t)
	return testData.files
}

func loadEvents(t testing.TB) ([]*Event, [][]byte) {
	loadTestData(t)
	return testData.events, testData.docs
}

// readNDJSON reads a file of the test data.
func readNDJSON(t testing.TB, name string, fn func(line []byte)) {
	t.Helper()
	loadTestData(t)
	if err := sigmatest.ReadNDJSON(testData.dir, name, func(l []byte) error { fn(l); return nil }); err != nil {
		t.Fatal(err)
	}
}
