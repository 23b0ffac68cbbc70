package ingest

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance"
)

// TestBuildEventShapes builds a run of events whose field names change
// (same count, other names; more; fewer; reserved names; a bad value) with
// one builder, as a batch does, and checks each against a fresh builder:
// the last event's shape must never leak into the next one's document.
func TestBuildEventShapes(t *testing.T) {
	recv := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	h := header{tenant: "acme", source: "syslog", received: recv}
	fields := []map[string]any{
		{"user.name": "root", "source.ip": "10.0.0.1", "message": "a"},
		{"user.name": "Alice", "source.ip": "10.0.0.2", "message": "b"},
		{"user.name": "bob", "host.name": "h1", "message": "c"}, // same count, one other name
		{"user.name": "bob", "host.name": "h1", "message": "c", "source.port": 22.0, "tags": []any{"x", "y"}},
		{"user.name": "bob"},
		{"user.name": "bob", "id": "forged", "tenant": "other"}, // reserved names are dropped
		{"id": "forged", "tenant": "other", "message": "d"},
		{"user.name": "bob", "bad": struct{}{}},
		{"user.name": "bob", "message": "\"<quoted>\"", "weird\"key": 1.5},
		{},
		{"user.name": "carol"},
	}
	shared := &docBuilder{}
	for i, f := range fields {
		p := Parsed{Fields: f, Original: []byte(`"line"`)}
		id := appliance.NewEventID(recv, uint64(i))
		got, gotErr := buildEvent(h, id, p, shared)
		want, wantErr := buildEvent(h, id, p, &docBuilder{})
		if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
			t.Fatalf("event %d: error %v, fresh builder %v", i, gotErr, wantErr)
		}
		if gotErr != nil {
			continue
		}
		if !bytes.Equal(got.Doc, want.Doc) || !reflect.DeepEqual(got.Terms, want.Terms) {
			t.Fatalf("event %d:\n got  %s %v\n want %s %v", i, got.Doc, got.Terms, want.Doc, want.Terms)
		}
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(got.Doc, &doc); err != nil {
			t.Fatalf("event %d: %s: %v", i, got.Doc, err)
		}
		for k := range f {
			if _, ok := doc[k]; !ok {
				t.Fatalf("event %d: field %q missing from %s", i, k, got.Doc)
			}
		}
		if extra := len(doc) - 6; extra != len(f)-reserved(f) { // id, tenant, source, @timestamp, received, original
			t.Fatalf("event %d: %d fields of %d in %s", i, extra, len(f)-reserved(f), got.Doc)
		}
	}
	// Documents and terms kept earlier are not overwritten by later events.
	first, _ := buildEvent(h, appliance.EventID{}, Parsed{Fields: fields[0], Original: []byte(`"x"`)}, shared)
	doc := string(first.Doc)
	terms := append([]appliance.Term(nil), first.Terms...)
	for range 100 {
		if _, err := buildEvent(h, appliance.EventID{}, Parsed{Fields: fields[3], Original: []byte(`"y"`)}, shared); err != nil {
			t.Fatal(err)
		}
	}
	if string(first.Doc) != doc || !reflect.DeepEqual(first.Terms, terms) {
		t.Fatalf("an earlier event changed: %s %v", first.Doc, first.Terms)
	}
}

func reserved(f map[string]any) int {
	n := 0
	for _, k := range []string{appliance.FieldID, appliance.FieldTenant, appliance.FieldSource, appliance.FieldReceived, appliance.FieldOriginal} {
		if _, ok := f[k]; ok {
			n++
		}
	}
	return n
}
