package sigma

import (
	"testing"
)

// FuzzParseRules: any input parses to rules or an error, never a panic,
// and every parsed detection rule compiles or fails with an error.
func FuzzParseRules(f *testing.F) {
	f.Add([]byte(corrBase))
	f.Add([]byte("title: t\nlogsource: {product: windows, category: process_creation}\ndetection:\n  s: {Image|endswith: '\\x.exe', CommandLine|contains|windash: ' -a '}\n  condition: s\n"))
	f.Add([]byte("title: c\ncorrelation:\n  type: temporal_ordered\n  rules: [a, b]\n  group-by: [x]\n  timespan: 1h\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, _ := ParseRules(data)
		rs, _ := Compile(rules)
		ev, err := NewEvent([]byte(`{"source":"json","user.name":"a","message":"b","original":{"x":1}}`))
		if err != nil {
			t.Fatal(err)
		}
		rs.Match(ev, nil)
	})
}

// FuzzParseCondition: the condition parser never panics, and what it
// accepts it accepts again when printed back.
func FuzzParseCondition(f *testing.F) {
	for _, s := range []string{"a", "a and not (b or c)", "1 of sel_* and all of them", "not not a or b", "2 of x?"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := parseCondition(s)
		if err != nil {
			return
		}
		if _, err := parseCondition(e.String()); err != nil {
			t.Fatalf("%q parsed, its rendering %q does not: %v", s, e.String(), err)
		}
	})
}

// FuzzNewEvent: any document is read or refused, never a panic, and
// MatchDocument agrees with NewEvent and Match.
func FuzzNewEvent(f *testing.F) {
	f.Add([]byte(`{"id":"1","source":"windows","winlog.channel":"Security","winlog.event_id":4688,"original":{"Event":{"System":{"Level":4}}}}`))
	f.Add([]byte(`{"a":"\u00e9\ud83d\ude00","b":[1,"x",{"c":null}],"original":"line"}`))
	rules, err := ParseRules([]byte("title: t\nlogsource: {product: json}\ndetection:\n  s: {a|contains: x}\n  k: [y]\n  condition: s or k\n"))
	if err != nil {
		f.Fatal(err)
	}
	rs, _ := Compile(rules)
	f.Fuzz(func(t *testing.T, doc []byte) {
		// MatchDocument reads as NewEvent does, and matches as Match;
		// the event it hands over owns its strings.
		buf := append([]byte(nil), doc...)
		got1, got, docErr := rs.MatchDocument(buf, nil)
		clear(buf)
		ev, err := NewEvent(doc)
		if (err == nil) != (docErr == nil) {
			t.Fatalf("NewEvent: %v, MatchDocument: %v", err, docErr)
		}
		if err != nil {
			return
		}
		if want := rs.Match(ev, nil); len(got) != len(want) {
			t.Fatalf("MatchDocument matched %d rules, Match %d", len(got), len(want))
		}
		if got1 != nil {
			if err := sameEvent(got1, ev); err != nil {
				t.Fatal(err)
			}
		}
		ev.Field("original.Event.System.Level")
		ev.Field("a")
	})
}
