package ingest

// This file is an internal test so that the fuzz target can call buildEvent
// on exactly what ParseJSON returned.

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance"
)

// FuzzParseJSON feeds arbitrary lines to ParseJSON. It must never panic; a
// refusal must say why; an accepted line must build a stored document that
// is JSON with the fixed fields right and no key twice, whose index terms are
// already normalised (IndexValue of each is itself, so the planner, which
// normalises looked-up values, finds them).
func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{
		`{}`,
		`{"@timestamp":"2024-03-01T12:00:00.5Z","event":{"action":"ssh_login","outcome":"Failed"},"user.name":"Root","source":{"ip":"10.0.0.5","port":22},"tags":["a",1,true,null]}`,
		`{"@timestamp":1709294400123,"message":"q\"\\\n\u0000\ud800<>&","custom":{"x":[1,{"y":2}]}}`,
		`{"@timestamp":-1}`,
		`{"@timestamp":"yesterday"}`,
		`{"@timestamp":null}`,
		`{"id":"evil","tenant":"evil","source":"evil","event":{"id":"E"}}`,
		`{"event":{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":{"j":{"k":{"l":{"m":{"n":{"o":{"p":1}}}}}}}}}}}}}}}}}`,
		`{"a":1} {"b":2}`,
		`null`,
		`[1]`,
		`{"event":{"big":1e400,"neg":-0,"exp":1E+2}}`,
	} {
		f.Add([]byte(s))
	}
	received := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	minTS, maxTS := time.Unix(0, 0), time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, line []byte) {
		p, err := ParseJSON(line)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("refused with an empty reason")
			}
			return
		}
		if ts := p.Timestamp; !ts.IsZero() && (ts.Before(minTS) || !ts.Before(maxTS) || ts.Location() != time.UTC) {
			t.Fatalf("accepted @timestamp %v outside 1970-2261 or not UTC", ts)
		}
		for k, v := range p.Fields {
			checkStoredValue(t, k, v, true)
		}

		h := header{tenant: "acme", source: "json", received: received}
		id := appliance.NewEventID(eventTime(p, h), 0x1234)
		var buf docBuilder
		ev, err := buildEvent(h, id, p, &buf)
		if err != nil {
			t.Fatalf("buildEvent of an accepted line: %v", err)
		}
		if !json.Valid(ev.Doc) {
			t.Fatalf("document is not JSON: %q", ev.Doc)
		}
		dec := json.NewDecoder(bytes.NewReader(ev.Doc))
		dec.Token() // {
		doc := map[string]json.RawMessage{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				t.Fatalf("document %q: %v", ev.Doc, err)
			}
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("document %q: %v", ev.Doc, err)
			}
			if _, dup := doc[k.(string)]; dup {
				t.Fatalf("key %q twice in %q", k, ev.Doc)
			}
			doc[k.(string)] = v
		}
		for k, want := range map[string]string{
			"id": id.String(), "tenant": "acme", "source": "json",
			"@timestamp": eventTime(p, h).Format(time.RFC3339Nano), "received": received.Format(time.RFC3339Nano),
		} {
			var got string
			if err := json.Unmarshal(doc[k], &got); err != nil || got != want {
				t.Fatalf("%s = %s, want %q (%v)", k, doc[k], want, err)
			}
		}
		if _, ok := doc["original"]; !ok {
			t.Fatalf("no original in %q", ev.Doc)
		}
		if ev.ID != id || !ev.Timestamp.Equal(eventTime(p, h)) {
			t.Fatalf("event id %s time %v", ev.ID, ev.Timestamp)
		}
		if len(ev.Terms) == 0 || ev.Terms[0] != (appliance.Term{Field: "source", Value: "json"}) {
			t.Fatalf("terms %q do not start with the source", ev.Terms)
		}
		for _, term := range ev.Terms {
			if !appliance.IsIndexed(term.Field) {
				t.Fatalf("term on unindexed field %q", term.Field)
			}
			if again := appliance.IndexValue(term.Value); again != term.Value {
				t.Fatalf("term %s value %q is not normalised: IndexValue gives %q", term.Field, term.Value, again)
			}
		}
	})
}

// checkStoredValue fails unless v is a value the document writer supports.
func checkStoredValue(t *testing.T, k string, v any, listOK bool) {
	switch v := v.(type) {
	case string, float64, bool:
	case []any:
		if !listOK {
			t.Fatalf("field %q: nested list", k)
		}
		for _, e := range v {
			checkStoredValue(t, k, e, false)
		}
	default:
		t.Fatalf("field %q has a value of type %T", k, v)
	}
}

// FuzzParseJSONFast checks ParseJSON's single pass against its tree reader:
// a line the pass takes must be one the tree reader takes, with the same
// fields, time and original. Objects with a key twice are left out: there
// the tree keeps the last, and which of two dotted keys that extend one
// another wins depends on map order.
func FuzzParseJSONFast(f *testing.F) {
	for _, s := range []string{
		`{}`, ` {"message":"x"} `,
		`{"@timestamp":"2024-03-01T12:00:00.5Z","event":{"action":"ssh_login","outcome":"Failed"},"user.name":"Root","source":{"ip":"10.0.0.5","port":22},"tags":["a",1,true,null]}`,
		`{"@timestamp":1709294400123,"message":"q\"\\\n\u0000\ud800<>&","custom":{"x":[1,{"y":2}]}}`,
		`{"@timestamp":1.5}`, `{"@timestamp":true}`, `{"@timestamp":{}}`, `{"@timestamp":"1e400"}`, `{"@timestamp":1e400}`,
		`{"user":{"name":"a"},"user":{"id":"b"}}`, `{"user":{"name":"a","name":"b"}}`,
		`{"user":{"name":"a"},"user.name":"b","user":{"x.y":1,"x":{"y":2}}}`,
		`{"labels":{"a":[1,[2],{"b":3},"c",null,-0]},"tags":[],"event":{"x":[{"y":1}]}}`,
		`{"event":{"big":1e400,"neg":-0,"exp":1E+2,"n":12345678901234567890}}`,
		`{"id":"evil","tenant":"evil","source":"evil","event":{"id":"E"},"other":{"deep":{"x":1}}}`,
		`{"event":{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":{"j":{"k":{"l":{"m":{"n":{"o":{"p":1}}}}}}}}}}}}}}}}}`,
		"{\"us\\u0065r\":{\"n\\u0061me\":\"\\u00e9\"},\"host\":{\"name\":\"\xff\"}}",
		`{"a":1} {"b":2}`, `null`, `[1]`, `{"message":`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		fast, ok := parseJSONFast(line)
		if !ok {
			return
		}
		tree, err := parseJSONTree(line)
		if err != nil {
			t.Fatalf("single pass took a line the tree reader refuses: %v", err)
		}
		if !sensorTreeDeterministic(bytes.TrimSpace(line)) {
			return
		}
		if !reflect.DeepEqual(fast.Fields, tree.Fields) || !fast.Timestamp.Equal(tree.Timestamp) || !bytes.Equal(fast.Original, tree.Original) {
			t.Fatalf("single pass\n %v %#v %q\ntree\n %v %#v %q", fast.Timestamp, fast.Fields, fast.Original, tree.Timestamp, tree.Fields, tree.Original)
		}
	})
}
