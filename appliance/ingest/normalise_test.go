package ingest_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance/ingest"
)

func TestParseJSONFields(t *testing.T) {
	cases := []struct {
		name string
		line string
		want map[string]any
	}{
		{"empty object", `{}`, map[string]any{}},
		{"nested ECS objects", `{"event":{"action":"ssh_login","code":"4625"},"user":{"name":"Root"},"host":{"name":"web-1"}}`,
			map[string]any{"event.action": "ssh_login", "event.code": "4625", "user.name": "Root", "host.name": "web-1"}},
		{"dotted keys", `{"source.ip":"10.0.0.5","source.port":4242,"destination.ip":"10.0.0.1"}`,
			map[string]any{"source.ip": "10.0.0.5", "source.port": float64(4242), "destination.ip": "10.0.0.1"}},
		{"dotted and nested mixed", `{"process":{"parent.name":"cmd.exe","pid":7},"process.executable":"C:\\x.exe"}`,
			map[string]any{"process.parent.name": "cmd.exe", "process.pid": float64(7), "process.executable": `C:\x.exe`}},
		{"deep nesting", `{"threat":{"technique":{"subtechnique":{"id":"T1110.001"}}}}`,
			map[string]any{"threat.technique.subtechnique.id": "T1110.001"}},
		{"top-level ECS scalars", `{"message":"Failed password","tags":["ssh","auth"],"labels":{"env":"prod"}}`,
			map[string]any{"message": "Failed password", "tags": []any{"ssh", "auth"}, "labels.env": "prod"}},
		{"non-ECS keys only in original", `{"foo":{"event":{"action":"x"}},"eventx":1,"Event":{"action":"y"},"msg":"hi","user":{"name":"bob"}}`,
			map[string]any{"user.name": "bob"}},
		{"arrays keep scalars, drop objects, arrays and null", `{"event":{"category":["authentication",1,true,null,{"a":1},["b"],2.5]}}`,
			map[string]any{"event.category": []any{"authentication", float64(1), true, float64(2.5)}}},
		{"empty array", `{"tags":[]}`, map[string]any{"tags": []any{}}},
		{"numbers", `{"event":{"a":0,"b":-12,"c":3.25,"d":1e3,"e":-0.5e-2,"f":12345678901234567890}}`,
			map[string]any{"event.a": float64(0), "event.b": float64(-12), "event.c": 3.25, "event.d": float64(1000), "event.e": -0.005, "event.f": float64(12345678901234567890)}},
		{"number too large for float64 kept as text", `{"event":{"big":1e400}}`, map[string]any{"event.big": "1e400"}},
		{"booleans", `{"event":{"ok":true,"bad":false}}`, map[string]any{"event.ok": true, "event.bad": false}},
		{"null dropped", `{"event":{"action":null},"message":null}`, map[string]any{}},
		{"strings with escapes decoded", `{"message":"a\"b\\c\nd\u00e9\u0000"}`, map[string]any{"message": "a\"b\\c\nd\u00e9\x00"}},
		{"whitespace around the object", " \t{\"message\":\"x\"}  ", map[string]any{"message": "x"}},
		{"@timestamp is not a field", `{"@timestamp":"2024-03-01T12:00:00Z","message":"x"}`, map[string]any{"message": "x"}},
		{"nested @timestamp under a group is a field", `{"event":{"@timestamp":"x"}}`, map[string]any{"event.@timestamp": "x"}},
		{"empty key under a group", `{"event":{"":"x"}}`, map[string]any{"event.": "x"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := ingest.ParseJSON([]byte(c.line))
			if err != nil {
				t.Fatalf("ParseJSON(%s): %v", c.line, err)
			}
			if !reflect.DeepEqual(p.Fields, c.want) {
				t.Fatalf("fields:\n got %#v\nwant %#v", p.Fields, c.want)
			}
			if want := strings.TrimSpace(c.line); string(p.Original) != want {
				t.Fatalf("original %q, want the trimmed line %q", p.Original, want)
			}
		})
	}
}

func TestParseJSONOriginalKeepsEverything(t *testing.T) {
	line := `{"foo":{"bar":[1,2,{"baz":null}]},"event":{"action":"x"},"weird key":"v"}`
	p, err := ingest.ParseJSON([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	var got, want any
	if err := json.Unmarshal(p.Original, &got); err != nil {
		t.Fatalf("original is not JSON: %v", err)
	}
	json.Unmarshal([]byte(line), &want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("original %s lost content of %s", p.Original, line)
	}
}

func TestParseJSONTimestamp(t *testing.T) {
	cases := []struct {
		name    string
		value   string // JSON value of @timestamp
		want    time.Time
		wantErr string
	}{
		{"RFC 3339 UTC", `"2024-03-01T12:00:00Z"`, t0, ""},
		{"RFC 3339 nanoseconds", `"2024-03-01T12:00:00.123456789Z"`, t0.Add(123456789), ""},
		{"RFC 3339 with offset is converted to UTC", `"2024-03-01T13:30:00+01:30"`, t0, ""},
		{"epoch seconds", `1709294400`, t0, ""},
		{"epoch seconds with a fraction", `1709294400.5`, t0.Add(500 * time.Millisecond), ""},
		{"epoch milliseconds", `1709294400000`, t0, ""},
		{"epoch milliseconds are exact", `1709294400123`, t0.Add(123 * time.Millisecond), ""},
		{"epoch milliseconds, last ms of a second", `1709294400999`, t0.Add(999 * time.Millisecond), ""},
		{"epoch zero", `0`, time.Unix(0, 0).UTC(), ""},
		{"last second of 2261", `"2261-12-31T23:59:59Z"`, time.Date(2261, 12, 31, 23, 59, 59, 0, time.UTC), ""},
		{"before 1970", `"1969-12-31T23:59:59Z"`, time.Time{}, "outside 1970-2261"},
		{"negative epoch", `-1`, time.Time{}, "outside 1970-2261"},
		{"2262", `"2262-01-01T00:00:00Z"`, time.Time{}, "outside 1970-2261"},
		{"epoch too large", `1e20`, time.Time{}, "outside 1970-2261"},
		{"epoch seconds past 2261", `20000000000`, time.Time{}, "outside 1970-2261"},
		{"epoch beyond float64", `1e400`, time.Time{}, "is not a number"},
		{"not RFC 3339", `"yesterday"`, time.Time{}, `@timestamp "yesterday" is not an RFC 3339 time`},
		{"date only", `"2024-03-01"`, time.Time{}, "is not an RFC 3339 time"},
		{"numeric string", `"1709294400"`, time.Time{}, "is not an RFC 3339 time"},
		{"boolean", `true`, time.Time{}, "@timestamp must be an RFC 3339 string or epoch number"},
		{"null", `null`, time.Time{}, "@timestamp must be an RFC 3339 string or epoch number"},
		{"object", `{"sec":1}`, time.Time{}, "@timestamp must be an RFC 3339 string or epoch number"},
		{"array", `[1709294400]`, time.Time{}, "@timestamp must be an RFC 3339 string or epoch number"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			line := `{"@timestamp":` + c.value + `,"message":"m"}`
			p, err := ingest.ParseJSON([]byte(line))
			if c.wantErr != "" {
				if err == nil {
					t.Fatalf("ParseJSON(%s) = %v, want an error", line, p.Timestamp)
				}
				if !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %q does not say %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseJSON(%s): %v", line, err)
			}
			if !p.Timestamp.Equal(c.want) || p.Timestamp.Location() != time.UTC {
				t.Fatalf("timestamp %s, want %s (UTC)", p.Timestamp.Format(time.RFC3339Nano), c.want.Format(time.RFC3339Nano))
			}
		})
	}
}

func TestParseJSONNoTimestamp(t *testing.T) {
	p, err := ingest.ParseJSON([]byte(`{"message":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Timestamp.IsZero() {
		t.Fatalf("timestamp %v, want zero (receive time is used)", p.Timestamp)
	}
}

func TestParseJSONTimestampErrorIsShort(t *testing.T) {
	long := strings.Repeat("x", 5000)
	_, err := ingest.ParseJSON([]byte(`{"@timestamp":"` + long + `"}`))
	if err == nil {
		t.Fatal("accepted")
	}
	if len(err.Error()) > 200 {
		t.Fatalf("error of %d bytes quotes the whole value", len(err.Error()))
	}
	// Truncation keeps whole runes.
	_, err = ingest.ParseJSON([]byte(`{"@timestamp":"` + strings.Repeat("é", 100) + `"}`))
	if err == nil || strings.ContainsRune(err.Error(), '\uFFFD') || !strings.Contains(err.Error(), "…") {
		t.Fatalf("error %q: want the value cut on a rune boundary with an ellipsis", err)
	}
}

func TestParseJSONOutcome(t *testing.T) {
	cases := map[string]string{
		"success": "success", "Success": "success", "SUCCEEDED": "success", "ok": "success",
		"accepted": "success", "Allowed": "success",
		"failure": "failure", "Failed": "failure", "fail": "failure", "denied": "failure",
		"REJECTED": "failure", "error": "failure",
		"unknown": "unknown", "": "unknown", "maybe": "unknown", "success ": "unknown",
	}
	for in, want := range cases {
		for _, line := range []string{
			`{"event":{"outcome":"` + in + `"}}`,
			`{"event.outcome":"` + in + `"}`,
		} {
			p, err := ingest.ParseJSON([]byte(line))
			if err != nil {
				t.Fatalf("ParseJSON(%s): %v", line, err)
			}
			if got := p.Fields["event.outcome"]; got != want {
				t.Errorf("%s: event.outcome = %v, want %q", line, got, want)
			}
		}
	}
	// The original keeps what was sent.
	p, _ := ingest.ParseJSON([]byte(`{"event":{"outcome":"Denied"}}`))
	if !strings.Contains(string(p.Original), "Denied") {
		t.Fatalf("original %s lost the sent outcome", p.Original)
	}
	// No outcome: none is invented.
	p, _ = ingest.ParseJSON([]byte(`{"event":{"action":"x"}}`))
	if _, ok := p.Fields["event.outcome"]; ok {
		t.Fatalf("event.outcome invented: %v", p.Fields)
	}
}

func TestParseJSONErrors(t *testing.T) {
	cases := []struct {
		name, line, want string
	}{
		{"empty", ``, "not a JSON object"},
		{"array", `[1,2]`, "not a JSON object"},
		{"string", `"hello"`, "not a JSON object"},
		{"number", `42`, "not a JSON object"},
		{"null", `null`, "not a JSON object: null"},
		{"truncated", `{"message":"x"`, "not a JSON object"},
		{"syslog text", `<34>Oct 11 22:14:15 mymachine su: 'su root' failed`, "not a JSON object"},
		{"single quotes", `{'a':1}`, "not a JSON object"},
		{"trailing comma", `{"a":1,}`, "not a JSON object"},
		{"raw control character in a string", "{\"message\":\"a\x01b\"}", "not a JSON object"},
		{"two objects", `{"a":1} {"b":2}`, "more than one JSON value on the line"},
		{"two objects without space", `{"a":1}{"b":2}`, "more than one JSON value on the line"},
		{"object then garbage", `{"a":1} x`, "more than one JSON value on the line"},
		{"object then number", `{"a":1} 2`, "more than one JSON value on the line"},
		// A stray closing bracket after the object is not "end of input":
		// the line is not one JSON value and must be refused, or it lands
		// verbatim in the stored document as "original".
		{"object then closing brace", `{"a":1}}`, ""},
		{"object then closing bracket", `{"message":"x"}]`, ""},
		{"object then closing brace and space", `{"message":"x"} }`, ""},
		{"object then closing bracket and more", `{"message":"x"}],"next":"","injected":{"k":1}`, ""},
		{"object then closing brace and garbage", "{\"message\":\"x\"}}garbage\x00\x01\xff", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := ingest.ParseJSON([]byte(c.line))
			if err == nil {
				t.Fatalf("ParseJSON(%q) succeeded with fields %v and original %s", c.line, p.Fields, p.Original)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not say %q", err, c.want)
			}
			if len(err.Error()) > 300 {
				t.Fatalf("error of %d bytes", len(err.Error()))
			}
		})
	}
}

func TestParseJSONLongSyntaxErrorIsShort(t *testing.T) {
	line := `{"message":"` + strings.Repeat("x", 10000) + `",` + strings.Repeat("!", 10000)
	_, err := ingest.ParseJSON([]byte(line))
	if err == nil {
		t.Fatal("accepted")
	}
	if n := len(err.Error()); n > len("not a JSON object: ")+200 {
		t.Fatalf("error has %d bytes", n)
	}
}

// nested returns {"event":{"l":{"l":...1}}} with n objects under the top level.
func nested(group string, n int) string {
	return `{"` + group + `":` + strings.Repeat(`{"l":`, n-1) + `{"leaf":1}` + strings.Repeat("}", n-1) + `}`
}

func TestParseJSONDepthLimit(t *testing.T) {
	p, err := ingest.ParseJSON([]byte(nested("event", 16)))
	if err != nil {
		t.Fatalf("16 levels: %v", err)
	}
	want := "event" + strings.Repeat(".l", 15) + ".leaf"
	if p.Fields[want] != float64(1) {
		t.Fatalf("16 levels: fields %v, want %s", p.Fields, want)
	}
	_, err = ingest.ParseJSON([]byte(nested("event", 17)))
	if err == nil || !strings.Contains(err.Error(), "nests deeper than 16 levels") {
		t.Fatalf("17 levels: %v, want a depth error", err)
	}
	// Deep content under a key that is not normalised is only kept.
	if _, err := ingest.ParseJSON([]byte(nested("custom", 100))); err != nil {
		t.Fatalf("deep non-ECS content: %v", err)
	}
	// Very deep input returns (accepted or not) rather than overflowing
	// the stack, which would kill the process.
	deep := strings.Repeat(`{"a":`, 200000) + "1" + strings.Repeat("}", 200000)
	ingest.ParseJSON([]byte(deep))
	if _, err := ingest.ParseJSON([]byte(nested("event", 100000))); err == nil {
		t.Fatal("100000 levels under event accepted")
	}
}

// TestParseJSONDeterministic: the same line must always give the same
// fields, even when a nested and a dotted key name the same field, or a
// retry would store a different document than the first attempt.
func TestParseJSONDeterministic(t *testing.T) {
	for _, line := range []string{
		`{"event":{"outcome":"failure"},"event.outcome":"success"}`,
		`{"user":{"name":"alice","name.x":1},"user.name":"bob"}`,
		`{"source":{"ip.v":"1","ip":{"v":"2"}}}`,
	} {
		first, err := ingest.ParseJSON([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		for range 200 {
			p, _ := ingest.ParseJSON([]byte(line))
			if !reflect.DeepEqual(p.Fields, first.Fields) {
				t.Fatalf("%s parsed to %v, then to %v", line, first.Fields, p.Fields)
			}
		}
	}
}

func TestParseJSONBoundsFieldNames(t *testing.T) {
	long := strings.Repeat("k", 2000)
	if _, err := ingest.ParseJSON([]byte(`{"event":{"` + long + `":{"a":1,"b":2}}}`)); err == nil || !strings.Contains(err.Error(), "longer than 1024 bytes") {
		t.Fatalf("a 2000-byte field name: %v", err)
	}
	var b strings.Builder
	b.WriteString(`{"labels":{`)
	for i := 0; i < 10_001; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"f%d":1`, i)
	}
	b.WriteString(`}}`)
	if _, err := ingest.ParseJSON([]byte(b.String())); err == nil || !strings.Contains(err.Error(), "more than 10000 fields") {
		t.Fatalf("10,001 fields: %v", err)
	}
}
