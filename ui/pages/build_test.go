package pages_test

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/minixdr/xdr/ui/pages"
)

func TestEventRowFromDoc(t *testing.T) {
	long := strings.Repeat("a", 200)
	longUnicode := strings.Repeat("é🔥", 100) // 200 runes, many more bytes
	tests := []struct {
		name    string
		doc     string
		want    pages.EventRow
		wantErr bool
	}{
		{
			name: "all fields",
			doc: `{"id":"0123abcd","source":"sshd","@timestamp":"2024-05-01T14:03:04.5+02:00",
				"event.action":"ssh_login","event.outcome":"failure","source.ip":"203.0.113.9",
				"user.name":"root","host.name":"web-1","message":"Failed password","original":"raw line"}`,
			want: pages.EventRow{ID: "0123abcd", Time: "2024-05-01 12:03:04.500 UTC", Source: "sshd",
				Action: "ssh_login", Outcome: "failure", SourceIP: "203.0.113.9", User: "root",
				Host: "web-1", Message: "Failed password", DetailURL: "/events/0123abcd"},
		},
		{name: "missing fields", doc: `{}`, want: pages.EventRow{}},
		{name: "null fields", doc: `{"id":null,"message":null}`, want: pages.EventRow{}},
		{
			name: "non-string values as compact JSON",
			doc:  `{"id":"x","source.ip":[ "10.0.0.1", "10.0.0.2" ],"user.name":42}`,
			want: pages.EventRow{ID: "x", SourceIP: `["10.0.0.1","10.0.0.2"]`, User: "42", DetailURL: "/events/x"},
		},
		{
			name: "time that is not RFC 3339 is kept",
			doc:  `{"@timestamp":"yesterday"}`,
			want: pages.EventRow{Time: "yesterday"},
		},
		{
			name: "id is path-escaped",
			doc:  `{"id":"a/b?c"}`,
			want: pages.EventRow{ID: "a/b?c", DetailURL: "/events/a%2Fb%3Fc"},
		},
		{
			name: "message of 160 runes is kept",
			doc:  `{"message":"` + long[:160] + `"}`,
			want: pages.EventRow{Message: long[:160]},
		},
		{
			name: "long message truncated",
			doc:  `{"message":"` + long + `"}`,
			want: pages.EventRow{Message: long[:159] + "…"},
		},
		{
			name: "unicode truncated by runes",
			doc:  `{"message":"` + longUnicode + `"}`,
			want: pages.EventRow{Message: string([]rune(longUnicode)[:159]) + "…"},
		},
		{
			name: "hostile text kept verbatim (escaping is the template's job)",
			doc:  `{"message":"<script>alert(1)</script>"}`,
			want: pages.EventRow{Message: "<script>alert(1)</script>"},
		},
		{name: "malformed", doc: `{"id":`, wantErr: true},
		{name: "not an object", doc: `["a"]`, wantErr: true},
		{name: "null", doc: `null`, wantErr: true},
		{name: "empty", doc: ``, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pages.EventRowFromDoc([]byte(tt.doc))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
			if n := utf8.RuneCountInString(got.Message); n > pages.MaxMessageRunes {
				t.Fatalf("message has %d runes", n)
			}
		})
	}
}

func TestEventDetailFromDoc(t *testing.T) {
	chrome := pages.Chrome{User: "alice", Tenant: "acme", CSRF: "tok", Current: "events"}
	tests := []struct {
		name         string
		doc          string
		wantID       string
		wantFields   []pages.Field
		wantOriginal string
		wantErr      bool
	}{
		{
			name: "ordering, compact values, object original",
			doc: `{"zeta":"z","message":"hi","tenant":"acme","source":"suricata","received":"r",
				"@timestamp":"t","id":"e1","alert.ids":[1, 2],"source.port":443,"ok":true,"nested":{"a": 1},
				"original":{"b":[1,2],"a":"<x>"}}`,
			wantID: "e1",
			wantFields: []pages.Field{
				{"id", "e1"}, {"@timestamp", "t"}, {"received", "r"}, {"source", "suricata"}, {"tenant", "acme"},
				{"alert.ids", "[1,2]"}, {"message", "hi"}, {"nested", `{"a":1}`}, {"ok", "true"},
				{"source.port", "443"}, {"zeta", "z"},
			},
			wantOriginal: "{\n  \"b\": [\n    1,\n    2\n  ],\n  \"a\": \"<x>\"\n}",
		},
		{
			name:         "string original shown as itself",
			doc:          `{"id":"e2","original":"<13>Jan  1 sshd[1]: \"quoted\" ünïcode"}`,
			wantID:       "e2",
			wantFields:   []pages.Field{{"id", "e2"}},
			wantOriginal: `<13>Jan  1 sshd[1]: "quoted" ünïcode`,
		},
		{
			name:       "missing fields and original",
			doc:        `{"message":"m"}`,
			wantFields: []pages.Field{{"message", "m"}},
		},
		{
			name:       "null original",
			doc:        `{"original":null}`,
			wantFields: []pages.Field{},
		},
		{name: "malformed", doc: `{"id":"e1",}`, wantErr: true},
		{name: "not an object", doc: `"text"`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pages.EventDetailFromDoc(chrome, []byte(tt.doc), "/events?q=x")
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != tt.wantID {
				t.Errorf("ID = %q, want %q", got.ID, tt.wantID)
			}
			if !reflect.DeepEqual(got.Fields, tt.wantFields) {
				t.Errorf("Fields\n got  %q\n want %q", got.Fields, tt.wantFields)
			}
			if got.Original != tt.wantOriginal {
				t.Errorf("Original\n got  %q\n want %q", got.Original, tt.wantOriginal)
			}
			if got.Chrome != chrome || got.BackURL != "/events?q=x" {
				t.Errorf("Chrome/BackURL not passed through: %+v %q", got.Chrome, got.BackURL)
			}
		})
	}
}
