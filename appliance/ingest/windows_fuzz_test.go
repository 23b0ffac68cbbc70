package ingest

// An internal test: it compares the fast reader of windows_fast.go with the
// reference one, and builds stored documents from what they return.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/minixdr/xdr/appliance"
)

// winSample reads the real Windows sample (see windows_test.go), or returns
// nil when the shared folder is absent.
func winSample(t testing.TB) [][]byte {
	const path = "../../../shared/testdata/sigma/events_developer.ndjson.gz"
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat("../../../shared"); err == nil {
			t.Fatalf("real Windows sample %s absent from the shared folder", path)
		}
		return nil // no shared folder: the committed corpus alone seeds the fuzzer
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(gz)
	sc.Buffer(nil, 1<<20)
	var lines [][]byte
	for sc.Scan() {
		lines = append(lines, bytes.Clone(sc.Bytes()))
	}
	return lines
}

// winSame compares stored values exactly (a float's sign of zero too).
func winSame(a, b any) bool {
	switch a := a.(type) {
	case float64:
		b, ok := b.(float64)
		return ok && math.Float64bits(a) == math.Float64bits(b)
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) || (a == nil) != (b == nil) {
			return false
		}
		for i := range a {
			if !winSame(a[i], b[i]) {
				return false
			}
		}
		return true
	}
	return a == b
}

// winCompare fails unless the fast reader's result is the reference's.
func winCompare(t *testing.T, line []byte, fast, ref Parsed) {
	t.Helper()
	if !fast.Timestamp.Equal(ref.Timestamp) || fast.Timestamp.Location() != ref.Timestamp.Location() {
		t.Fatalf("%q: timestamp fast %v, reference %v", line, fast.Timestamp, ref.Timestamp)
	}
	if !bytes.Equal(fast.Original, ref.Original) {
		t.Fatalf("%q: original fast %q, reference %q", line, fast.Original, ref.Original)
	}
	for k, v := range ref.Fields {
		if fv, ok := fast.Fields[k]; !ok || !winSame(fv, v) {
			t.Fatalf("%q: %s fast %#v, reference %#v", line, k, fv, v)
		}
	}
	for k, v := range fast.Fields {
		if _, ok := ref.Fields[k]; !ok {
			t.Fatalf("%q: %s = %#v only on the fast path", line, k, v)
		}
	}
}

// winFastScribbled is winFast over a copy of line that it then overwrites,
// as the ingest path's scanner reuses its buffer: the fields must not share
// the line's memory. Original does (the document is built before the next
// line is read); it is checked before the copy is overwritten, and then set
// to line.
func winFastScribbled(t *testing.T, line []byte, st *winState) (Parsed, bool) {
	t.Helper()
	buf := bytes.Clone(line)
	p, ok := winFast(buf, st)
	if ok && !bytes.Equal(p.Original, winOriginal(line)) {
		t.Fatalf("%q: original %q", line, p.Original)
	}
	for i := range buf {
		buf[i] = '#'
	}
	p.Original = winOriginal(line)
	return p, ok
}

// TestWindowsFastMatchesReference reads every line of the real sample both
// ways, the fast one with a state from the pool, as parseWindows does.
func TestWindowsFastMatchesReference(t *testing.T) {
	lines := winSample(t)
	if lines == nil {
		t.Skip("real Windows sample absent")
	}
	fast := 0
	for _, line := range lines {
		st := winPool.Get().(*winState)
		fp, ok := winFastScribbled(t, line, st)
		st.release()
		rp, err := parseWindowsRef(line, &winEvent{})
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if ok {
			fast++
			winCompare(t, line, fp, rp)
		}
	}
	// Only the events with UserData (293) take the reference path.
	t.Logf("fast path: %d of %d lines", fast, len(lines))
	if fast < len(lines)*97/100 {
		t.Fatalf("fast path took only %d of %d lines", fast, len(lines))
	}
}

// TestWindowsLargeObjects: objects with more members than the fast path
// checks for duplicates take the reference path, and parse.
func TestWindowsLargeObjects(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"@timestamp":"2024-03-01T12:00:00Z","winlog":{"event_id":4624,"event_data":{`)
	for i := range 3 * winMaxFastKeys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k` + strconv.Itoa(i) + `":"v"`)
	}
	b.WriteString(`}}}`)
	line := []byte(b.String())
	if _, ok := winFast(line, &winState{}); ok {
		t.Fatal("fast path read an object larger than it checks")
	}
	p, err := ParseWindows(line, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Fields) < 3*winMaxFastKeys {
		t.Fatalf("%d fields", len(p.Fields))
	}
}

func TestWindowsNames(t *testing.T) {
	seen := map[string]bool{}
	for i, n := range winNames {
		if n == "" || seen[n] {
			t.Fatalf("winNames[%d] = %q: empty or twice", i, n)
		}
		seen[n] = true
		if k := winDataKeys[n]; k.idx != i || k.field != "winlog.event_data."+n {
			t.Fatalf("winDataKeys[%q] = %+v", n, k)
		}
	}
	for _, n := range winCommonNames {
		if k := winDataKeys[n]; k.field != "winlog.event_data."+n {
			t.Fatalf("winDataKeys[%q] = %+v", n, k)
		}
	}
}

// FuzzParseWindows feeds arbitrary lines to the windows and sysmon parsers.
// They must never panic; a refusal says why; the fast reader, when it
// accepts a line, returns what the reference reader does; an accepted line
// builds a stored document that is JSON, with the fixed fields right.
func FuzzParseWindows(f *testing.F) {
	for _, s := range []string{
		`{"Event":{"System":{"Provider":{"Name":"Microsoft-Windows-Security-Auditing"},"EventID":4625,"Keywords":"0x8010000000000000","TimeCreated":{"SystemTime":"2024-03-01T11:00:00.1234567Z"},"EventRecordID":9,"Channel":"Security","Computer":"DC1","Security":{}},"EventData":{"TargetUserName":"administrator","IpAddress":"10.0.0.5","IpPort":"51234","LogonType":3,"ProcessId":"0x1a2c"}}}`,
		`{"Event":{"System":{"Provider":{"Name":"Microsoft-Windows-Sysmon"},"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"W"},"EventData":{"Image":"C:\\a\u00e9.exe","User":"D\\u","Hashes":"MD5=AA,SHA256=BB","ProcessId":1,"Data":["x",1,true,null]}}}`,
		`{"@timestamp":"2024-03-01T11:00:00Z","winlog":{"event_id":"4688","channel":"Security","event_data":{"NewProcessName":"C:\\x.exe","NewProcessId":"0x10"}},"winlog.event_data.CommandLine":"x","host":{"name":"h"}}`,
		`{"Event":{"System":{"EventID":{"#attributes":{"Qualifiers":0},"#text":7045},"Provider":{"#attributes":{"Name":"Service Control Manager"}}},"EventData":{"Data":[{"@Name":"ServiceName","#text":"s"}]},"UserData":{"X":{"xmlns":"u","A":"b"}}}}`,
		`{"Event":{"System":{"EventID":1,"EventID":2}}}`,
		`{"Event":{"System":{"EventID":1},"EventData":{"A":"1","A":null}}}`,
		`{"Event":{"System":{"EventID":1},"EventData":{"A":"\ud83d\ude00\ud800\u0000"}}}`,
		`{"Event":{"System":{"EventID":1e400,"Keywords":-0,"Level":1E+2}}}`,
		`{"winlog":{"event_id":1,"a":{"b":1}},"winlog.a.b":2,"winlog.a":{"b.c":3}}`,
		` {"Event" : {"System" : {"EventID" : 4624 } } } `,
		"\xef\xbb\xbf{\"Event\":{\"System\":{\"EventID\":1}}}",
		`{"Event":{"System":{"EventID":1,"TimeCreated":{"SystemTime":"2024-03-01 11:00:00"}}},"@timestamp":"bad","event":{}}`,
		`{"Event":{"System":{"EventID":1}}}]`,
		`{"Event":{"System":{"EventID":4294967296}}}`,
		`{}`,
		`{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Keywords":1e300,"Image":{"a":[1,{"b":null}]},"EventTime":12}`,
		`{"winlog":{"event_id":1,"` + strings.Repeat("k", 1400) + `":{"a":1,"b":null,"c":[1],"d":{"e":2}}}}`, // near the name budget
	} {
		f.Add([]byte(s))
	}
	if lines := winSample(f); lines != nil {
		for _, n := range []int{3, 284, 675, 2692, 12035} { // Sysmon 1 and 3, 1102 (UserData), MSSQL (Data list), 4625
			f.Add(lines[n-1])
		}
	}
	received := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	minTS, maxTS := time.Unix(0, 0), time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, line []byte) {
		p, info, err := parseWindows(line)
		fp, fastOK := winFastScribbled(t, line, &winState{})
		rp, rerr := parseWindowsRef(line, &winEvent{})
		if fastOK {
			if rerr != nil {
				t.Fatalf("%q: fast path accepted, reference refused: %v", line, rerr)
			}
			winCompare(t, line, fp, rp)
		}
		if (err == nil) != (rerr == nil) {
			t.Fatalf("%q: parse %v, reference %v", line, err, rerr)
		}
		_, serr := ParseSysmon(line, received)
		if err != nil {
			if err.Error() == "" || serr == nil || serr.Error() != err.Error() {
				t.Fatalf("%q: refused with %q; sysmon %v", line, err, serr)
			}
			return
		}
		if (serr == nil) != info.sysmon {
			t.Fatalf("%q: sysmon %v, Sysmon event %v", line, serr, info.sysmon)
		}
		if serr != nil && !strings.HasPrefix(serr.Error(), "not a Sysmon event") {
			t.Fatalf("%q: sysmon refused with %q", line, serr)
		}
		if ts := p.Timestamp; !ts.IsZero() && (ts.Before(minTS) || !ts.Before(maxTS) || ts.Location() != time.UTC) {
			t.Fatalf("accepted time %v outside 1970-2261 or not UTC", ts)
		}
		if !utf8.Valid(p.Original) || !json.Valid(p.Original) {
			t.Fatalf("original %q is not valid UTF-8 JSON", p.Original)
		}
		for _, k := range []string{"event.code", "winlog.event_id", "message"} {
			if _, ok := p.Fields[k]; !ok {
				t.Fatalf("%q: no %s", line, k)
			}
		}
		for k, v := range p.Fields {
			switch v := v.(type) {
			case string, float64, bool:
			case []any:
				for _, e := range v {
					switch e.(type) {
					case string, float64, bool:
					default:
						t.Fatalf("field %q: list holds a %T", k, e)
					}
				}
			default:
				t.Fatalf("field %q holds a %T", k, v)
			}
		}

		h := header{tenant: "acme", source: "windows", received: received}
		id := appliance.NewEventID(eventTime(p, h), 0x1234)
		var buf docBuilder
		ev, err := buildEvent(h, id, p, &buf)
		if err != nil {
			t.Fatalf("buildEvent of an accepted line: %v", err)
		}
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(ev.Doc, &doc); err != nil {
			t.Fatalf("document is not JSON: %v: %q", err, ev.Doc)
		}
		for k, want := range map[string]string{"tenant": "acme", "source": "windows", "id": id.String()} {
			var got string
			if err := json.Unmarshal(doc[k], &got); err != nil || got != want {
				t.Fatalf("%s = %s, want %q", k, doc[k], want)
			}
		}
		if !bytes.Equal(doc["original"], p.Original) {
			t.Fatalf("stored original %q, want %q", doc["original"], p.Original)
		}
	})
}

// TestPlainEnd checks the eight-bytes-at-a-time scan against a byte loop,
// with every byte value at every place of strings long enough for it.
func TestPlainEnd(t *testing.T) {
	slow := func(s string, j int) int {
		for ; j < len(s); j++ {
			if c := s[j]; c < 0x20 || c == '"' || c == '\\' {
				return j
			} else if c >= utf8.RuneSelf {
				r, size := utf8.DecodeRuneInString(s[j:])
				if r == utf8.RuneError && size == 1 {
					return -1
				}
				j += size - 1
			}
		}
		return j
	}
	for c := range 256 {
		for at := range 20 {
			for _, fill := range []string{"a", "~", "!", "é", "#"} {
				s := strings.Repeat(fill, 20)[:20]
				s = s[:at] + string(rune(0)) + s[at+1:]
				s = s[:at] + string([]byte{byte(c)}) + s[at+1:]
				for j := 0; j <= len(s) && j <= at; j++ {
					if got, want := plainEnd(s, j), slow(s, j); got != want {
						t.Fatalf("plainEnd(%q, %d) = %d, want %d", s, j, got, want)
					}
				}
			}
		}
	}
}
