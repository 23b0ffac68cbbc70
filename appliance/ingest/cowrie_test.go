package ingest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/minixdr/xdr/appliance"
)

// This file also holds the test helpers of the JSON sensor parsers
// (cowrie, suricata, zeek, osquery).

// sensorSampleDir is the shared folder of real samples, from the package dir.
var sensorSampleDir = filepath.Join("..", "..", "..", "shared", "testdata", "samples")

// sensorSample returns the non-blank lines of a real sample file. It skips
// the test when the shared folder is absent, and fails when the folder is
// there but the file is not.
func sensorSample(tb testing.TB, rel string) [][]byte {
	tb.Helper()
	if _, err := os.Stat(sensorSampleDir); err != nil {
		tb.Skipf("real samples not available: shared folder %s is absent (%v)", sensorSampleDir, err)
	}
	data, err := os.ReadFile(filepath.Join(sensorSampleDir, rel))
	if err != nil {
		tb.Fatalf("sample %s: %v", rel, err)
	}
	var out [][]byte
	for _, l := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		tb.Fatalf("sample %s is empty", rel)
	}
	return out
}

var sensorReceived = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// sensorParseAll parses every line of a real sample; each must be accepted
// and pass sensorCheck.
func sensorParseAll(t *testing.T, source string, parse Parser, lines [][]byte) []Parsed {
	t.Helper()
	out := make([]Parsed, len(lines))
	for i, l := range lines {
		p, err := parse(l, sensorReceived)
		if err != nil {
			t.Fatalf("line %d refused: %v\n%s", i+1, err, l)
		}
		sensorCheck(t, source, l, p)
		if p.Timestamp.IsZero() {
			t.Fatalf("line %d: no timestamp taken from the line", i+1)
		}
		out[i] = p
	}
	return out
}

// sensorCheck checks what every accepted line must satisfy: Original is
// the trimmed line (valid UTF-8 when it was), is JSON, every field is a
// storable value, the time is UTC in range, and the stored document builds
// as JSON with no key twice.
func sensorCheck(t *testing.T, source string, line []byte, p Parsed) {
	t.Helper()
	trimmed := bytes.TrimSpace(line)
	if utf8.Valid(trimmed) && !bytes.Equal(p.Original, trimmed) {
		t.Fatalf("Original %q is not the trimmed line %q", p.Original, trimmed)
	}
	if !utf8.Valid(p.Original) || !json.Valid(p.Original) {
		t.Fatalf("Original is not valid UTF-8 JSON: %q", p.Original)
	}
	if ts := p.Timestamp; !ts.IsZero() && (ts.Before(minTime) || !ts.Before(maxTime) || ts.Location() != time.UTC) {
		t.Fatalf("timestamp %v outside 1970-2261 or not UTC", ts)
	}
	for k, v := range p.Fields {
		checkStoredValue(t, k, v, true)
	}
	h := header{tenant: "acme", source: source, received: sensorReceived}
	var buf docBuilder
	ev, err := buildEvent(h, appliance.NewEventID(eventTime(p, h), 1), p, &buf)
	if err != nil {
		t.Fatalf("buildEvent: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(ev.Doc))
	if _, err := dec.Token(); err != nil {
		t.Fatalf("document %q: %v", ev.Doc, err)
	}
	seen := map[string]bool{}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatalf("document %q: %v", ev.Doc, err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("document %q: %v", ev.Doc, err)
		}
		if seen[k.(string)] {
			t.Fatalf("key %q twice in %q", k, ev.Doc)
		}
		seen[k.(string)] = true
	}
}

// sensorWant checks that fields has each of want (equal values) and none of
// absent.
func sensorWant(t testing.TB, fields map[string]any, want map[string]any, absent ...string) {
	t.Helper()
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		got, ok := fields[k]
		if !ok {
			t.Errorf("%s missing, want %#v", k, want[k])
			continue
		}
		if !reflect.DeepEqual(got, want[k]) {
			t.Errorf("%s = %#v, want %#v", k, got, want[k])
		}
	}
	for _, k := range absent {
		if v, ok := fields[k]; ok {
			t.Errorf("%s = %#v, want it absent", k, v)
		}
	}
}

// sensorCase is one table test of a sensor parser.
type sensorCase struct {
	name   string
	line   string
	want   map[string]any // fields that must be there with these values
	absent []string       // fields that must not be there
	ts     string         // RFC 3339 event time; "" for none (receive time)
	err    string         // the error must contain this; "" for success
}

func sensorRunCases(t *testing.T, source string, parse Parser, cases []sensorCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := parse([]byte(c.line), sensorReceived)
			if c.err != "" {
				if err == nil {
					t.Fatalf("accepted, want an error containing %q; fields %v", c.err, p.Fields)
				}
				if !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %q, want it to contain %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			sensorCheck(t, source, []byte(c.line), p)
			var want time.Time
			if c.ts != "" {
				want, err = time.Parse(time.RFC3339Nano, c.ts)
				if err != nil {
					t.Fatal(err)
				}
			}
			if !p.Timestamp.Equal(want) {
				t.Errorf("timestamp %v, want %v", p.Timestamp, want)
			}
			sensorWant(t, p.Fields, c.want, c.absent...)
		})
	}
}

// sensorBench parses the lines of a real sample over and over and reports
// events per second on one core.
func sensorBench(b *testing.B, rel string, parse Parser) {
	lines := sensorSample(b, rel)
	var size int
	for _, l := range lines {
		size += len(l)
	}
	b.SetBytes(int64(size / len(lines)))
	b.ReportAllocs()
	n := 0
	rate := StartRate()
	for b.Loop() {
		p, err := parse(lines[n%len(lines)], sensorReceived)
		if err != nil {
			b.Fatal(err)
		}
		Release(p)
		n++
	}
	rate.Report(b, n, "events")
}

const cowrieSample = "cowrie/cowrie_scenarioA.ndjson"

func TestCowrieSample(t *testing.T) {
	lines := sensorSample(t, cowrieSample)
	ps := sensorParseAll(t, "cowrie", ParseCowrie, lines)
	if len(ps) != 113 {
		t.Errorf("%d lines, the README says 113", len(ps))
	}
	counts := map[string]int{}
	for i, p := range ps {
		a, _ := p.Fields["event.action"].(string)
		counts[a]++
		sensorWant(t, p.Fields, map[string]any{"event.module": "cowrie", "host.name": "vm", "source.ip": "10.200.0.2"})
		if _, ok := p.Fields["cowrie.session"].(string); !ok {
			t.Errorf("line %d: no cowrie.session", i+1)
		}
		if _, ok := p.Fields["password"]; ok {
			t.Errorf("line %d: a password outside cowrie.*", i+1)
		}
	}
	want := map[string]int{"session-connect": 19, "client-version": 19, "client-kex": 19, "session-closed": 19,
		"login-failed": 16, "command-input": 6, "login-success": 3, "client-var": 3, "session-params": 3,
		"log-closed": 3, "command-failed": 1, "client-size": 1, "client-fingerprint": 1}
	if !reflect.DeepEqual(counts, want) {
		t.Errorf("event.action counts %v, want %v", counts, want)
	}
	t.Logf("%d cowrie lines parsed: %v", len(ps), counts)

	// line 1: session.connect
	sensorWant(t, ps[0].Fields, map[string]any{
		"event.action": "session-connect", "event.category": "session", "event.type": "start",
		"source.ip": "10.200.0.2", "source.port": float64(49522),
		"destination.ip": "10.200.0.10", "destination.port": float64(2222),
		"network.protocol": "ssh", "network.transport": "tcp", "cowrie.session": "de57a2196055",
		"observer.name": "vm", "message": "New connection: 10.200.0.2:49522 (10.200.0.10:2222) [session: de57a2196055]",
	}, "event.outcome", "user.name")
	// line 4: login.failed root/root
	sensorWant(t, ps[3].Fields, map[string]any{
		"event.action": "login-failed", "event.outcome": "failure", "event.category": "authentication",
		"user.name": "root", "cowrie.password": "root", "cowrie.username": "root",
		"cowrie.eventid": "cowrie.login.failed", "source.ip": "10.200.0.2",
		"message": "login attempt [root/root] failed",
	}, "process.command_line", "source.port")
	if got := ps[3].Timestamp.Format(time.RFC3339Nano); got != "2026-11-22T03:58:03.750357Z" {
		t.Errorf("line 4 time %s", got)
	}
	hits := map[string]bool{}
	for i, l := range lines {
		switch {
		case bytes.Contains(l, []byte(`"eventid":"cowrie.login.success"`)) && bytes.Contains(l, []byte(`P@ssw0rd!`)):
			hits["success"] = true
			sensorWant(t, ps[i].Fields, map[string]any{"event.action": "login-success", "event.outcome": "success",
				"user.name": "root", "cowrie.password": "P@ssw0rd!"})
		case bytes.Contains(l, []byte(`"input":"uname -a; cat /etc/passwd`)):
			hits["input"] = true
			sensorWant(t, ps[i].Fields, map[string]any{"event.action": "command-input", "event.category": "process",
				"process.command_line": "uname -a; cat /etc/passwd; wget http://10.200.0.10/bot.sh; chmod +x bot.sh; ./bot.sh"})
		case bytes.Contains(l, []byte(`"eventid":"cowrie.command.failed"`)):
			hits["failed"] = true
			sensorWant(t, ps[i].Fields, map[string]any{"event.outcome": "failure", "process.command_line": "./bot.sh"})
		case bytes.Contains(l, []byte(`"eventid":"cowrie.session.params"`)):
			hits["params"] = true
			sensorWant(t, ps[i].Fields, map[string]any{"cowrie.message": []any{}}, "message")
		case bytes.Contains(l, []byte(`"eventid":"cowrie.client.version"`)) && i == 1:
			hits["version"] = true
			sensorWant(t, ps[i].Fields, map[string]any{"ssh.client.software": "OpenSSH_9.2p1 Debian-2+deb12u10",
				"ssh.client.proto_version": "2.0"})
		case bytes.Contains(l, []byte(`"eventid":"cowrie.session.closed"`)) && i == 4:
			hits["closed"] = true
			sensorWant(t, ps[i].Fields, map[string]any{"event.duration": float64(1026307821), "event.type": "end"})
		}
	}
	if len(hits) != 6 {
		t.Errorf("spot checks run: %v, want %d", hits, 6)
	}
}

func TestParseCowrieCases(t *testing.T) {
	sensorRunCases(t, "cowrie", ParseCowrie, []sensorCase{
		{name: "minimal", line: `{"eventid":"cowrie.login.failed"}`,
			want:   map[string]any{"event.action": "login-failed", "event.outcome": "failure", "cowrie.eventid": "cowrie.login.failed"},
			absent: []string{"user.name", "message", "host.name"}},
		{name: "eventid without the cowrie prefix", line: `{"eventid":"session.file_download","url":"http://x/bot.sh","outfile":"dl/abc","shasum":"abc"}`,
			want: map[string]any{"event.action": "session-file_download", "event.category": "file",
				"url.original": "http://x/bot.sh", "file.path": "dl/abc", "file.hash.sha256": "abc"}},
		{name: "telnet login success with ports", line: `{"eventid":"cowrie.login.success","username":"admin","password":"admin123","src_ip":"2001:db8::1","src_port":"4022","dst_ip":"not-an-ip","dst_port":70000,"protocol":"Telnet","timestamp":"2024-03-01T12:00:00.5+01:00"}`,
			ts:     "2024-03-01T11:00:00.5Z",
			want:   map[string]any{"event.outcome": "success", "user.name": "admin", "source.ip": "2001:db8::1", "source.port": float64(4022), "network.protocol": "telnet", "cowrie.dst_ip": "not-an-ip", "cowrie.dst_port": float64(70000)},
			absent: []string{"destination.ip", "destination.port", "password", "user.password"}},
		{name: "message as a list", line: `{"eventid":"cowrie.session.params","message":["a","",1,"b"]}`,
			want: map[string]any{"message": "a\nb", "cowrie.message": []any{"a", "", float64(1), "b"}}},
		{name: "epoch timestamp", line: `{"eventid":"cowrie.log.closed","timestamp":1709294400.25,"duration":"2.5"}`,
			ts: "2024-03-01T12:00:00.25Z", want: map[string]any{"event.duration": float64(2.5e9)}},
		{name: "null timestamp is none", line: `{"eventid":"cowrie.client.size","timestamp":null}`,
			want: map[string]any{"event.action": "client-size"}},
		{name: "nested objects are flattened", line: `{"eventid":"cowrie.x","a":{"b":[{"c":1},{"c":2,"d":"x"}]}}`,
			want: map[string]any{"cowrie.a.b.c": []any{float64(1), float64(2)}, "cowrie.a.b.d": []any{"x"}}},
		{name: "invalid UTF-8 kept replaced", line: "{\"eventid\":\"cowrie.command.input\",\"input\":\"ls \xff\"}",
			want: map[string]any{"process.command_line": "ls \uFFFD"}},
		{name: "surrounding white space", line: " \t{\"eventid\":\"cowrie.command.input\",\"input\":\"id\"}  ",
			want: map[string]any{"process.command_line": "id"}},
		{name: "no eventid", line: `{"message":"x"}`, err: `no "eventid"`},
		{name: "eventid null", line: `{"eventid":null}`, err: `no "eventid"`},
		{name: "eventid number", line: `{"eventid":7}`, err: `"eventid" must be a non-empty string`},
		{name: "eventid empty", line: `{"eventid":""}`, err: `"eventid" must be a non-empty string`},
		{name: "bad timestamp", line: `{"eventid":"cowrie.x","timestamp":"yesterday"}`, err: `"timestamp": "yesterday" is not an RFC 3339 time`},
		{name: "timestamp before 1970", line: `{"eventid":"cowrie.x","timestamp":"1969-12-31T23:59:59Z"}`, err: "outside 1970-2261"},
		{name: "timestamp bool", line: `{"eventid":"cowrie.x","timestamp":true}`, err: `"timestamp"`},
		{name: "not an object", line: `["cowrie.login.failed"]`, err: "not a JSON object"},
		{name: "null", line: `null`, err: "not a JSON object"},
		{name: "trailing garbage", line: `{"eventid":"cowrie.x"}]`, err: "after the JSON object"},
		{name: "two objects", line: `{"eventid":"cowrie.x"} {"eventid":"cowrie.y"}`, err: "more than one JSON value"},
		{name: "truncated", line: `{"eventid":"cowrie.x"`, err: "not a JSON object"},
		{name: "too deep", line: `{"eventid":"x","a":` + strings.Repeat(`{"a":`, 17) + `1` + strings.Repeat(`}`, 17) + `}`, err: "nests deeper"},
	})
}

func BenchmarkParseCowrie(b *testing.B) { sensorBench(b, cowrieSample, ParseCowrie) }
