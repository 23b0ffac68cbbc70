package query_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sync"
	"testing"

	"github.com/minixdr/xdr/appliance/query"
)

// sshEvent is a stored event as the ingest path writes it: flat normalised
// keys, the original nested, and HTML characters escaped as encoding/json
// does.
const sshEvent = `{"id":"x","source":"json","@timestamp":"2024-03-01T12:00:00.123Z",` +
	`"source.ip":"10.0.0.5","source.port":22,"event.outcome":"failure","event.code":"4625",` +
	`"user.name":"Root","host.name":"Jürgen-PC","message":"Failed password for root",` +
	`"process.command_line":"cmd.exe /c \"whoami\" \u003cx\u003e C:\\Windows","flag":true,"nothing":null,` +
	`"big":9007199254740993,"ratio":0.25,` +
	`"original":{"Event":{"System":{"EventID":4625}},"id.orig_h":"1.2.3.4","tags":["a","b"],` +
	`"procs":[{"name":"sshd"},{"name":"bash","args":[["-c"],["id"]]}],"empty":[]}}`

func decode(t testing.TB, raw string, useNumber bool) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	if useNumber {
		dec.UseNumber()
	}
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

var matchTests = []struct {
	query string
	want  bool
}{
	// equality, case-insensitive
	{"source.ip:10.0.0.5", true},
	{"source.ip:10.0.0.6", false},
	{"user.name:root", true},
	{"user.name:ROOT", true},
	{`user.name:"root"`, true},
	{"host.name:JÜRGEN-pc", true},
	{"source:json", true},
	{"id:x", true},
	// numbers: by value and by text, numeric strings too
	{"source.port:22", true},
	{"source.port:22.0", true},
	{"source.port:2.2e1", true},
	{`source.port:"22"`, true},
	{"source.port:23", false},
	{"event.code:4625", true},
	{"event.code:4625.0", false}, // a string value compares as text
	{"ratio:0.25", true},
	{"ratio:.25", true},
	{"original.Event.System.EventID:4625", true},
	{"original.Event.System.EventID:4624", false},
	// booleans
	{"flag:true", true},
	{"flag:TRUE", true},
	{"flag:false", false},
	// prefix and exists
	{"user.name:ro*", true},
	{"user.name:RO*", true},
	{"user.name:x*", false},
	{"host.name:jür*", true},
	{"source.port:2*", true},
	{"source.port:3*", false},
	{"flag:tr*", true},
	{"user.name:*", true},
	{"host.name:*", true},
	{"missing:*", false},
	{"nothing:*", false}, // null is absent
	{"original.empty:*", false},
	{"original.Event:*", true}, // an object exists
	{"original.Event:x", false},
	{"original:*", true},
	{`user.name:"R*"`, false}, // quoted: no wildcard
	{"user.name:R*t", false},  // inner '*' is literal
	// comparisons
	{"source.port>21", true},
	{"source.port>22", false},
	{"source.port>=22", true},
	{"source.port<23", true},
	{"source.port<=21", false},
	{"source.port>100", false}, // numeric, not "22" > "100"
	{"source.port>-5", true},
	{"event.code>1000", true}, // numeric string
	{"original.Event.System.EventID>=4625", true},
	{"@timestamp>=2024-01-01T00:00:00Z", true},
	{"@timestamp<2024-01-01T00:00:00Z", false},
	{"@timestamp>2024-03-01T12:00:00Z", true}, // the stored value has milliseconds
	{"@timestamp>2024-03-01T13:00:00+02:00", true},
	{"@timestamp<2024-03-02", true},
	{"@timestamp>2024-03-02", false},
	{"@timestamp:2024-03-01T12:00:00.123Z", true},
	{`@timestamp:"2024-03-01T14:00:00.123+02:00"`, true},
	{"user.name>Ab", true}, // strings: byte order, case-sensitive
	{"user.name>a", false},
	{"user.name<=Root", true},
	{"missing>0", false},
	// original.* paths: dotted keys, arrays, nested arrays
	{"original.id.orig_h:1.2.3.4", true},
	{"original.tags:b", true},
	{"original.tags:c", false},
	{"original.procs.name:bash", true},
	{"original.procs.name:zsh", false},
	{"original.procs.args:id", true},
	{"original.Event.System.EventID.deeper:*", false},
	{"source.ip.x:*", false},
	// bare words and phrases against the raw text
	{"failed", true},
	{"FAILED", true},
	{`"failed password"`, true},
	{`"password root"`, false},
	{"jürgen", true},
	{"JÜRGEN", true},
	{"or", true}, // lowercase: a word, found in "for"
	{"zebra", false},
	{"source", true}, // key names are text too
	{`"\"whoami\""`, true},
	{"<x>", true},
	{`"C:\Windows"`, true},
	{`""`, true},
	// boolean structure
	{"failed user.name:root", true},
	{"failed AND user.name:admin", false},
	{"failed OR user.name:admin", true},
	{"user.name:admin OR source.port:23", false},
	{"NOT user.name:admin", true},
	{"NOT user.name:root", false},
	{"-user.name:root", false},
	{"failed -user.name:root", false},
	{"NOT missing:x", true},
	{"missing:x", false},
	{"NOT NOT failed", true},
	{"(user.name:admin OR user.name:root) event.outcome:failure", true},
	{"user.name:admin OR user.name:root event.outcome:success", false},
	{"-(user.name:admin OR source.port>1024)", true},
}

func TestMatch(t *testing.T) {
	for _, useNumber := range []bool{false, true} {
		f := query.DocFields(decode(t, sshEvent, useNumber), []byte(sshEvent))
		for _, tc := range matchTests {
			e, err := query.Parse(tc.query)
			if err != nil {
				t.Errorf("Parse(%q): %v", tc.query, err)
				continue
			}
			if got := query.Match(e, f); got != tc.want {
				t.Errorf("Match(%q) = %v, want %v (json.Number: %v)", tc.query, got, tc.want, useNumber)
			}
		}
	}
}

func TestMatchBigIntegers(t *testing.T) {
	// Only json.Number keeps integers above 2^53 exact; float64 rounds the
	// stored value to ...992, and equality follows what was decoded.
	precise := query.DocFields(decode(t, sshEvent, true), nil)
	rounded := query.DocFields(decode(t, sshEvent, false), nil)
	for _, tc := range []struct {
		f     query.Fields
		query string
		want  bool
	}{
		{precise, "big:9007199254740993", true},
		{precise, "big:9007199254740992", false},
		{precise, "big>9007199254740992", true},
		{rounded, "big:9007199254740992", true},
		{rounded, "big:9007199254740993", false},
	} {
		e, _ := query.Parse(tc.query)
		if got := query.Match(e, tc.f); got != tc.want {
			t.Errorf("Match(%q) = %v, want %v", tc.query, got, tc.want)
		}
	}
}

func TestMatchDottedKeysBothWays(t *testing.T) {
	// A zeek record may hold both a dotted key and a nested object; a path
	// finds values through either.
	doc := decode(t, `{"original":{"id.orig_h":"1.1.1.1","id":{"orig_h":"2.2.2.2"}}}`, false)
	f := query.DocFields(doc, nil)
	got := f.Lookup("original.id.orig_h")
	if want := []any{"1.1.1.1", "2.2.2.2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Lookup = %v, want %v", got, want)
	}
	for _, q := range []string{"original.id.orig_h:1.1.1.1", "original.id.orig_h:2.2.2.2"} {
		e, _ := query.Parse(q)
		if !query.Match(e, f) {
			t.Errorf("Match(%q) = false", q)
		}
	}
}

func TestDocFieldsLookup(t *testing.T) {
	f := query.DocFields(decode(t, sshEvent, false), nil)
	for _, tc := range []struct {
		field string
		want  []any
	}{
		{"source.ip", []any{"10.0.0.5"}},
		{"source.port", []any{22.0}},
		{"original.tags", []any{"a", "b"}},
		{"original.procs.args", []any{"-c", "id"}},
		{"original.Event.System.EventID", []any{4625.0}},
		{"nothing", nil},
		{"missing", nil},
		{"original.empty", nil},
	} {
		if got := f.Lookup(tc.field); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Lookup(%q) = %#v, want %#v", tc.field, got, tc.want)
		}
	}
}

func TestDocFieldsTextWithoutRaw(t *testing.T) {
	// Without raw bytes the document is marshalled, so words still work.
	f := query.DocFields(map[string]any{"message": "Failed password <for> root"}, nil)
	for _, q := range []string{"failed", `"<for>"`} {
		e, _ := query.Parse(q)
		if !query.Match(e, f) {
			t.Errorf("Match(%q) = false", q)
		}
	}
}

// mapFields is a Fields that is not DocFields, to exercise the generic path.
type mapFields struct {
	values map[string][]any
	text   string
}

func (m mapFields) Lookup(field string) []any { return m.values[field] }
func (m mapFields) Text() []byte              { return []byte(m.text) }

func TestMatchOtherFields(t *testing.T) {
	f := mapFields{
		values: map[string][]any{
			"severity": {"high"},
			"attack":   {[]any{"T1110", "T1078"}}, // nested arrays are flattened
			"count":    {int64(7), nil},
			"ports":    {[]string{"22", "80"}},
		},
		text: `{"rule_title":"SSH Brute Force"}`,
	}
	for _, tc := range []struct {
		query string
		want  bool
	}{
		{"severity:HIGH", true},
		{"attack:t1078", true},
		{"attack:T15*", false},
		{"count:7 count>6.5", true},
		{"ports:80", true},
		{`"brute force"`, true},
		{"brute AND ssh AND NOT phish", true},
	} {
		e, err := query.Parse(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		if got := query.Match(e, f); got != tc.want {
			t.Errorf("Match(%q) = %v, want %v", tc.query, got, tc.want)
		}
	}
}

func TestMatchNilAndHandBuilt(t *testing.T) {
	f := query.DocFields(nil, nil)
	if !query.Match(nil, f) || !query.Match(nil, nil) {
		t.Error("a nil Expr must match everything")
	}
	e, _ := query.Parse("x:*")
	if query.Match(e, nil) {
		t.Error("nil Fields has no fields")
	}
	if query.Match(&query.Or{}, f) || !query.Match(&query.And{}, f) {
		t.Error("empty Or matches nothing, empty And everything")
	}
	if query.Match(&query.Term{Field: "x", Op: query.Op(99)}, query.DocFields(map[string]any{"x": "y"}, nil)) {
		t.Error("an unknown Op must not match")
	}
	// Hand-built trees with nil children must not panic.
	_ = query.Match(&query.And{Terms: []query.Expr{nil, (*query.Word)(nil)}}, f)
	_ = (&query.Not{}).String()
}

func TestMatchConcurrent(t *testing.T) {
	f := query.DocFields(decode(t, sshEvent, false), []byte(sshEvent))
	e, _ := query.Parse("failed user.name:root")
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				if !query.Match(e, f) {
					t.Error("no match")
					return
				}
			}
		}()
	}
	wg.Wait()
}
