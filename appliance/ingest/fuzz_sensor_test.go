package ingest

// Fuzz targets of the JSON sensor parsers. The committed seed corpora are in
// testdata/fuzz/FuzzParse{Cowrie,Suricata,Zeek,Osquery}; lines of the real
// samples are added as seeds when the shared folder is present.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/minixdr/xdr/appliance"
)

func FuzzParseCowrie(f *testing.F) {
	sensorFuzz(f, "cowrie", cowrieSample, "eventid", ParseCowrie)
}

func FuzzParseSuricata(f *testing.F) {
	sensorFuzz(f, "suricata", suricataSample, "event_type", ParseSuricata)
}

func FuzzParseZeek(f *testing.F) {
	sensorFuzz(f, "zeek", zeekSample, "_path", ParseZeek)
}

func FuzzParseOsquery(f *testing.F) {
	sensorFuzz(f, "osquery", osquerySample, "action", ParseOsquery)
}

// sensorFuzz adds a real line of each kind (by the value of kindKey) as a
// seed, then checks on every input: no panic; a refusal has a reason; an
// accepted line passes sensorCheck (Original is the trimmed line and valid
// JSON, fields storable, time in range, the document JSON with no key
// twice) and its index terms are normalised.
func sensorFuzz(f *testing.F, source, sample, kindKey string, parse Parser) {
	for _, l := range sensorSeedLines(sample, kindKey) {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		p, err := parse(line, sensorReceived)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("refused with an empty reason")
			}
			return
		}
		if p.Fields == nil {
			t.Fatal("accepted with nil Fields")
		}
		sensorCheck(t, source, line, p)
		h := header{tenant: "acme", source: source, received: sensorReceived}
		var buf docBuilder
		ev, err := buildEvent(h, appliance.NewEventID(eventTime(p, h), 7), p, &buf)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(ev.Doc, &doc); err != nil {
			t.Fatalf("document %q: %v", ev.Doc, err)
		}
		if !bytes.Equal(doc["original"], p.Original) {
			t.Fatalf("stored original %q, want %q", doc["original"], p.Original)
		}
		for _, term := range ev.Terms {
			if !appliance.IsIndexed(term.Field) {
				t.Fatalf("term on unindexed field %q", term.Field)
			}
			if again := appliance.IndexValue(term.Value); again != term.Value {
				t.Fatalf("term %s value %q is not normalised", term.Field, term.Value)
			}
		}
	})
}

// sensorSeedLines is the first line of each kind in a real sample, nil when
// the shared folder is absent (the committed corpus still runs).
func sensorSeedLines(rel, kindKey string) [][]byte {
	data, err := os.ReadFile(filepath.Join(sensorSampleDir, rel))
	if err != nil {
		return nil
	}
	var out [][]byte
	seen := map[string]bool{}
	for _, l := range bytes.Split(data, []byte("\n")) {
		var obj map[string]any
		if json.Unmarshal(l, &obj) != nil {
			continue
		}
		kind, _ := obj[kindKey].(string)
		if !seen[kind] {
			seen[kind] = true
			out = append(out, bytes.Clone(l))
		}
	}
	return out
}

// FuzzSensorFlatten checks the fast path of the sensor parsers against the
// tree: beginSensor accepts exactly the lines decodeObject accepts, and
// sensorFlatten gives what sensorTreeFlatten gives over decodeObject's
// result, error or not. Lines where the tree walk itself depends on map
// order (a key twice in an object, or a dotted key extending another dotted
// key of the same object) are only checked for acceptance.
func FuzzSensorFlatten(f *testing.F) {
	for _, s := range [...]struct{ rel, kind string }{
		{cowrieSample, "eventid"}, {suricataSample, "event_type"}, {zeekSample, "_path"}, {osquerySample, "action"},
	} {
		for _, l := range sensorSeedLines(s.rel, s.kind) {
			f.Add(l)
		}
	}
	for _, s := range []string{
		`{}`, `{"a":[]}`, `{"a":[null]}`, `{"a":[1,[2,[3,{"b":4}]],{"b":[5,{"c":6}]},"x"]}`,
		`{"a":{"b":1},"a.b":2,"c.d":{"e":[{"f":1},{"f":null},{"f":[2]}]}}`,
		`{"a":[{"b":{"c.d":1,"c":{"d":2}}},{"b.c":{"d":3}}]}`,
		"{\"k\\u002e1\":1,\"\\u00e9\":\"\\ud800\",\"\xff\":\"\xfe\"}",
		`{"n":[-0,0.0,-0.0,1e400,-1e400,1e-400,123456789012345,1234567890123456,-5,1023,1024,1.5e3]}`,
		`{"t":true,"f":false,"z":null,"s":"","e":{}}`, ` {"a":1} `, "\u00a0{}", "{}\u0085", "\t\r\n{}\n", `{"a":1}x`, `[{"a":1}]`, `null`, `"x"`, `{"a":`,
		`{"a":` + strings.Repeat(`[`, 17) + strings.Repeat(`]`, 17) + `}`,
		`{"a":` + strings.Repeat(`{"b":`, 16) + `1` + strings.Repeat(`}`, 16) + `}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		obj, refErr := decodeObject(line)
		b, p, err := beginSensor(line, 0)
		if (err == nil) != (refErr == nil) {
			t.Fatalf("beginSensor error %v, decodeObject error %v", err, refErr)
		}
		if err != nil {
			if err.Error() != refErr.Error() {
				t.Fatalf("beginSensor error %q, decodeObject error %q", err, refErr)
			}
			return
		}
		if !bytes.Equal(b, bytes.TrimSpace(line)) || !json.Valid(p.Original) {
			t.Fatalf("trimmed %q original %q", b, p.Original)
		}
		if !sensorTreeDeterministic(b) {
			return
		}
		want := map[string]any{}
		wantErr := sensorTreeFlatten(want, "p", obj, 0, false)
		got := map[string]any{}
		gotErr := sensorFlatten(b, "p", got, nil, nil)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("sensorFlatten error %v, tree error %v", gotErr, wantErr)
		}
		if gotErr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("sensorFlatten\n got %#v\nwant %#v", got, want)
		}
	})
}

// sensorTreeDeterministic reports whether no object of the JSON b has a
// key twice, or two dotted keys one of which extends the other.
func sensorTreeDeterministic(b []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	var walk func() bool
	walk = func() bool {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch tok {
		case json.Delim('{'):
			var keys []string
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return false
				}
				key := k.(string)
				for _, o := range keys {
					if o == key || strings.Contains(o, ".") && strings.Contains(key, ".") &&
						(strings.HasPrefix(key, o+".") || strings.HasPrefix(o, key+".")) {
						return false
					}
				}
				keys = append(keys, key)
				if !walk() {
					return false
				}
			}
			_, err := dec.Token()
			return err == nil
		case json.Delim('['):
			for dec.More() {
				if !walk() {
					return false
				}
			}
			_, err := dec.Token()
			return err == nil
		}
		return true
	}
	return walk()
}

// sensorTreeFlatten is the reference for sensorFlatten: it walks the tree
// that decodeObject returns. It stores v under key as flat dotted names, like flatten, but
// keeps what flatten drops: an array of objects becomes one list per key
// inside the objects (as a search engine flattens object arrays), so
// {"answers":[{"rdata":"a"},{"rdata":"b"}]} gives answers.rdata ["a","b"].
// Nested arrays are flattened into their parent's list. inList says that v
// is inside an array, so its values are appended to lists.
func sensorTreeFlatten(out map[string]any, key string, v any, depth int, inList bool) error {
	if depth > maxDepth {
		return fmt.Errorf("field %q nests deeper than %d levels", truncate(key, 128), maxDepth)
	}
	switch v := v.(type) {
	case map[string]any:
		// Plain keys first, dotted keys second, so a dotted key wins over
		// the nested one naming the same field, as in ParseJSON.
		for _, dotted := range [2]bool{false, true} {
			for k, sub := range v {
				if strings.Contains(k, ".") != dotted {
					continue
				}
				if err := sensorTreeFlatten(out, key+"."+k, sub, depth+1, inList); err != nil {
					return err
				}
			}
		}
	case []any:
		if !inList {
			vals := make([]any, 0, len(v))
			onlyScalars := true
			for _, e := range v {
				switch e.(type) {
				case map[string]any, []any:
					onlyScalars = false
				default:
					if s, ok := sensorTreeScalar(e); ok {
						vals = append(vals, s)
					}
				}
			}
			if onlyScalars || len(vals) > 0 {
				out[key] = vals
			}
			if onlyScalars {
				return nil
			}
			for _, e := range v {
				switch e.(type) {
				case map[string]any, []any:
					if err := sensorTreeFlatten(out, key, e, depth+1, true); err != nil {
						return err
					}
				}
			}
			return nil
		}
		for _, e := range v {
			if err := sensorTreeFlatten(out, key, e, depth+1, true); err != nil {
				return err
			}
		}
	default:
		s, ok := sensorTreeScalar(v)
		if !ok {
			return nil
		}
		if !inList {
			out[key] = s
			return nil
		}
		switch cur := out[key].(type) {
		case nil:
			out[key] = []any{s}
		case []any:
			out[key] = append(cur, s)
		default:
			out[key] = []any{cur, s}
		}
	}
	return nil
}

// sensorTreeScalar is scalar without a new interface value for a string, bool
// or float64 (the common case of a line decoded by json.Unmarshal).
func sensorTreeScalar(v any) (any, bool) {
	switch x := v.(type) {
	case string, bool:
		return v, true
	case float64:
		if x == 0 {
			return float64(0), true // -0 is stored as 0
		}
		return v, true
	}
	return scalar(v)
}
