package sigma

import (
	"strings"
	"testing"
)

// TestNewEvent: what a stored document reads as, and the refusals that
// name what is wrong and where. The original is only skipped over (by its
// brackets and strings) and read when a field of it is asked for, so a
// malformed original inside a well-formed document gives the fields read
// before the fault.
func TestNewEvent(t *testing.T) {
	tests := []struct {
		name, doc string
		fields    map[string]string // want Field(k) == v; "-" for absent
		err       string            // want an error containing it
	}{
		{"flat and escaped", `{"id":"1","source":"windows","winlog.event_data.Image":"C:\\Windows\\cmd.exe","n":42,"b":true,"z":null}`,
			map[string]string{"winlog.event_data.Image": `C:\Windows\cmd.exe`, "n": "42", "b": "true", "z": "-", "missing": "-"}, ""},
		{"nested outside the original", `{"a":{"b":{"c":"d"}},"l":["x",1,["y"]]}`, map[string]string{"a.b.c": "d", "l": "x,1,y"}, ""},
		{"original read on demand", `{"source":"json","original":{"Event":{"System":{"Level":4}},"s":"a\"}b"}}`,
			map[string]string{"original.Event.System.Level": "4", "original.s": `a"}b`}, ""},
		{"text original is a field", `{"original":"<38>sshd: x"}`, map[string]string{"original": "<38>sshd: x"}, ""},
		{"malformed original keeps what it read", `{"a":"x","original":{"k":1,"m":}}`, map[string]string{"a": "x", "original.k": "1", "original.m": "-"}, ""},
		{"unbalanced original", `{"a":"x","original":{"k":[1}}`, nil, "unbalanced"},
		{"unterminated original", `{"a":"x","original":{"k":"v`, nil, "unterminated"},
		{"not an object", `["a"]`, nil, "want a JSON object at offset 0"},
		{"trailing data", `{"a":1} x`, nil, "unexpected data after the object at offset 8"},
		{"bad escape", `{"a":"\q"}`, nil, `invalid escape \q`},
		{"bad number", `{"a":1.2.3}`, nil, "invalid number"},
	}
	for _, tt := range tests {
		ev, err := NewEvent([]byte(tt.doc))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		for k, want := range tt.fields {
			got, ok := ev.Field(k)
			if !ok {
				got = "-"
			}
			if got != want {
				t.Errorf("%s: Field(%q) = %q, want %q", tt.name, k, got, want)
			}
		}
	}
}
